package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/membership"
)

func TestSlackBatcherRunsOnTheOwnerOfItsKey(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	lifecycle := make(chan string, 10)
	batcher := actor.PropsFromFunc(func(c actor.Context) {
		switch c.Message().(type) {
		case *actor.Started:
			lifecycle <- "started"
		case *actor.Stopping:
			lifecycle <- "stopped"
		case SlackFlush:
			c.Respond(SlackFlushed{})
			lifecycle <- "flushed by the batcher"
		}
	})
	placement := system.Root.Spawn(NewSlackPlacementProps(batcher, 10*time.Millisecond, quietLog))
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-lifecycle:
			if got != want {
				t.Fatalf("batcher %s, want %s", got, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("batcher not %s within 5 s", want)
		}
	}
	flush := func() {
		t.Helper()
		if _, err := system.Root.RequestFuture(placement, SlackFlush{}, 5*time.Second).Result(); err != nil {
			t.Fatalf("flush not answered: %v", err)
		}
	}

	a, b := membership.Member{Name: "a"}, membership.Member{Name: "b"}
	both := []membership.Member{a, b}
	owner := membership.NewView(a, both).Owner(SlackKey)
	other := a
	if owner == a {
		other = b
	}
	// Not the owner: no batcher, and a flush is answered at once.
	system.Root.Send(placement, ViewChanged{View: membership.NewView(other, both)})
	flush()
	// The owner: the batcher starts after the settle time, and flushes go to it.
	system.Root.Send(placement, ViewChanged{View: membership.NewView(owner, both)})
	expect("started")
	flush()
	expect("flushed by the batcher")
	// A member that outranks it for the key joins: the batcher stops.
	var moved *membership.View
	for i := 0; moved == nil; i++ {
		if v := membership.NewView(owner, append(both, membership.Member{Name: fmt.Sprint("c", i)})); !v.Owns(SlackKey) {
			moved = v
		}
	}
	system.Root.Send(placement, ViewChanged{View: moved})
	expect("stopped")
	flush() // answered by the placement again
}
