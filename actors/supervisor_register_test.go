package actors

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors/health"
)

// TestRegisterDataAndNoOpUpdates: an item without data keeps an existing
// URL's data (a new URL gets null), explicit null clears it, and an item that
// changes nothing sends no event and keeps updated_at.
func TestRegisterDataAndNoOpUpdates(t *testing.T) {
	e := startEngine(t, nil, "")
	const u, other = "http://127.0.0.1:1/data", "http://127.0.0.1:1/other"
	isRegistered := func(url string) func(Event) bool {
		return func(ev Event) bool { r, ok := ev.(Registered); return ok && r.Record.URL == url }
	}
	interval := 2 * time.Second

	steps := []struct {
		name      string
		item      RegisterItem
		wantData  string
		wantEvent bool
	}{
		{"new URL without data", RegisterItem{URL: u}, "null", true},
		{"data given", RegisterItem{URL: u, Data: json.RawMessage(`{"a":1}`)}, `{"a":1}`, true},
		{"settings only keep the data", RegisterItem{URL: u, Overrides: health.Overrides{Interval: &interval}}, `{"a":1}`, true},
		{"identical item", RegisterItem{URL: u, Data: json.RawMessage(`{"a":1}`), Overrides: health.Overrides{Interval: &interval}}, `{"a":1}`, false},
		{"nothing given", RegisterItem{URL: u}, `{"a":1}`, false},
		{"explicit null clears", RegisterItem{URL: u, Data: json.RawMessage(`null`)}, "null", true},
		{"null again", RegisterItem{URL: u, Data: json.RawMessage(`null`)}, "null", false},
	}
	var last health.Record
	for i, st := range steps {
		reply := e.register(t, st.item)
		res := reply.Results[0]
		if reply.Err != nil || res.Err != nil {
			t.Fatalf("%s: %v %v", st.name, reply.Err, res.Err)
		}
		if got := string(res.Record.Data); got != st.wantData {
			t.Errorf("%s: data %s, want %s", st.name, got, st.wantData)
		}
		if res.Created != (i == 0) {
			t.Errorf("%s: created=%v", st.name, res.Created)
		}
		if got := string(e.model.Get(u).Registration().Data); got != st.wantData {
			t.Errorf("%s: read model data %s, want %s", st.name, got, st.wantData)
		}
		if st.wantEvent {
			e.waitEvent(t, "registered "+st.name, isRegistered(u))
			if i > 0 && !res.Record.UpdatedAt.After(last.UpdatedAt) {
				t.Errorf("%s: updated_at %v not after %v", st.name, res.Record.UpdatedAt, last.UpdatedAt)
			}
		} else {
			if !res.Record.UpdatedAt.Equal(last.UpdatedAt) {
				t.Errorf("%s: updated_at moved from %v to %v for a change of nothing", st.name, last.UpdatedAt, res.Record.UpdatedAt)
			}
			// Events are delivered in order: a marker registered after the
			// no-op arrives with no event for u before it.
			e.register(t, RegisterItem{URL: other, Data: json.RawMessage(`"marker"`)})
			ev := e.waitEvent(t, "marker", func(ev Event) bool {
				r, ok := ev.(Registered)
				return ok && (r.Record.URL == u || r.Record.URL == other)
			})
			if ev.(Registered).Record.URL == u {
				t.Errorf("%s: a registered event was sent for a change of nothing", st.name)
			}
			e.register(t, RegisterItem{URL: other, Data: json.RawMessage(`"marker2"`)}) // the next marker changes something
			e.waitEvent(t, "marker2", isRegistered(other))
		}
		last = res.Record
	}
}

// TestDerivedTimeoutFollowsInterval: a URL that gave no timeout gets the
// default capped to half its interval and follows later interval changes;
// an explicit timeout is kept and an interval that refuses it is an error.
func TestDerivedTimeoutFollowsInterval(t *testing.T) {
	e := startEngine(t, nil, "")
	iv := func(d time.Duration) health.Overrides { return health.Overrides{Interval: &d} }
	to := func(i, d time.Duration) health.Overrides { return health.Overrides{Interval: &i, Timeout: &d} }
	const u = "http://127.0.0.1:1/t"
	steps := []struct {
		o           health.Overrides
		wantTimeout time.Duration // 0: refused
	}{
		{iv(time.Second), 300 * time.Millisecond}, // the defaults' explicit 300ms fits
		{to(time.Second, 700*time.Millisecond), 700 * time.Millisecond},
		{iv(time.Minute), 700 * time.Millisecond}, // explicit: kept
	}
	for i, st := range steps {
		res := e.register(t, RegisterItem{URL: u, Overrides: st.o}).Results[0]
		if res.Err != nil || res.Record.Probe.Timeout != st.wantTimeout {
			t.Errorf("step %d: timeout %s err %v, want %s", i, res.Record.Probe.Timeout, res.Err, st.wantTimeout)
		}
	}
	if res := e.register(t, RegisterItem{URL: u, Overrides: iv(700 * time.Millisecond)}).Results[0]; res.Err == nil {
		t.Errorf("interval below the explicit timeout accepted: %+v", res.Record.Probe)
	}

	// With no configured default timeout the built-in one is capped.
	// A second supervisor on the same engine, for other defaults.
	sup := e.system.Root.Spawn(NewSupervisorProps(SupervisorConfig{
		Defaults: health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, TimeoutDerived: true,
			FailureThreshold: 1, SuccessThreshold: 1, Expect: health.DefaultExpect},
		Store: e.store, Model: e.model, Broadcaster: e.broadcaster, Checkers: e.deps, Metrics: e.metrics, Log: quietLog}))
	t.Cleanup(func() { _ = e.system.Root.StopFuture(sup).Wait() })
	const v = "http://127.0.0.1:1/v"
	for _, st := range []struct {
		interval, want time.Duration
	}{{time.Second, 500 * time.Millisecond}, {time.Hour, 5 * time.Second}, {4 * time.Second, 2 * time.Second}} {
		r, err := e.system.Root.RequestFuture(sup, Register{Items: []RegisterItem{{URL: v, Overrides: iv(st.interval)}}}, 5*time.Second).Result()
		if err != nil {
			t.Fatal(err)
		}
		res := r.(RegisterReply).Results[0]
		if res.Err != nil || res.Record.Probe.Timeout != st.want {
			t.Errorf("interval %s: timeout %s err %v, want %s", st.interval, res.Record.Probe.Timeout, res.Err, st.want)
		}
	}
}

// TestSameURLTwiceInOneRegisterGetsOneChecker: a URL given twice in one
// Register gets one checker, which probes with the later item's settings.
func TestSameURLTwiceInOneRegisterGetsOneChecker(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	expect204 := health.MustParseExpect("204")
	reply := e.register(t, RegisterItem{URL: tg.URL("/twice"), Data: json.RawMessage(`1`)},
		RegisterItem{URL: tg.URL("/twice"), Data: json.RawMessage(`2`), Overrides: health.Overrides{Expect: &expect204}})
	if reply.Err != nil || !reply.Results[0].Created || reply.Results[1].Created {
		t.Fatalf("reply %+v: want the first item created, the second an update", reply)
	}
	// The target answers 200: unhealthy under the later item's expect=204.
	e.waitEvent(t, "unhealthy under the later item's settings", statusOf(tg.URL("/twice"), health.Unhealthy))
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 1 {
		t.Fatalf("spo2_url_checkers %v for one URL given twice", n)
	}
}
