package actors

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/membership"
	"github.com/spo2/spo2/e2e/harness"
	"github.com/spo2/spo2/persistence"
)

var (
	memberA = membership.Member{Name: "a", Address: "127.0.0.1:1"}
	memberB = membership.Member{Name: "b", Address: "127.0.0.1:2"}
)

func clustered(c *SupervisorConfig) { c.Clustered = true }

// urlsOwnedBy returns one URL of target owned by a and one owned by b.
func urlsOwnedBy(v *membership.View, tg *harness.Target) (ownedByA, ownedByB string) {
	for i := 0; ownedByA == "" || ownedByB == ""; i++ {
		u := tg.URL(fmt.Sprintf("/u/%d", i))
		if v.Owner(u).Name == "a" {
			ownedByA = u
		} else {
			ownedByB = u
		}
	}
	return ownedByA, ownedByB
}

func TestClusteredSupervisorProbesOnlyWhatItOwns(t *testing.T) {
	e := startEngine(t, nil, "", clustered)
	tg := harness.NewTarget(t, harness.Healthy)
	view := membership.NewView(memberA, []membership.Member{memberA, memberB})
	mine, theirs := urlsOwnedBy(view, tg)
	if r := e.register(t, RegisterItem{URL: mine}, RegisterItem{URL: theirs}); r.Err != nil {
		t.Fatal(r.Err)
	}
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 0 {
		t.Fatalf("%v checkers before the first view, want 0: a member that has not joined owns nothing", n)
	}
	e.system.Root.Send(e.supervisor, ViewChanged{View: view})
	e.waitEvent(t, "healthy "+mine, statusOf(mine, health.Healthy))
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 1 {
		t.Fatalf("%v checkers, want 1 (only the URL this member owns)", n)
	}

	// b leaves: a takes its URL over.
	e.system.Root.Send(e.supervisor, ViewChanged{View: membership.NewView(memberA, nil)})
	e.waitEvent(t, "healthy "+theirs, statusOf(theirs, health.Healthy))
	// b is back: a stops the URL it handed back.
	e.system.Root.Send(e.supervisor, ViewChanged{View: view})
	harness.Eventually(t, 5*time.Second, "one checker after b is back", func() bool {
		return testutil.ToFloat64(e.metrics.URLCheckers) == 1
	})
}

func TestRegistryChangesFromAnotherMember(t *testing.T) {
	e := startEngine(t, nil, "", clustered)
	now := time.Now().UTC().Truncate(time.Millisecond)
	reg := func(u, data string) *health.Registration {
		return &health.Registration{URL: u, Data: []byte(data), Probe: fastSettings, CreatedAt: now, UpdatedAt: now}
	}
	send := func(resync bool, changes ...persistence.Op) {
		e.system.Root.Send(e.supervisor, RegistryChanges{Changes: changes, Resync: resync})
	}
	isRegistered := func(u string, isNew bool) func(Event) bool {
		return func(ev Event) bool { r, ok := ev.(Registered); return ok && r.Record.URL == u && r.New == isNew }
	}
	isRemoved := func(u, reason string) func(Event) bool {
		return func(ev Event) bool { r, ok := ev.(Removed); return ok && r.URL == u && r.Reason == reason }
	}

	send(false, persistence.Op{URL: "http://x/1", Reg: reg("http://x/1", `1`)})
	e.waitEvent(t, "registered x/1", isRegistered("http://x/1", true))
	// The same registration again (this member's own write coming back
	// from the watch) is no change; the next event is x/2's.
	send(false, persistence.Op{URL: "http://x/1", Reg: reg("http://x/1", `1`)},
		persistence.Op{URL: "http://x/2", Reg: reg("http://x/2", `2`)})
	if ev := e.waitEvent(t, "any", func(Event) bool { return true }); !isRegistered("http://x/2", true)(ev) {
		t.Fatalf("next event %s, want x/2 registered (x/1 did not change)", ev.AppendJSON(nil, 0))
	}
	send(false, persistence.Op{URL: "http://x/1", Reg: reg("http://x/1", `{"v":2}`)})
	e.waitEvent(t, "x/1 updated", isRegistered("http://x/1", false))
	if got := string(e.model.Get("http://x/1").Registration().Data); got != `{"v":2}` {
		t.Fatalf("data %s in the read model, want the other member's", got)
	}
	send(false, persistence.Op{URL: "http://x/1"})
	e.waitEvent(t, "x/1 removed", isRemoved("http://x/1", RemovalReasonDeleted))
	// A resync without x/2 removes it.
	send(true)
	e.waitEvent(t, "x/2 removed by the resync", isRemoved("http://x/2", RemovalReasonDeleted))
	if n := e.model.Len(); n != 0 {
		t.Fatalf("%d URLs after a resync to an empty registry, want 0", n)
	}
}

func TestPeerStatusesUpdateTheReadModel(t *testing.T) {
	e := startEngine(t, nil, "", clustered)
	u := "http://127.0.0.1:9/peer"
	if r := e.register(t, RegisterItem{URL: u}); r.Err != nil {
		t.Fatal(r.Err)
	}
	at := time.Now().UTC()
	down := PeerStatus{URL: u, Status: health.Status{State: health.Unhealthy, Code: 503, Since: at, CheckedAt: &at}}
	e.system.Root.Send(e.supervisor, PeerStatuses{Changes: []PeerStatus{down}})
	ev := e.waitEvent(t, "unhealthy from a peer", statusOf(u, health.Unhealthy)).(StatusChanged)
	if ev.Previous != health.Pending || ev.Code != 503 {
		t.Fatalf("event %+v, want pending → unhealthy with code 503", ev)
	}
	entry := e.model.Get(u)
	if st := entry.Status(); st.State != health.Unhealthy || !st.Since.Equal(at) {
		t.Fatalf("read model status %+v, want the peer's", st)
	}
	if n := entry.History().Len(); n != 1 {
		t.Fatalf("%d changes in the history, want 1", n)
	}
	// The same state again (a joining member's sync) changes nothing visible.
	e.system.Root.Send(e.supervisor, PeerStatuses{Changes: []PeerStatus{down, {URL: u, Status: health.Status{State: health.Healthy, Since: at}}}})
	if ev := e.waitEvent(t, "any", func(Event) bool { return true }); !statusOf(u, health.Healthy)(ev) {
		t.Fatalf("next event %s, want healthy (the repeated unhealthy is no change)", ev.AppendJSON(nil, 0))
	}
}

func TestRestartedMemberIsSentTheStatuses(t *testing.T) {
	syncs := make(chan relaySync, 4)
	var relay *actor.PID
	e := startEngine(t, nil, "", clustered, func(c *SupervisorConfig) {
		relay = actor.NewPID("nonhost", "test-relay")
		c.Relay = relay
	})
	_, err := e.system.Root.SpawnNamed(actor.PropsFromFunc(func(c actor.Context) {
		if s, ok := c.Message().(relaySync); ok {
			syncs <- s
		}
	}), "test-relay")
	if err != nil {
		t.Fatal(err)
	}
	tg := harness.NewTarget(t, harness.Healthy)
	first := membership.NewView(memberA, []membership.Member{memberA, memberB})
	mine, _ := urlsOwnedBy(first, tg)
	if r := e.register(t, RegisterItem{URL: mine}); r.Err != nil {
		t.Fatal(r.Err)
	}
	e.system.Root.Send(e.supervisor, ViewChanged{View: first})
	e.waitEvent(t, "healthy "+mine, statusOf(mine, health.Healthy))
	// b killed and back under its name: a new incarnation.
	restartedB := memberB
	restartedB.Incarnation = "b~2"
	e.system.Root.Send(e.supervisor, ViewChanged{View: membership.NewView(memberA, []membership.Member{memberA, restartedB})})
	select {
	case s := <-syncs:
		if len(s.To) != 1 || s.To[0] != restartedB {
			t.Fatalf("statuses sent to %v, want the restarted b", s.To)
		}
		if len(s.Changes) != 1 || s.Changes[0].URL != mine || s.Changes[0].Status.State != health.Healthy {
			t.Fatalf("statuses sent %+v, want %s healthy", s.Changes, mine)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no statuses sent to the restarted member")
	}
}

// heldStore is a DurableStore whose writes wait for release, which gives
// each its result (nil: it goes through to the real store).
type heldStore struct {
	inner   DurableStore
	release chan error
}

func (h *heldStore) Apply(ops []persistence.Op, done func(error)) {
	go func() {
		if err := <-h.release; err != nil {
			done(err)
			return
		}
		h.inner.Apply(ops, done)
	}()
}

func TestOwnWritesComingBackDoNotTakeTheURLBack(t *testing.T) {
	release := make(chan error, 10)
	e := startEngine(t, nil, "", clustered, func(c *SupervisorConfig) {
		c.Store = &heldStore{inner: c.Store, release: release}
	})
	u := "http://127.0.0.1:9/echo"
	register := func(data string) *health.Registration {
		t.Helper()
		release <- nil
		if r := e.register(t, RegisterItem{URL: u, Data: []byte(data)}); r.Err != nil {
			t.Fatal(r.Err)
		}
		return e.model.Get(u).Registration()
	}
	echo := func(reg *health.Registration) persistence.Op {
		copied := *reg // what the watch decodes: the same bytes, another value
		return persistence.Op{URL: u, Reg: &copied}
	}
	isRegistered := func(data string) func(Event) bool {
		return func(ev Event) bool { r, ok := ev.(Registered); return ok && string(r.Record.Data) == data }
	}
	w1 := register(`1`)
	e.waitEvent(t, "registered 1", isRegistered(`1`))
	w2 := register(`2`)
	e.waitEvent(t, "registered 2", isRegistered(`2`))
	// The watch brings both back, then another member's write: the first
	// echo must not take the URL back to 1 (next event is 3's, not 1's).
	foreign := echo(w2)
	foreign.Reg.Data = []byte(`3`)
	e.system.Root.Send(e.supervisor, RegistryChanges{Changes: []persistence.Op{echo(w1)}})
	e.system.Root.Send(e.supervisor, RegistryChanges{Changes: []persistence.Op{echo(w2), foreign}})
	if ev := e.waitEvent(t, "any", func(Event) bool { return true }); !isRegistered(`3`)(ev) {
		t.Fatalf("next event %s, want the other member's write (3): an echo took the URL back", ev.AppendJSON(nil, 0))
	}

	// A write of this member (4) is on its way when another member's (5)
	// lands; then the write fails: the other member's change is applied.
	fut := e.system.Root.RequestFuture(e.supervisor, Register{Items: []RegisterItem{{URL: u, Data: []byte(`4`)}}}, 5*time.Second)
	later := echo(w2)
	later.Reg.Data = []byte(`5`)
	e.system.Root.Send(e.supervisor, RegistryChanges{Changes: []persistence.Op{later}})
	release <- errors.New("registry unavailable: test")
	res, err := fut.Result()
	if err != nil {
		t.Fatal(err)
	}
	if res.(RegisterReply).Err == nil {
		t.Fatal("the held write succeeded, want its error")
	}
	e.waitEvent(t, "the other member's write (5)", isRegistered(`5`))
	if got := string(e.model.Get(u).Registration().Data); got != `5` {
		t.Fatalf("data %s after the failed write, want the other member's 5", got)
	}
}
