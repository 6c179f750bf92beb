package actors

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/persistence"
)

func ttl(d time.Duration) *time.Duration { return &d }

func expired(url string) func(Event) bool {
	return func(ev Event) bool {
		r, ok := ev.(Removed)
		return ok && r.URL == url && r.Reason == RemovalReasonExpired
	}
}

// TestLeaseExpiresUnlessRenewed: a lease nobody renews is removed durably
// with reason "expired"; a lease renewed several times before its ttl is
// still there after its first deadline; a cleared lease never expires.
func TestLeaseExpiresUnlessRenewed(t *testing.T) {
	e := startEngine(t, nil, "")
	const lapsed, renewed, cleared = "http://127.0.0.1:1/lapsed", "http://127.0.0.1:1/renewed", "http://127.0.0.1:1/cleared"
	lease := 400 * time.Millisecond
	reply := e.register(t, RegisterItem{URL: lapsed, TTL: &lease}, RegisterItem{URL: renewed, TTL: &lease},
		RegisterItem{URL: cleared, TTL: &lease})
	firstDue := *reply.Results[1].Record.ExpiresAt
	if got := reply.Results[0].Record.ExpiresAt; got == nil || got.Sub(reply.Results[0].Record.CreatedAt) != lease {
		t.Fatalf("expires_at %v, want created_at + %v", got, lease)
	}
	e.register(t, RegisterItem{URL: cleared, TTL: ttl(0)})
	if e.model.Get(cleared).Record().ExpiresAt != nil {
		t.Fatal("a cleared lease still shows expires_at")
	}
	for range 6 { // renewals every 100ms, past the first deadline
		time.Sleep(100 * time.Millisecond)
		res := e.register(t, RegisterItem{URL: renewed}).Results[0]
		if res.Err != nil || res.Record.ExpiresAt == nil {
			t.Fatalf("renewal: %+v", res)
		}
	}
	e.waitEvent(t, "lapsed lease expired", expired(lapsed))
	if time.Now().Before(firstDue.Add(100 * time.Millisecond)) {
		t.Fatal("the renewals did not outlast the first deadline")
	}
	if e.model.Get(renewed) == nil {
		t.Fatal("a renewed lease expired at its first deadline")
	}
	if e.model.Get(lapsed) != nil {
		t.Fatal("the expired URL is still in the read model")
	}
	e.waitEvent(t, "renewed lease expired once no longer renewed", expired(renewed))
	all, err := e.store.LoadAll()
	if err != nil || len(all) != 1 || all[0].Reg.URL != cleared {
		t.Fatalf("store holds %+v (%v), want only %s", all, err, cleared)
	}
	if n := testutil.ToFloat64(e.metrics.LeasesExpired); n != 2 {
		t.Errorf("spo2_leases_expired_total %v, want 2", n)
	}
}

// TestLeaseRenewalIsWrittenNotAnnounced: renewing an otherwise unchanged
// lease writes the new deadline durably, keeps updated_at and sends no
// registered event; changing the ttl is an update.
func TestLeaseRenewalIsWrittenNotAnnounced(t *testing.T) {
	e := startEngine(t, nil, "")
	const u = "http://127.0.0.1:1/renew"
	first := e.register(t, RegisterItem{URL: u, TTL: ttl(time.Hour)}).Results[0].Record
	e.waitEvent(t, "registered", func(ev Event) bool { _, ok := ev.(Registered); return ok })
	time.Sleep(5 * time.Millisecond)
	again := e.register(t, RegisterItem{URL: u}).Results[0].Record
	if !again.ExpiresAt.After(*first.ExpiresAt) || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("renewal: expires_at %v (was %v), updated_at %v (was %v)", again.ExpiresAt, first.ExpiresAt,
			again.UpdatedAt, first.UpdatedAt)
	}
	all, err := e.store.LoadAll()
	if err != nil || len(all) != 1 || !all[0].Reg.ExpiresAt().Equal(*again.ExpiresAt) {
		t.Fatalf("store holds %+v (%v), want the renewed deadline %v", all, err, again.ExpiresAt)
	}
	longer := e.register(t, RegisterItem{URL: u, TTL: ttl(2 * time.Hour)}).Results[0].Record
	ev := e.waitEvent(t, "registered after a ttl change", func(ev Event) bool { _, ok := ev.(Registered); return ok })
	if r := ev.(Registered); r.Record.ExpiresAt == nil || !r.Record.ExpiresAt.Equal(*longer.ExpiresAt) {
		t.Fatalf("the registered event after the renewal is %+v, want the ttl change", r.Record)
	}
	if !longer.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("a ttl change kept updated_at %v", longer.UpdatedAt)
	}
}

// TestLeasePastDueAtStartExpires: leases that ran out while SpO₂ was down
// expire as soon as it starts; the others keep their deadline.
func TestLeasePastDueAtStartExpires(t *testing.T) {
	now := time.Now().UTC()
	reg := func(url string, due time.Time) persistence.Loaded {
		return persistence.Loaded{Reg: health.Registration{URL: url, Data: []byte("null"), Probe: fastSettings,
			CreatedAt: now, UpdatedAt: now, Lease: &health.Lease{TTL: time.Hour, ExpiresAt: due}}}
	}
	loaded := []persistence.Loaded{reg("http://127.0.0.1:1/a", now.Add(-time.Minute)),
		reg("http://127.0.0.1:1/b", now.Add(-time.Second)), reg("http://127.0.0.1:1/c", now.Add(time.Hour))}
	dir := t.TempDir()
	e := startEngine(t, loaded, dir)
	e.waitEvent(t, "a expired", expired("http://127.0.0.1:1/a"))
	e.waitEvent(t, "b expired", expired("http://127.0.0.1:1/b"))
	if e.model.Len() != 1 || e.model.Get("http://127.0.0.1:1/c") == nil {
		t.Fatalf("%d URLs left, want only c", e.model.Len())
	}
}

// TestPauseStopsProbingAndResumeProbesAtOnce: pausing stores the paused
// state and streams it with the previous state; resuming probes at once
// (the interval is an hour) and the first verdict replaces paused.
func TestPauseStopsProbingAndResumeProbesAtOnce(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	u := tg.URL("/")
	e.register(t, RegisterItem{URL: u})
	e.waitEvent(t, "healthy", statusOf(u, health.Healthy))
	hour := time.Hour
	res := e.register(t, RegisterItem{URL: u, Pause: new(true), Overrides: health.Overrides{Interval: &hour}}).Results[0]
	if res.Record.Status.State != health.Paused {
		t.Fatalf("the answer to the pause shows %s", res.Record.Status.State)
	}
	// The pause is in the history before the answer, so its uptime counts it.
	if ch := e.model.Get(u).History().Newest(); len(ch) != 2 || ch[0].State() != health.Paused || ch[0].Previous() != health.Healthy {
		t.Fatalf("history after the pause: %v, want paused (from healthy) newest of 2", ch)
	}
	if up := res.Record.Uptime; !up.Known || up.Day != 1 {
		t.Fatalf("uptime in the answer to the pause: %+v, want 1 over the day", up)
	}
	ev := e.waitEvent(t, "paused", statusOf(u, health.Paused)).(StatusChanged)
	if ev.Previous != health.Healthy {
		t.Fatalf("paused event %+v, want previous healthy", ev)
	}
	if all, _ := e.store.LoadAll(); len(all) != 1 || !all[0].Reg.Paused {
		t.Fatal("pause not durable")
	}
	tg.Code.Store(503)
	e.register(t, RegisterItem{URL: u, Pause: new(false)})
	ev = e.waitEvent(t, "first verdict after resume", statusOf(u, health.Unhealthy)).(StatusChanged)
	if ev.Previous != health.Paused {
		t.Fatalf("verdict after resume %+v, want previous paused", ev)
	}
}
