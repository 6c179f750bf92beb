package actors

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/schedule"
	"github.com/spo2/spo2/persistence"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

var fastSettings = health.Settings{Interval: time.Second, Timeout: 300 * time.Millisecond,
	FailureThreshold: 1, SuccessThreshold: 1, Expect: health.DefaultExpect}

// engine is a real supervisor, broadcaster, store and prober wired as main
// wires them, with every event copied into a channel.
type engine struct {
	system      *actor.ActorSystem
	supervisor  *actor.PID
	broadcaster *actor.PID
	model       *readmodel.Model
	store       *persistence.Store
	metrics     *metrics.Metrics
	deps        *CheckerDeps
	events      chan Event
}

func startEngine(t *testing.T, loaded []persistence.Loaded, dir string) *engine {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	store, err := persistence.Open(dir, quietLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sched := schedule.New()
	go sched.Run(ctx)
	m := metrics.New()
	e := &engine{system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLog })), model: readmodel.New(), store: store, metrics: m,
		events: make(chan Event, 1000)}
	e.deps = &CheckerDeps{Prober: probe.New(probe.Options{}), Pool: probe.NewPool(ctx, 8), Scheduler: sched,
		Statuses: store, Metrics: m, Log: quietLog, Ctx: ctx}
	e.broadcaster = e.system.Root.Spawn(NewBroadcasterProps(e.model, m, quietLog))
	sink := e.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if ev, ok := c.Message().(Event); ok {
			e.events <- ev
		}
	}))
	e.system.Root.Send(e.broadcaster, SubscribeActor{PID: sink})
	e.supervisor = e.system.Root.Spawn(NewSupervisorProps(SupervisorConfig{Defaults: fastSettings,
		Loaded: loaded, Store: store, Model: e.model, Broadcaster: e.broadcaster, Checkers: e.deps,
		Metrics: m, Log: quietLog}))
	if _, err := e.system.Root.RequestFuture(e.supervisor, Ready{}, 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = e.system.Root.StopFuture(e.supervisor).Wait()
		e.system.Shutdown()
		_ = store.Close()
	})
	return e
}

func (e *engine) register(t *testing.T, items ...RegisterItem) RegisterReply {
	t.Helper()
	res, err := e.system.Root.RequestFuture(e.supervisor, Register{Items: items}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	return res.(RegisterReply)
}

// waitEvent returns the first event for which match is true, failing after 5s.
func (e *engine) waitEvent(t *testing.T, what string, match func(Event) bool) Event {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-e.events:
			if match(ev) {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 5s", what)
		}
	}
}

func statusOf(url string, state health.State) func(Event) bool {
	return func(ev Event) bool {
		s, ok := ev.(StatusChanged)
		return ok && s.URL == url && s.State == state
	}
}

type testTarget struct {
	*httptest.Server
	code atomic.Int32
	hits atomic.Int32
}

func newTarget(t *testing.T) *testTarget {
	tg := &testTarget{}
	tg.code.Store(200)
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tg.hits.Add(1)
		w.WriteHeader(int(tg.code.Load()))
	}))
	t.Cleanup(tg.Close)
	return tg
}

func TestRegisterIsDurableBeforeReplyAndProbes(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	tg.code.Store(503)
	reply := e.register(t, RegisterItem{URL: tg.URL, Data: json.RawMessage(`{"customer":42}`)})
	if reply.Err != nil || !reply.Results[0].Created {
		t.Fatalf("reply %+v, want created", reply)
	}
	all, err := e.store.LoadAll()
	if err != nil || len(all) != 1 || string(all[0].Reg.Data) != `{"customer":42}` {
		t.Fatalf("store after reply holds %+v (err %v): registration not durable before the reply", all, err)
	}
	e.waitEvent(t, "registered", func(ev Event) bool { r, ok := ev.(Registered); return ok && r.New && r.Record.URL == tg.URL })
	ev := e.waitEvent(t, "unhealthy", statusOf(tg.URL, health.Unhealthy)).(StatusChanged)
	if ev.Previous != health.Pending || ev.Code != 503 {
		t.Fatalf("status event %+v, want pending→unhealthy 503", ev)
	}
	if st := e.model.Get(tg.URL).Status(); st.State != health.Unhealthy || st.Code != 503 {
		t.Fatalf("read model status %+v, want unhealthy 503", st)
	}
	tg.code.Store(200)
	e.waitEvent(t, "healthy", statusOf(tg.URL, health.Healthy))
}

func TestUpdateKeepsOneCheckerAndAppliesSettings(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	e.register(t, RegisterItem{URL: tg.URL, Data: json.RawMessage(`1`)})
	expect204 := health.MustParseExpect("204")
	reply := e.register(t, RegisterItem{URL: tg.URL, Data: json.RawMessage(`2`), Overrides: health.Overrides{Expect: &expect204}})
	if reply.Results[0].Created {
		t.Fatal("second registration of the same URL reported as created")
	}
	if string(reply.Results[0].Record.Data) != "2" || reply.Results[0].Record.Probe.Expect.String() != "204" {
		t.Fatalf("update not applied: %+v", reply.Results[0].Record)
	}
	// With expect=204, the target's 200 is unhealthy: the new settings reached the checker.
	e.waitEvent(t, "unhealthy under new expect", statusOf(tg.URL, health.Unhealthy))
	// One checker per URL: the supervisor has exactly one child.
	res, _ := e.system.Root.RequestFuture(e.supervisor, countCheckers{}, time.Second).Result()
	if n := res.(int); n != 1 {
		t.Fatalf("%d checkers for one URL", n)
	}
}

func TestInvalidSettingsAreRefusedAndChangeNothing(t *testing.T) {
	e := startEngine(t, nil, "")
	long := 2 * time.Second
	reply := e.register(t, RegisterItem{URL: "http://127.0.0.1:1/", Data: json.RawMessage(`null`),
		Overrides: health.Overrides{Timeout: &long}}) // timeout ≥ interval 1s
	if reply.Results[0].Err == nil {
		t.Fatal("timeout above interval accepted")
	}
	if e.model.Len() != 0 {
		t.Fatal("refused registration reached the read model")
	}
	if all, _ := e.store.LoadAll(); len(all) != 0 {
		t.Fatal("refused registration reached the store")
	}
}

func TestRemoveStopsCheckerAndSilencesIt(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	e.register(t, RegisterItem{URL: tg.URL, Data: json.RawMessage(`{"k":"v"}`)})
	e.waitEvent(t, "healthy", statusOf(tg.URL, health.Healthy))
	res, err := e.system.Root.RequestFuture(e.supervisor, Remove{URL: tg.URL}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(RemoveReply); !r.Found || string(r.Data) != `{"k":"v"}` {
		t.Fatalf("remove reply %+v", r)
	}
	e.waitEvent(t, "removed", func(ev Event) bool { r, ok := ev.(Removed); return ok && r.URL == tg.URL && r.Reason == "deleted" })
	if e.model.Get(tg.URL) != nil {
		t.Fatal("removed URL still in the read model")
	}
	res, _ = e.system.Root.RequestFuture(e.supervisor, Remove{URL: tg.URL}, 5*time.Second).Result()
	if res.(RemoveReply).Found {
		t.Fatal("second removal found the URL")
	}
	res, _ = e.system.Root.RequestFuture(e.supervisor, countCheckers{}, time.Second).Result()
	if res.(int) != 0 {
		t.Fatalf("%d checkers left after removal", res.(int))
	}
}

func TestPanickingCheckerRestartsAloneAndKeepsItsRegistration(t *testing.T) {
	e := startEngine(t, nil, "")
	crashing, steady := newTarget(t), newTarget(t)
	e.register(t, RegisterItem{URL: crashing.URL, Data: json.RawMessage(`"mine"`)},
		RegisterItem{URL: steady.URL, Data: json.RawMessage(`null`)})
	e.waitEvent(t, "healthy", statusOf(crashing.URL, health.Healthy))

	e.system.Root.Send(e.supervisor, forwardPanic{URL: crashing.URL})
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(e.metrics.ActorRestarts) < 1 {
		if time.Now().After(deadline) {
			t.Fatal("no restart recorded after the panic")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// After the restart the checker probes again, with its registration intact.
	before := crashing.hits.Load()
	crashing.code.Store(503)
	e.waitEvent(t, "unhealthy after restart", statusOf(crashing.URL, health.Unhealthy))
	if crashing.hits.Load() <= before {
		t.Fatal("restarted checker does not probe")
	}
	if d := e.model.Get(crashing.URL).Registration().Data; string(d) != `"mine"` {
		t.Fatalf("registration lost in restart: data %s", d)
	}
	if e.model.Len() != 2 {
		t.Fatalf("read model holds %d URLs after the panic, want 2", e.model.Len())
	}
	res, _ := e.system.Root.RequestFuture(e.supervisor, countCheckers{}, time.Second).Result()
	if res.(int) != 2 {
		t.Fatalf("%d checkers after the panic, want 2", res.(int))
	}
}

func TestStaleProbeResultIsDropped(t *testing.T) {
	e := startEngine(t, nil, "")
	r := &health.Registration{URL: "http://127.0.0.1:1/", Data: json.RawMessage(`null`),
		Probe: health.Settings{Interval: time.Hour, Timeout: time.Second, FailureThreshold: 1, SuccessThreshold: 1, Expect: health.DefaultExpect}}
	entry := e.model.Put(r, &health.Status{State: health.Pending})
	pid := e.system.Root.Spawn(newURLCheckerProps(e.deps))
	defer e.system.Root.Stop(pid)
	e.system.Root.Send(pid, attach{entry: entry})
	// The checker's generation is 1 after Started; a result of generation 0
	// (an abandoned probe) must not change anything, a current one must.
	e.system.Root.Send(pid, probeResult{gen: 0, outcome: health.Outcome{Answered: true, Code: 503, At: time.Now()}})
	e.system.Root.Send(pid, probeResult{gen: 1, outcome: health.Outcome{Answered: true, Code: 200, ExpectHit: true, At: time.Now()}})
	deadline := time.Now().Add(5 * time.Second)
	for entry.Status().State == health.Pending {
		if time.Now().After(deadline) {
			t.Fatal("current result not applied")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := entry.Status(); st.State != health.Healthy || st.Code != 200 {
		t.Fatalf("status %+v: the stale 503 was applied", st)
	}
}

func TestRestartResumesPersistedState(t *testing.T) {
	tg := newTarget(t)
	tg.code.Store(503)
	r := health.Registration{URL: tg.URL, Data: json.RawMessage(`null`), Probe: fastSettings}
	was := time.Now().Add(-time.Hour)
	e := startEngine(t, []persistence.Loaded{{Reg: r, Status: &health.Status{State: health.Unhealthy, Code: 503, Since: was}}}, "")
	// Shown at once, before any probe.
	if st := e.model.Get(tg.URL).Status(); st.State != health.Unhealthy {
		t.Fatalf("restored state %s, want unhealthy", st.State)
	}
	// The first fresh verdict equals the persisted one: no event. Then a change is.
	tg.code.Store(200)
	ev := e.waitEvent(t, "healthy", statusOf(tg.URL, health.Healthy)).(StatusChanged)
	if ev.Previous != health.Unhealthy || !ev.PreviousSince.Equal(was) {
		t.Fatalf("event %+v, want previous unhealthy since %v", ev, was)
	}
}

func TestKeepAliveFollowsDistinctHosts(t *testing.T) {
	e := startEngine(t, nil, "")
	e.deps.Prober = probe.New(probe.Options{MaxIdleConns: 2})
	// The engine's prober was replaced before any registration: the
	// supervisor tells this one how many hosts there are.
	tests := []struct {
		url       string
		remove    bool
		keepAlive bool
	}{
		{"http://127.0.0.1:1/a", false, true},
		{"http://127.0.0.1:1/b", false, true}, // same host:port
		{"http://127.0.0.2:1/", false, true},  // 2 hosts, 2 slots
		{"https://pod-3.invalid/", false, false},
		{"https://pod-3.invalid/", true, true},
	}
	for _, tc := range tests {
		if tc.remove {
			res, err := e.system.Root.RequestFuture(e.supervisor, Remove{URL: tc.url}, 5*time.Second).Result()
			if err != nil || !res.(RemoveReply).Found {
				t.Fatalf("remove %s: %v %v", tc.url, res, err)
			}
		} else {
			e.register(t, RegisterItem{URL: tc.url, Data: json.RawMessage(`null`)})
		}
		if got := e.deps.Prober.KeepsAlive(); got != tc.keepAlive {
			t.Fatalf("after %s remove=%v: keep-alive %v, want %v", tc.url, tc.remove, got, tc.keepAlive)
		}
	}
}
