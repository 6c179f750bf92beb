package actors

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
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
	"github.com/spo2/spo2/e2e/harness"
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

// engineOption changes the supervisor's configuration before it starts: tests
// inject a prober, timers, a status saver or a keep-alive policy.
type engineOption func(*SupervisorConfig)

func startEngine(t testing.TB, loaded []persistence.Loaded, dir string, opts ...engineOption) *engine {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	store, err := persistence.Open(dir, quietLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pool := probe.NewPool(8)
	sched := schedule.New()
	go sched.Run(ctx)
	m := metrics.New()
	e := &engine{system: actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLog })), model: readmodel.New(), store: store, metrics: m,
		events: make(chan Event, 1000)}
	e.deps = &CheckerDeps{Prober: probe.New(probe.Options{}), Pool: pool, Scheduler: sched,
		Statuses: store, Metrics: m, Log: quietLog}
	e.broadcaster = e.system.Root.Spawn(NewBroadcasterProps(e.model, m, quietLog, 0, 0))
	sink := e.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
		if ev, ok := c.Message().(Event); ok {
			e.events <- ev
		}
	}))
	e.system.Root.Send(e.broadcaster, SubscribeActor{PID: sink})
	cfg := SupervisorConfig{Defaults: fastSettings,
		Loaded: loaded, Store: store, Model: e.model, Broadcaster: e.broadcaster, Checkers: e.deps,
		Metrics: m, Log: quietLog}
	for _, o := range opts {
		o(&cfg)
	}
	e.supervisor = e.system.Root.Spawn(NewSupervisorProps(cfg))
	if _, err := e.system.Root.RequestFuture(e.supervisor, Ready{}, 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		pool.Close()
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

// newTarget starts a target on 127.0.0.1 answering 200 until its Code is
// changed.
func newTarget(t *testing.T) *harness.Target { return harness.NewTarget(t, harness.AnswerCode) }

func TestRegisterIsDurableBeforeReplyAndProbes(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	tg.Code.Store(503)
	reply := e.register(t, RegisterItem{URL: tg.URL("/"), Data: json.RawMessage(`{"customer":42}`)})
	if reply.Err != nil || !reply.Results[0].Created {
		t.Fatalf("reply %+v, want created", reply)
	}
	all, err := e.store.LoadAll()
	if err != nil || len(all) != 1 || string(all[0].Reg.Data) != `{"customer":42}` {
		t.Fatalf("store after reply holds %+v (err %v): registration not durable before the reply", all, err)
	}
	e.waitEvent(t, "registered", func(ev Event) bool { r, ok := ev.(Registered); return ok && r.New && r.Record.URL == tg.URL("/") })
	ev := e.waitEvent(t, "unhealthy", statusOf(tg.URL("/"), health.Unhealthy)).(StatusChanged)
	if ev.Previous != health.Pending || ev.Code != 503 {
		t.Fatalf("status event %+v, want pending→unhealthy 503", ev)
	}
	if st := e.model.Get(tg.URL("/")).Status(); st.State != health.Unhealthy || st.Code != 503 {
		t.Fatalf("read model status %+v, want unhealthy 503", st)
	}
	tg.Code.Store(200)
	e.waitEvent(t, "healthy", statusOf(tg.URL("/"), health.Healthy))
}

func TestUpdateKeepsOneCheckerAndAppliesSettings(t *testing.T) {
	e := startEngine(t, nil, "")
	tg := newTarget(t)
	e.register(t, RegisterItem{URL: tg.URL("/"), Data: json.RawMessage(`1`)})
	expect204 := health.MustParseExpect("204")
	reply := e.register(t, RegisterItem{URL: tg.URL("/"), Data: json.RawMessage(`2`), Overrides: health.Overrides{Expect: &expect204}})
	if reply.Results[0].Created {
		t.Fatal("second registration of the same URL reported as created")
	}
	if string(reply.Results[0].Record.Data) != "2" || reply.Results[0].Record.Probe.Expect.String() != "204" {
		t.Fatalf("update not applied: %+v", reply.Results[0].Record)
	}
	// With expect=204, the target's 200 is unhealthy: the new settings reached the checker.
	e.waitEvent(t, "unhealthy under new expect", statusOf(tg.URL("/"), health.Unhealthy))
	// One checker per URL.
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 1 {
		t.Fatalf("spo2_url_checkers %v for one URL", n)
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
	e.register(t, RegisterItem{URL: tg.URL("/"), Data: json.RawMessage(`{"k":"v"}`)})
	e.waitEvent(t, "healthy", statusOf(tg.URL("/"), health.Healthy))
	res, err := e.system.Root.RequestFuture(e.supervisor, Remove{URL: tg.URL("/")}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	if r := res.(RemoveReply); !r.Found || string(r.Data) != `{"k":"v"}` {
		t.Fatalf("remove reply %+v", r)
	}
	e.waitEvent(t, "removed", func(ev Event) bool { r, ok := ev.(Removed); return ok && r.URL == tg.URL("/") && r.Reason == "deleted" })
	if e.model.Get(tg.URL("/")) != nil {
		t.Fatal("removed URL still in the read model")
	}
	res, _ = e.system.Root.RequestFuture(e.supervisor, Remove{URL: tg.URL("/")}, 5*time.Second).Result()
	if res.(RemoveReply).Found {
		t.Fatal("second removal found the URL")
	}
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 0 {
		t.Fatalf("spo2_url_checkers %v after removal, want 0", n)
	}
}

// panicOnFirstSave is a status saver that panics the first time it saves
// url's status: the checker saving it crashes in its Receive.
type panicOnFirstSave struct {
	StatusSaver
	url      string
	panicked atomic.Bool
}

func (p *panicOnFirstSave) SaveStatus(url string, st health.Status) {
	if url == p.url && p.panicked.CompareAndSwap(false, true) {
		panic("status saver failed")
	}
	p.StatusSaver.SaveStatus(url, st)
}

func TestPanickingCheckerRestartsAloneAndKeepsItsRegistration(t *testing.T) {
	crashing, steady := newTarget(t), newTarget(t)
	saver := &panicOnFirstSave{url: crashing.URL("/")}
	e := startEngine(t, nil, "", func(c *SupervisorConfig) {
		saver.StatusSaver = c.Checkers.Statuses
		c.Checkers.Statuses = saver
	})
	e.register(t, RegisterItem{URL: crashing.URL("/"), Data: json.RawMessage(`"mine"`)},
		RegisterItem{URL: steady.URL("/"), Data: json.RawMessage(`null`)})
	// The first verdict of crashing is saved, and the save panics.
	harness.Eventually(t, 5*time.Second, "a restart after the panic", func() bool { return testutil.ToFloat64(e.metrics.ActorRestarts) >= 1 })
	// After the restart the checker probes again, with its registration intact.
	before := crashing.Requests.Load()
	crashing.Code.Store(503)
	e.waitEvent(t, "unhealthy after restart", statusOf(crashing.URL("/"), health.Unhealthy))
	if crashing.Requests.Load() <= before {
		t.Fatal("restarted checker does not probe")
	}
	if d := e.model.Get(crashing.URL("/")).Registration().Data; string(d) != `"mine"` {
		t.Fatalf("registration lost in restart: data %s", d)
	}
	if e.model.Len() != 2 {
		t.Fatalf("read model holds %d URLs after the panic, want 2", e.model.Len())
	}
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 2 {
		t.Fatalf("spo2_url_checkers %v after the panic, want 2", n)
	}
	if n := testutil.ToFloat64(e.metrics.ActorRestarts); n != 1 {
		t.Fatalf("spo2_actor_restarts_total %v, want 1: only the crashing checker restarted", n)
	}
}

// heldProber answers 200, except that its second probe of url waits for
// release and then answers 503.
type heldProber struct {
	url      string
	calls    atomic.Int32
	held     chan struct{} // closed when the second probe is in flight
	release  chan struct{}
	returned chan struct{} // closed when the second probe has returned
}

func (p *heldProber) Probe(ctx context.Context, url string, _ time.Duration, _ health.Expect) health.Outcome {
	if url == p.url && p.calls.Add(1) == 2 {
		close(p.held)
		select {
		case <-p.release:
		case <-ctx.Done():
		}
		defer close(p.returned)
		return health.Outcome{Answered: true, Code: 503, At: time.Now()}
	}
	return health.Outcome{Answered: true, Code: 200, ExpectHit: true, At: time.Now()}
}

// panickyTimers is the real timer heap, except that arming a timer panics
// once after failNext is set.
type panickyTimers struct {
	Timers
	failNext atomic.Bool
}

func (p *panickyTimers) Start(t *schedule.Timer, first time.Time, period time.Duration, f schedule.Firer) {
	if p.failNext.CompareAndSwap(true, false) {
		panic("timer heap failure")
	}
	p.Timers.Start(t, first, period, f)
}

// A probe still in flight when its checker crashes must not be taken for a
// probe of the restarted checker: with a fresh state machine, one stale 503
// would otherwise flip a healthy URL whatever its failure threshold.
func TestStaleResultOfACrashedCheckerIsDropped(t *testing.T) {
	const u = "http://127.0.0.1:1/held"
	prober := &heldProber{url: u, held: make(chan struct{}), release: make(chan struct{}), returned: make(chan struct{})}
	timers := &panickyTimers{}
	e := startEngine(t, nil, "", func(c *SupervisorConfig) {
		c.Checkers.Prober = prober
		timers.Timers = c.Checkers.Scheduler
		c.Checkers.Scheduler = timers
	})
	three := 3
	e.register(t, RegisterItem{URL: u, Data: json.RawMessage(`null`), Overrides: health.Overrides{FailureThreshold: &three}})
	e.waitEvent(t, "healthy", statusOf(u, health.Healthy))
	<-prober.held // the second probe is in flight

	// A settings change re-arms the checker's timer, which panics: the
	// checker restarts while its probe is still out.
	timers.failNext.Store(true)
	twoSeconds := 2 * time.Second
	e.register(t, RegisterItem{URL: u, Data: json.RawMessage(`null`), Overrides: health.Overrides{Interval: &twoSeconds}})
	harness.Eventually(t, 5*time.Second, "the checker's restart", func() bool { return testutil.ToFloat64(e.metrics.ActorRestarts) >= 1 })

	close(prober.release)
	<-prober.returned
	entry := e.model.Get(u)
	harness.Eventually(t, 5*time.Second, "the stale result to be dropped", func() bool {
		return testutil.ToFloat64(e.metrics.ProbeResultsDropped) >= 1 || entry.Status().State != health.Healthy
	})
	if st := entry.Status(); st.State != health.Healthy {
		t.Fatalf("state %s (code %d) after a stale 503 with failure_threshold 3, want healthy", st.State, st.Code)
	}
}

func TestRestartResumesPersistedState(t *testing.T) {
	tg := newTarget(t)
	tg.Code.Store(503)
	r := health.Registration{URL: tg.URL("/"), Data: json.RawMessage(`null`), Probe: fastSettings}
	was := time.Now().Add(-time.Hour)
	e := startEngine(t, []persistence.Loaded{{Reg: r, Status: &health.Status{State: health.Unhealthy, Code: 503, Since: was}}}, "")
	// Shown at once, before any probe.
	if st := e.model.Get(tg.URL("/")).Status(); st.State != health.Unhealthy {
		t.Fatalf("restored state %s, want unhealthy", st.State)
	}
	// The first fresh verdict equals the persisted one: no event. Then a change is.
	tg.Code.Store(200)
	ev := e.waitEvent(t, "healthy", statusOf(tg.URL("/"), health.Healthy)).(StatusChanged)
	if ev.Previous != health.Unhealthy || !ev.PreviousSince.Equal(was) {
		t.Fatalf("event %+v, want previous unhealthy since %v", ev, was)
	}
}

func TestKeepAliveFollowsDistinctHosts(t *testing.T) {
	prober := probe.New(probe.Options{MaxIdleConns: 2})
	e := startEngine(t, nil, "", func(c *SupervisorConfig) { c.KeepAlive = prober })
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
		// A new URL's checker, which tells the policy, is spawned right
		// after the answer: poll.
		deadline := time.Now().Add(5 * time.Second)
		for prober.KeepsAlive() != tc.keepAlive && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		if got := prober.KeepsAlive(); got != tc.keepAlive {
			t.Fatalf("after %s remove=%v: keep-alive %v, want %v", tc.url, tc.remove, got, tc.keepAlive)
		}
	}
}
