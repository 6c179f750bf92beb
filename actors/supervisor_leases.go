package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
	"github.com/spo2/spo2/persistence"
)

// RemovalReasonExpired is the reason of a removal because the URL's lease
// ran out: no PUT for it within its ttl.
const RemovalReasonExpired = "expired"

// expiryRetry is how long a lease whose removal could not be written (a full
// disk) waits before the next try.
const expiryRetry = 5 * time.Second

// leaseTick wakes the supervisor when its earliest lease is due.
type leaseTick struct{}

// leaseAndPause sets reg's lease and pause from the item, on top of prev's
// (nil for a new URL): a leased registration is renewed, expiring ttl after
// now.
func leaseAndPause(reg, prev *health.Registration, it RegisterItem, now time.Time) {
	var ttl time.Duration
	if prev != nil {
		ttl, reg.Paused = prev.TTL(), prev.Paused
	}
	if it.TTL != nil {
		ttl = *it.TTL
	}
	if it.Pause != nil {
		reg.Paused = *it.Pause
	}
	if ttl > 0 {
		reg.Lease = &health.Lease{TTL: ttl, ExpiresAt: health.Renew(now, ttl)}
	}
}

// setLease records reg's deadline, replacing any earlier one; an unleased
// registration has none.
func (s *Supervisor) setLease(reg *health.Registration) {
	if reg.Leased() {
		s.leases.Set(reg.URL, reg.Lease.ExpiresAt)
	} else {
		s.leases.Clear(reg.URL)
	}
}

// armLeases sets the timer for the earliest deadline. One timer serves every
// lease: the heap finds what is due.
func (s *Supervisor) armLeases() {
	due, ok := s.leases.Next()
	if !ok || due.Equal(s.leaseAt) {
		return
	}
	s.leaseAt = due
	wait := time.Until(due)
	if s.leaseTimer == nil {
		self, root := s.self.Self(), s.self.ActorSystem().Root
		s.leaseTimer = time.AfterFunc(wait, func() { root.Send(self, leaseTick{}) })
		return
	}
	s.leaseTimer.Reset(wait)
}

func (s *Supervisor) stopLeaseTimer() {
	if s.leaseTimer != nil {
		s.leaseTimer.Stop()
	}
}

// expireDue removes, in one durable write, every URL whose lease is due. It
// runs in the supervisor's mailbox, so it is ordered with PUT and DELETE: a
// URL is judged by its latest registration, pending writes included, and a
// lease renewed since its deadline was set is never removed early.
func (s *Supervisor) expireDue(ctx actor.Context) {
	s.leaseAt = time.Time{} // the timer fired (or was stale)
	now := time.Now()
	var items []pendingItem
	var ops []persistence.Op
	for _, u := range s.leases.PopDue(now, nil) {
		reg := s.latest(u)
		switch {
		case reg == nil || !reg.Leased(): // removed, or its lease cleared, since
			continue
		case reg.Lease.ExpiresAt.After(now): // renewed since
			s.leases.Set(u, reg.Lease.ExpiresAt)
			continue
		case !s.owns(u): // in a cluster, the URL's owner expires it; look again later in case this member takes over
			s.leases.Set(u, now.Add(expiryRetry))
			continue
		}
		s.setLatest(u, nil)
		items = append(items, pendingItem{prev: reg, url: u})
		ops = append(ops, persistence.Op{URL: u})
	}
	s.armLeases()
	if len(ops) > 0 {
		s.submit(ctx, committed{kind: "expire", items: items}, ops)
	}
}

// applyExpired finishes a durable expiry: each URL leaves the read model,
// its checker stops and a removed event with reason "expired" is sent.
func (s *Supervisor) applyExpired(ctx actor.Context, c committed) {
	// Counted first, so that whoever sees the event sees it counted.
	s.cfg.Metrics.LeasesExpired.Add(float64(len(c.items)))
	for _, it := range c.items {
		gone := s.cfg.Model.Remove(it.url)
		s.stopChecker(ctx, it.url)
		ctx.Send(s.cfg.Broadcaster, Removed{URL: it.url, Reason: RemovalReasonExpired, Data: it.prev.Data, Labels: labelsOf(gone)})
	}
	s.cfg.Log.Info("leases expired; urls removed", "count", len(c.items), "first", target.Mask(c.items[0].url))
}

// expiryFailed handles an expiry the store could not write: the URLs are
// back in latest (unless a PUT came since), and are tried again after
// expiryRetry.
func (s *Supervisor) expiryFailed(c committed) {
	retry := time.Now().Add(expiryRetry)
	for _, it := range c.items {
		if s.latest(it.url) == it.prev {
			s.leases.Set(it.url, retry)
		}
	}
	s.armLeases()
	s.cfg.Log.Warn("removing expired leases failed; will retry", "count", len(c.items), "retry_in", expiryRetry,
		"err", c.err)
}
