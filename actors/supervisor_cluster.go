package actors

import (
	"bytes"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/actors/membership"
	"github.com/spo2/spo2/persistence"
)

// In cluster mode the supervisor of every member holds every registration,
// but runs checkers only for the URLs its member owns (membership.View).
// Registrations written on other members arrive as RegistryChanges (from
// the registry's watch), and the state changes other members' checkers see
// arrive as PeerStatuses (from the status relay); both update the read
// model and are streamed like local ones, so every member's clients see the
// whole fleet.

// ViewChanged gives the supervisor a new cluster view: it starts the
// checkers of the URLs it now owns (their first probe within one interval)
// and stops those it no longer owns.
type ViewChanged struct{ View *membership.View }

// RegistryChanges are changes to the registry of record, in the order it
// committed them: each a registration as the registry now holds it, or its
// removal (Reg nil). With Resync, Changes is the whole registry: a URL not
// in it was removed.
type RegistryChanges struct {
	Changes []persistence.Op
	Resync  bool
}

// PeerStatuses are state changes seen by the checkers of other members.
// A URL's change is applied unless this member runs its checker.
type PeerStatuses struct{ Changes []PeerStatus }

// PeerStatus is one URL's status as its owner set it.
type PeerStatus struct {
	URL      string
	Status   health.Status
	Previous health.State
	// PreviousSince is when the previous state began (zero when unknown).
	PreviousSince time.Time
}

// relaySync asks the status relay to send the statuses of the URLs this
// member owns to members that just joined.
type relaySync struct {
	To      []membership.Member
	Changes []PeerStatus
}

// owns reports whether this member runs url's checker: always in single
// node mode, per the view in cluster mode (nothing before the first view).
func (s *Supervisor) owns(url string) bool {
	if !s.cfg.Clustered {
		return true
	}
	return s.view != nil && s.view.Owns(url)
}

func (s *Supervisor) onView(ctx actor.Context, v *membership.View) {
	before := s.view
	s.view = v
	// Members that joined get the statuses of the URLs this member probed
	// until now, those it hands over to them included (their copies may be
	// old). A member's own first view sends nothing: it has nothing newer.
	var sync []PeerStatus
	joined := joinedSince(before, v)
	if len(joined) > 0 && s.cfg.Relay != nil {
		sync = s.ownedStatuses()
	}
	started, stopped := 0, 0
	now := time.Now()
	for u, slot := range s.urls {
		if slot.reg == nil {
			continue // being removed
		}
		switch owned := v.Owns(u); {
		case owned && slot.checker == nil:
			e := s.cfg.Model.Get(u)
			if e == nil || (slot.reg.Leased() && !slot.reg.Lease.ExpiresAt.After(now)) {
				continue // not committed yet (it starts then), or about to expire
			}
			s.spawnChecker(ctx, e, slot.reg.Probe.Interval)
			started++
		case !owned && slot.checker != nil:
			s.stopChecker(ctx, u)
			stopped++
		}
	}
	s.cfg.Log.Info("cluster view applied", "members", len(v.Members), "started", started, "stopped", stopped)
	if sync != nil {
		ctx.Send(s.cfg.Relay, relaySync{To: joined, Changes: sync})
	}
}

// joinedSince returns the members of v that were not in before (none when
// v is the first view): new names, and members restarted since (a new
// incarnation under a known name).
func joinedSince(before, v *membership.View) []membership.Member {
	if before == nil {
		return nil
	}
	known := map[membership.Member]bool{}
	for _, m := range before.Members {
		known[m] = true
	}
	var out []membership.Member
	for _, m := range v.Others() {
		if !known[m] {
			out = append(out, m)
		}
	}
	return out
}

// ownedStatuses returns the statuses of the URLs whose checker runs here.
func (s *Supervisor) ownedStatuses() []PeerStatus {
	var out []PeerStatus
	for u, slot := range s.urls {
		if slot.checker == nil {
			continue
		}
		if e := s.cfg.Model.Get(u); e != nil {
			out = append(out, PeerStatus{URL: u, Status: *e.Status(), Previous: e.Status().State})
		}
	}
	return out
}

// onRegistry applies changes committed to the registry of record: those
// this member wrote itself are already applied and are skipped; the others
// go through the same path as a local write (read model, checker, event).
// Every change is also written to the member's local copy.
func (s *Supervisor) onRegistry(ctx actor.Context, msg RegistryChanges) {
	changes := msg.Changes
	if msg.Resync {
		present := make(map[string]bool, len(changes))
		for _, c := range changes {
			present[c.URL] = true
		}
		for u, slot := range s.urls {
			if slot.reg != nil && !present[u] {
				changes = append(changes, persistence.Op{URL: u})
			}
		}
		clear(s.echoes) // the registry as it is: writes still on their way are compared when they come
	}
	var items []pendingItem
	now := time.Now()
	for _, c := range changes {
		if !msg.Resync && s.echoSettles(c) {
			continue
		}
		cur := s.latest(c.URL)
		if c.Reg == nil {
			if cur == nil {
				continue
			}
			s.setLatest(c.URL, nil)
			s.leases.Clear(c.URL)
			s.removeRemote(ctx, c.URL, cur, now)
			continue
		}
		if cur != nil && sameRegistration(cur, c.Reg) {
			continue
		}
		s.setLatest(c.URL, c.Reg)
		s.setLease(c.Reg)
		items = append(items, pendingItem{reg: c.Reg, prev: cur, url: c.URL, created: cur == nil, resIdx: len(items)})
	}
	s.armLeases()
	if s.cfg.LocalCopy != nil && len(changes) > 0 {
		s.cfg.LocalCopy.Apply(changes, func(err error) {
			if err != nil {
				s.cfg.Log.Warn("writing the local copy of the registry failed", "err", err)
			}
		})
	}
	if len(items) > 0 {
		s.applyCommitted(ctx, committed{kind: "register", items: items, results: make([]ItemResult, len(items))})
	}
}

// removeRemote removes a URL another member removed. Its reason is
// "expired" when its lease was due (another member expired it), "deleted"
// otherwise.
func (s *Supervisor) removeRemote(ctx actor.Context, url string, prev *health.Registration, now time.Time) {
	reason := RemovalReasonDeleted
	if prev.Leased() && !prev.Lease.ExpiresAt.After(now) {
		reason = RemovalReasonExpired
	}
	gone := s.cfg.Model.Remove(url)
	s.stopChecker(ctx, url)
	ctx.Send(s.cfg.Broadcaster, Removed{URL: url, Reason: reason, Data: prev.Data, Labels: labelsOf(gone)})
}

// sameRegistration reports whether a and b are stored as the same bytes.
func sameRegistration(a, b *health.Registration) bool {
	return bytes.Equal(a.AppendJSON(nil), b.AppendJSON(nil))
}

// onPeerStatuses applies other members' state changes to the read model and
// streams those that change a URL's state.
func (s *Supervisor) onPeerStatuses(ctx actor.Context, msg PeerStatuses) {
	deps := s.cfg.Checkers
	for i := range msg.Changes {
		p := &msg.Changes[i]
		slot := s.urls[p.URL]
		if slot.reg == nil || slot.reg.Paused {
			continue // not registered (any more), or paused here since
		}
		e := s.cfg.Model.Get(p.URL)
		if e == nil {
			continue
		}
		before := e.Status()
		if slot.checker != nil && (before == nil || !p.Status.Since.After(before.Since) || before.State == health.Paused) {
			// Probed here: the checker's verdicts rule, unless the peer's is
			// newer (the former owner's, just handed over).
			continue
		}
		st := p.Status
		e.SetStatus(&st)
		if before != nil && before.State == st.State {
			continue // a status this member knew: nothing to stream
		}
		deps.Statuses.SaveStatus(p.URL, st)
		previous := health.Pending
		if before != nil {
			previous = before.State
		}
		h := e.AddChange(history.NewChange(st.Since, st.State, previous, st.Code, st.ErrorKind), deps.HistoryLimit)
		if deps.Histories != nil {
			deps.Histories.SaveHistory(p.URL, h)
		}
		at := st.Since
		if st.CheckedAt != nil {
			at = *st.CheckedAt
		}
		var previousSince time.Time
		if before != nil {
			previousSince = before.Since
		}
		ctx.Send(s.cfg.Broadcaster, StatusChanged{URL: p.URL, State: st.State, Previous: previous, Code: st.Code,
			Error: st.Error, ErrorKind: st.ErrorKind, LatencyMS: st.LatencyMS, At: at, PreviousSince: previousSince,
			Labels: e.Registration().Labels})
	}
}

// echoes are, for one URL, this member's writes that the registry's watch
// has not brought back yet, oldest first (nil: a removal), and the last
// change another member made meanwhile.
type echoes struct {
	pending []*health.Registration
	foreign *persistence.Op
}

// expectEchoes records writes just submitted to the registry.
func (s *Supervisor) expectEchoes(ops []persistence.Op) {
	if s.echoes == nil {
		s.echoes = make(map[string]*echoes)
	}
	for _, op := range ops {
		e := s.echoes[op.URL]
		if e == nil {
			e = &echoes{}
			s.echoes[op.URL] = e
		}
		e.pending = append(e.pending, op.Reg)
	}
}

// echoSettles reports whether a change the watch brings needs nothing
// more. It waits while a later write of this member to the same URL is on
// its way: the change (an earlier write of this member, or another
// member's that this one's will overwrite) would only take the URL back for
// a moment. It is settled, too, when it is this member's latest write and
// still the URL's latest registration. The registry may fold several writes
// to one URL into one; the change then stands for all the writes up to it.
func (s *Supervisor) echoSettles(c persistence.Op) bool {
	e := s.echoes[c.URL]
	if e == nil {
		return false
	}
	for i, reg := range e.pending {
		if (reg == nil) == (c.Reg == nil) && (reg == nil || sameRegistration(reg, c.Reg)) {
			e.pending = e.pending[i+1:]
			if len(e.pending) > 0 {
				return true
			}
			delete(s.echoes, c.URL)
			return s.latest(c.URL) == reg // applied when committed; compared as usual otherwise
		}
	}
	e.foreign = &c
	return true
}

// forgetEchoes drops the echoes of writes the registry did not confirm;
// when a URL has none left, the change another member made meanwhile, if
// any, is applied now.
func (s *Supervisor) forgetEchoes(ctx actor.Context, ops []persistence.Op) {
	var late []persistence.Op
	for _, op := range ops {
		e := s.echoes[op.URL]
		if e == nil {
			continue
		}
		for i, reg := range e.pending {
			if reg == op.Reg {
				e.pending = append(e.pending[:i:i], e.pending[i+1:]...)
				break
			}
		}
		if len(e.pending) == 0 {
			delete(s.echoes, op.URL)
			if e.foreign != nil {
				late = append(late, *e.foreign)
			}
		}
	}
	if len(late) > 0 {
		s.onRegistry(ctx, RegistryChanges{Changes: late})
	}
}
