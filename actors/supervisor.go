package actors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/lease"
	"github.com/spo2/spo2/actors/membership"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/actors/target"
	"github.com/spo2/spo2/persistence"
)

// KeepAlivePolicy is told which URLs are watched, so that it can decide
// whether probe connections are worth keeping alive (probe.Prober does).
type KeepAlivePolicy interface {
	Watch(url string)
	Unwatch(url string)
}

// DurableStore applies registration changes durably and reports completion
// asynchronously (persistence.Store does).
type DurableStore interface {
	Apply(ops []persistence.Op, done func(error))
}

// SupervisorConfig is what the supervisor needs besides its dependencies.
type SupervisorConfig struct {
	Defaults    health.Settings      // settings of a URL that overrides none
	Loaded      []persistence.Loaded // registrations read at start-up
	Started     time.Time            // when the process started (zero: now)
	Store       DurableStore         // where registrations are written
	Model       *readmodel.Model     // updated after each durable write
	Broadcaster *actor.PID           // receives Registered, StatusChanged, Removed
	Checkers    *CheckerDeps         // shared by every URL checker
	KeepAlive   KeepAlivePolicy      // told which URLs are watched; may be nil
	Metrics     *metrics.Metrics
	Log         *slog.Logger

	// Cluster mode (see supervisor_cluster.go). Clustered: this member runs
	// checkers only for the URLs it owns, none before its first ViewChanged.
	// Relay, when set, receives every local state change for the other
	// members. LocalCopy, when set, receives every change of the registry
	// of record (Store is then the registry, LocalCopy the Badger copy).
	Clustered bool
	Relay     *actor.PID
	LocalCopy DurableStore
}

// Supervisor owns the set of registrations. It answers a Register or Remove
// only after the change is durably written; then it updates the read model,
// spawns, updates or stops the URL's checker, and publishes the event.
// Changes are written in the order they arrive; the store's group committer
// lets many be written with one fsync while the supervisor keeps working.
//
// It supervises its checkers: a checker that panics is restarted alone and
// resumes from its read-model entry; nothing else is affected.
type Supervisor struct {
	cfg SupervisorConfig
	// urls holds, per URL, its latest registration (changes not yet
	// committed included; the read model holds only committed ones) and its
	// checker. One map for both keeps an idle URL small; a URL is in it while
	// it has either (see supervisor_urls.go).
	urls     map[string]urlSlot
	self     actor.Context
	props    *actor.Props // shared by every checker
	previous *Supervisor  // the incarnation before a restart, if any
	// leases holds the deadline of every leased registration in latest;
	// leaseTimer wakes the supervisor (leaseTick) at the earliest, leaseAt.
	leases     lease.Heap
	leaseTimer *time.Timer
	leaseAt    time.Time
	view       *membership.View   // cluster mode: the latest view, nil before the first
	echoes     map[string]*echoes // cluster mode: this member's writes not yet seen back
}

// RegisterItem is one URL to register or update. Data is the custom data, a
// JSON value; nil means none given: a new URL gets null, an existing one
// keeps its data. Overrides change its settings (see Overrides.Resolve).
// Labels nil means none given: a new URL has none, an existing one keeps
// its labels; an empty, non-nil Labels clears them. Labels must be valid
// (health.Labels.Validate). An item that changes nothing is not written and
// sends no Registered event.
//
// TTL nil keeps the URL's lease (a new URL has none); 0 clears it; any
// other value (health.CheckTTL must accept it) is the lease's new length.
// Every item for a leased URL renews its lease (expires_at = now + ttl) and
// is written, even when nothing else changes; a renewal alone keeps
// updated_at and sends no Registered event. Pause nil keeps the URL paused
// or running (a new URL runs).
type RegisterItem struct {
	URL       string
	Data      json.RawMessage
	Overrides health.Overrides
	Labels    health.Labels
	TTL       *time.Duration
	Pause     *bool
}

// Register asks to register or update items as one durable write. The reply
// is a RegisterReply.
type Register struct{ Items []RegisterItem }

// ItemResult is the outcome of one RegisterItem: the record and whether it
// was new, or the reason it was refused (bad settings).
type ItemResult struct {
	Record  health.Record
	Created bool
	Err     error
}

// RegisterReply answers Register. Err is set when the durable write failed;
// then nothing was applied.
type RegisterReply struct {
	Results []ItemResult
	Err     error
}

// Remove asks to stop checking URL and forget it. The reply is a RemoveReply.
type Remove struct{ URL string }

// RemoveReply answers Remove: Found is false for an unknown URL; Err is set
// when the durable write failed.
type RemoveReply struct {
	Found bool
	Data  json.RawMessage
	Err   error
}

// ErrInvalidSettings marks an item refused for its settings.
var ErrInvalidSettings = errors.New("invalid settings")

type committed struct {
	kind    string // "register", "remove", "removeMatching" or "expire"
	items   []pendingItem
	ops     []persistence.Op // what was written (cluster mode: to forget their echoes on failure)
	replyTo *actor.PID
	results []ItemResult
	err     error
}

type pendingItem struct {
	reg     *health.Registration // nil for a removal
	prev    *health.Registration
	url     string
	created bool
	// unchanged marks a register item identical to the durable registration
	// prev: it is answered with prev's record and neither written nor
	// announced.
	unchanged bool
	// renewal marks a register item that only renews prev's lease: written,
	// not announced.
	renewal bool
	resIdx  int
}

// NewSupervisorProps returns the props of the supervisor actor. The
// start-up registrations go to the first incarnation only (and are not kept
// afterwards); a supervisor restarted after a panic takes over the
// registrations of the one before it and respawns their checkers.
func NewSupervisorProps(cfg SupervisorConfig) *actor.Props {
	var previous *Supervisor
	return actor.PropsFromProducer(func() actor.Actor {
		s := &Supervisor{cfg: cfg, previous: previous}
		cfg.Loaded = nil
		previous = s
		return s
	})
}

// Receive handles registrations, removals, commits and checker events.
func (s *Supervisor) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.start(ctx)
	case Register:
		s.register(ctx, msg)
	case Remove:
		s.remove(ctx, msg)
	case RemoveMatching:
		s.removeMatching(ctx, msg)
	case committed:
		s.applyCommitted(ctx, msg)
	case checkerStatus:
		if pid := s.urls[msg.event.URL].checker; pid != nil && pid.Equal(msg.checker) && !s.pausedSince(msg) {
			// The labels of the URL's last registered event, which the
			// broadcaster has before this one.
			msg.event.Labels = msg.entry.Registration().Labels
			ctx.Send(s.cfg.Broadcaster, msg.event)
			if s.cfg.Relay != nil {
				ctx.Send(s.cfg.Relay, msg.event)
			}
		}
	case leaseTick:
		s.expireDue(ctx)
	case Ready:
		ctx.Respond(s.registered())
	case silence.Change:
		s.onSilences(ctx, msg)
	case ViewChanged:
		s.onView(ctx, msg.View)
	case RegistryChanges:
		s.onRegistry(ctx, msg)
	case PeerStatuses:
		s.onPeerStatuses(ctx, msg)
	case *actor.Stopping:
		s.stopLeaseTimer()
	}
}

func (s *Supervisor) start(ctx actor.Context) {
	s.urls = make(map[string]urlSlot, len(s.cfg.Loaded))
	s.self = ctx
	s.props = newURLCheckerProps(s.cfg.Checkers)
	if prev := s.previous; prev != nil {
		s.takeOver(ctx, prev)
		return
	}
	now := time.Now()
	pastDue := 0
	for i := range s.cfg.Loaded {
		l := &s.cfg.Loaded[i]
		reg := l.Reg
		st := loadedStatus(&reg, l.Status, now)
		s.setLatest(reg.URL, &reg)
		entry := s.cfg.Model.Put(&reg, st)
		entry.SetHistory(l.History)
		if reg.Leased() {
			s.leases.Set(reg.URL, reg.Lease.ExpiresAt)
			if !reg.Lease.ExpiresAt.After(now) {
				pastDue++
				continue // expires at once: no checker to start and stop
			}
		}
		if s.owns(reg.URL) {
			s.spawnChecker(ctx, entry, firstProbeWithin(reg.Probe.Interval, s.cfg.Started))
		}
	}
	s.cfg.Loaded = nil // let the start-up slice be collected
	s.cfg.Log.Info("supervisor started", "urls", s.registered(), "leases", s.leases.Len())
	if pastDue > 0 {
		s.cfg.Log.Info("leases expired while SpO₂ was down; removing them now", "count", pastDue)
	}
	s.armLeases()
}

func (s *Supervisor) register(ctx actor.Context, msg Register) {
	now := time.Now().UTC()
	results := make([]ItemResult, len(msg.Items))
	items := make([]pendingItem, 0, len(msg.Items))
	ops := make([]persistence.Op, 0, len(msg.Items))
	for i, it := range msg.Items {
		prev := s.latest(it.URL)
		reg := &health.Registration{URL: it.URL, Data: it.Data, CreatedAt: now, UpdatedAt: now}
		var prevProbe *health.Settings
		if prev != nil {
			prevProbe = &prev.Probe
			reg.CreatedAt = prev.CreatedAt
			if reg.Data == nil {
				reg.Data = prev.Data // no data given: keep it
			}
		}
		reg.Labels = it.Labels
		if reg.Labels == nil && prev != nil {
			reg.Labels = prev.Labels // no labels given: keep them
		}
		if len(reg.Labels) == 0 {
			reg.Labels = nil
		}
		leaseAndPause(reg, prev, it, now)
		if reg.Data == nil {
			reg.Data = json.RawMessage("null")
		}
		reg.Probe = it.Overrides.Resolve(prevProbe, s.cfg.Defaults)
		if err := reg.Probe.Validate(); err != nil {
			results[i].Err = fmt.Errorf("%w: %v", ErrInvalidSettings, err)
			continue
		}
		same := prev != nil && bytes.Equal(prev.Data, reg.Data) && prev.Probe.Equal(reg.Probe) &&
			prev.Labels.Equal(reg.Labels) && prev.Paused == reg.Paused && prev.TTL() == reg.TTL()
		renewal := same && reg.Leased()
		if renewal {
			reg.UpdatedAt = prev.UpdatedAt // a renewal alone is written, not an update
		}
		if same && !renewal {
			if e := s.cfg.Model.Get(it.URL); e != nil && e.Registration() == prev {
				// Nothing changes and the registration is durable: nothing to
				// write, no event, updated_at stays.
				items = append(items, pendingItem{prev: prev, url: it.URL, unchanged: true, resIdx: i})
				continue
			}
		}
		s.setLatest(it.URL, reg)
		s.setLease(reg)
		items = append(items, pendingItem{reg: reg, prev: prev, url: it.URL, created: prev == nil, renewal: renewal, resIdx: i})
		ops = append(ops, persistence.Op{URL: it.URL, Reg: reg})
	}
	s.armLeases()
	s.submit(ctx, committed{kind: "register", items: items, replyTo: ctx.Sender(), results: results}, ops)
}

func (s *Supervisor) remove(ctx actor.Context, msg Remove) {
	prev := s.latest(msg.URL)
	if prev == nil {
		ctx.Respond(RemoveReply{Found: false})
		return
	}
	s.setLatest(msg.URL, nil)
	s.leases.Clear(msg.URL)
	s.submit(ctx, committed{kind: "remove", items: []pendingItem{{prev: prev, url: msg.URL}}, replyTo: ctx.Sender()},
		[]persistence.Op{{URL: msg.URL}})
}

// submit hands ops to the store and resumes in applyCommitted when they are
// durable, so the supervisor's mailbox never waits for a disk.
func (s *Supervisor) submit(ctx actor.Context, c committed, ops []persistence.Op) {
	if len(ops) == 0 {
		s.applyCommitted(ctx, c)
		return
	}
	if s.cfg.Clustered {
		c.ops = ops
		s.expectEchoes(ops)
	}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.cfg.Store.Apply(ops, func(err error) {
		c.err = err
		root.Send(self, c)
	})
}

func (s *Supervisor) applyCommitted(ctx actor.Context, c committed) {
	if c.err != nil && c.ops != nil {
		defer s.forgetEchoes(ctx, c.ops)
	}
	if c.err != nil {
		// Nothing of this write is durable: forget it, unless a later change
		// to the same URL has replaced it since.
		for _, it := range c.items {
			if cur := s.latest(it.url); cur == it.reg && !it.unchanged {
				if it.prev == nil {
					s.setLatest(it.url, nil)
					s.leases.Clear(it.url)
				} else {
					s.setLatest(it.url, it.prev)
					s.setLease(it.prev)
				}
			}
		}
		if c.kind == "expire" {
			s.expiryFailed(c)
			return
		}
		s.armLeases()
		switch c.kind {
		case "remove":
			ctx.Send(c.replyTo, RemoveReply{Found: true, Err: c.err})
		case "removeMatching":
			ctx.Send(c.replyTo, RemoveMatchingReply{Err: c.err})
		default:
			ctx.Send(c.replyTo, RegisterReply{Err: c.err})
		}
		return
	}
	switch c.kind {
	case "removeMatching":
		s.applyRemoveMatching(ctx, c)
		return
	case "expire":
		s.applyExpired(ctx, c)
		return
	}
	if c.kind == "remove" {
		it := c.items[0]
		gone := s.cfg.Model.Remove(it.url)
		s.stopChecker(ctx, it.url)
		ctx.Send(s.cfg.Broadcaster, Removed{URL: it.url, Reason: RemovalReasonDeleted, Data: it.prev.Data, Labels: labelsOf(gone)})
		s.cfg.Log.Info("url removed", "url", target.Mask(it.url))
		ctx.Send(c.replyTo, RemoveReply{Found: true, Data: it.prev.Data})
		return
	}
	now := time.Now().UTC()
	changed := 0
	var unchecked []*readmodel.Entry // new URLs, in order; a URL may come twice
	for _, it := range c.items {
		if it.unchanged {
			c.results[it.resIdx] = ItemResult{Record: s.currentRecord(it.prev, now)}
			continue
		}
		var before health.Labels // as the last event of the URL showed them
		if !it.created {
			before = labelsOf(s.cfg.Model.Get(it.url))
		}
		entry := s.cfg.Model.Put(it.reg, initialStatus(it.reg, now))
		pid := s.urls[it.url].checker
		ok := pid != nil
		if !ok {
			unchecked = append(unchecked, entry)
		}
		if it.renewal {
			c.results[it.resIdx] = ItemResult{Record: entry.Record()}
			continue
		}
		changed++
		pausedFrom, resumed := s.pauseOrResume(entry, now)
		switch {
		case !ok:
		case pausedFrom != nil: // UpdateSettings disarms a paused URL's checker
			ctx.Send(pid, UpdateSettings{})
		case resumed:
			ctx.Send(pid, resume{})
		case it.prev != nil && !it.prev.Probe.SameSchedule(it.reg.Probe):
			ctx.Send(pid, UpdateSettings{})
		}
		rec := entry.Record()
		c.results[it.resIdx] = ItemResult{Record: rec, Created: it.created}
		ctx.Send(s.cfg.Broadcaster, Registered{Record: rec, New: it.created, Previous: before})
		if pausedFrom != nil {
			s.announcePause(ctx, entry, pausedFrom, &rec.Status)
		}
	}
	// The answer goes first: the registrations are durable and readable, and
	// a checker's first probe is at least a moment away anyway. The client's
	// next request is parsed while the checkers are spawned.
	if c.replyTo != nil { // nil for changes another cluster member wrote
		ctx.Send(c.replyTo, RegisterReply{Results: c.results})
	}
	for _, entry := range unchecked {
		if u := entry.Registration().URL; s.urls[u].checker == nil && s.owns(u) {
			s.spawnChecker(ctx, entry, 0) // it reads the entry's latest settings
		}
	}
	if changed > 0 {
		s.cfg.Log.Info("urls registered", "count", changed)
	}
}

// labelsOf returns the labels of e's registration (nil for a nil e).
func labelsOf(e *readmodel.Entry) health.Labels {
	if e == nil {
		return nil
	}
	return e.Registration().Labels
}

// currentRecord is the record of an unchanged registration reg: its
// read-model entry's, or reg with a pending status if the entry is gone.
func (s *Supervisor) currentRecord(reg *health.Registration, now time.Time) health.Record {
	if e := s.cfg.Model.Get(reg.URL); e != nil {
		return e.Record()
	}
	return health.NewRecord(reg, &health.Status{State: health.Pending, Since: now})
}

// Ready asks whether start-up is done; the supervisor responds with the
// number of registrations once every loaded URL is in the read model.
type Ready struct{}

// takeOver rebuilds after a restart of the supervisor itself: protoactor
// stopped every checker; the registrations, pending writes included, and the
// read model are still good.
func (s *Supervisor) takeOver(ctx actor.Context, prev *Supervisor) {
	s.previous = nil
	prev.stopLeaseTimer()
	s.cfg.Metrics.URLCheckers.Set(0) // protoactor stopped the predecessor's checkers
	for u, slot := range prev.urls {
		if slot.checker != nil {
			if p := s.cfg.KeepAlive; p != nil {
				p.Unwatch(u)
			}
		}
		if slot.reg != nil {
			s.setLatest(u, slot.reg)
			s.setLease(slot.reg)
		}
	}
	prev.urls = nil
	s.armLeases()
	spawned := 0
	s.view = prev.view
	for _, ref := range s.cfg.Model.Snapshot() {
		if e := s.cfg.Model.Get(ref.Reg.URL); e != nil && s.owns(ref.Reg.URL) {
			s.spawnChecker(ctx, e, 0)
			spawned++
		}
	}
	s.cfg.Log.Error("supervisor restarted after a panic; checkers respawned", "urls", spawned)
}

// spawnChecker starts the checker of entry's URL. All checkers share one
// Props; each learns its URL from an attach message, its first.
func (s *Supervisor) spawnChecker(ctx actor.Context, entry *readmodel.Entry, firstWithin time.Duration) {
	pid := ctx.Spawn(s.props)
	// Straight to its process: ctx.Send would keep the resolved process in
	// pid, 16 bytes more for every idle URL (the checker's own results do
	// not go through pid either).
	if proc, ok := ctx.ActorSystem().ProcessRegistry.Get(pid); ok {
		proc.SendUserMessage(pid, attach{entry: entry, firstWithin: firstWithin})
	}
	u := entry.Registration().URL
	slot := s.urls[u]
	slot.checker = pid
	s.urls[u] = slot
	s.cfg.Metrics.URLCheckers.Inc()
	if p := s.cfg.KeepAlive; p != nil {
		p.Watch(u) // the prober counts hosts for its keep-alive policy
	}
}

// stopChecker stops the checker of url, if any.
func (s *Supervisor) stopChecker(ctx actor.Context, url string) {
	slot := s.urls[url]
	if slot.checker == nil {
		return
	}
	ctx.Stop(slot.checker)
	slot.checker = nil
	s.putSlot(url, slot)
	s.cfg.Metrics.URLCheckers.Dec()
	if p := s.cfg.KeepAlive; p != nil {
		p.Unwatch(url)
	}
}

// firstProbeWithin spreads the first probes of URLs loaded at start-up over
// what is left of one interval since the process started, so that after a
// restart every URL is probed within one interval of the restart (the time
// spent loading counts), and over a tenth of the interval at least.
func firstProbeWithin(interval time.Duration, started time.Time) time.Duration {
	if started.IsZero() {
		return interval
	}
	return max(interval-time.Since(started), interval/10)
}

// HandleFailure restarts a failed checker and nothing else, however often it
// fails: a registration is never dropped because its checker crashed. The
// restarted checker is attached to its URL again and resumes from its
// read-model entry.
func (s *Supervisor) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, reason any, message any) {
	entry := s.entryOf(child, message)
	url := ""
	if entry != nil {
		url = target.Mask(entry.Registration().URL)
	}
	s.cfg.Log.Error("url checker panicked; restarting it", "url", url, "reason", fmt.Sprint(reason))
	s.cfg.Metrics.ActorRestarts.Inc()
	sup.RestartChildren(child)
	if entry != nil {
		s.self.Send(child, attach{entry: entry})
	}
}
