package actors

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
)

// fillModel registers n URLs whose state is state(i).
func fillModel(m *readmodel.Model, n int, state func(i int) health.State) {
	for i := range n {
		m.Put(&health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%06d", i)},
			&health.Status{State: state(i)})
	}
}

type streamEvent struct {
	Type   string
	URL    string
	Record struct {
		URL    string
		Status struct{ State string }
	}
}

// readFrames reads every frame of s from frame 0 and decodes its events.
func readFrames(t *testing.T, s *SharedSnapshot) ([]*SnapshotFrame, []streamEvent) {
	t.Helper()
	var frames []*SnapshotFrame
	var evs []streamEvent
	for i := 0; ; i++ {
		f, ok := s.Frame(i)
		if !ok {
			return frames, evs
		}
		frames = append(frames, f)
		var got []streamEvent
		if err := json.Unmarshal(f.Payload, &got); err != nil {
			t.Fatalf("frame %d is not a JSON array of events: %v", i, err)
		}
		evs = append(evs, got...)
	}
}

// TestSnapshotIsEncodedAsItIsRead: frame 0 is ready while the rest is not
// encoded yet; every record comes once, the last frame ends with "synced",
// and there is nothing after it.
func TestSnapshotIsEncodedAsItIsRead(t *testing.T) {
	for _, n := range []int{0, 1, SnapshotFrameRecords, 3*SnapshotFrameRecords + 5} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			m := readmodel.New()
			fillModel(m, n, func(int) health.State { return health.Healthy })
			s := newSharedSnapshot(m.Snapshot(), time.Now(), 0, nil, false)
			if _, ok := s.Frame(0); !ok {
				t.Fatal("no frame 0")
			}
			if got := s.Encoded(); got != 1 {
				t.Fatalf("after the first frame, %d frames are encoded, want 1", got)
			}
			frames, evs := readFrames(t, s)
			if want := max(1, (n+SnapshotFrameRecords-1)/SnapshotFrameRecords); len(frames) != want {
				t.Errorf("%d frames, want %d", len(frames), want)
			}
			if len(evs) != n+1 || evs[n].Type != TypeSynced {
				t.Fatalf("%d events, want %d snapshots then synced", len(evs), n)
			}
			seen := map[string]bool{}
			for _, e := range evs[:n] {
				if e.Type != TypeSnapshot || seen[e.Record.URL] {
					t.Fatalf("event %+v: not a snapshot, or a repeated URL", e)
				}
				seen[e.Record.URL] = true
			}
		})
	}
}

// TestSnapshotPutsFailingURLsFirst: unreachable and unhealthy URLs, then
// pending, then healthy; by URL within each group.
func TestSnapshotPutsFailingURLsFirst(t *testing.T) {
	states := []health.State{health.Healthy, health.Pending, health.Unreachable, health.Unhealthy}
	m := readmodel.New()
	n := 2*SnapshotFrameRecords + 7
	fillModel(m, n, func(i int) health.State { return states[i*7%len(states)] })
	_, evs := readFrames(t, newSharedSnapshot(m.Snapshot(), time.Now(), 0, nil, false))
	rank := map[string]int{"unreachable": 0, "unhealthy": 0, "pending": 1, "healthy": 2}
	for i := 1; i < n; i++ {
		a, b := evs[i-1].Record, evs[i].Record
		ra, rb := rank[a.Status.State], rank[b.Status.State]
		if ra > rb || ra == rb && a.URL >= b.URL {
			t.Fatalf("event %d (%s %s) comes after (%s %s)", i, b.Status.State, b.URL, a.Status.State, a.URL)
		}
	}
	if evs[0].Record.Status.State == "healthy" || evs[n-1].Record.Status.State != "healthy" {
		t.Fatalf("first %s, last %s", evs[0].Record.Status.State, evs[n-1].Record.Status.State)
	}
}

// TestSnapshotIsSharedWhileStreamed: readers starting together or late get
// the very same frames (one encoding), and a compressed form computed once.
func TestSnapshotIsSharedWhileStreamed(t *testing.T) {
	m := readmodel.New()
	fillModel(m, 5*SnapshotFrameRecords, func(int) health.State { return health.Pending })
	s := newSharedSnapshot(m.Snapshot(), time.Now(), 0, nil, false)
	first, _ := s.Frame(0)
	const readers = 4
	got := make([][]*SnapshotFrame, readers)
	var wg sync.WaitGroup
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				f, ok := s.Frame(i)
				if !ok {
					return
				}
				f.Compressed(func(p []byte) []byte { return p[:1] })
				got[r] = append(got[r], f)
			}
		}()
	}
	wg.Wait()
	for r := range readers {
		if len(got[r]) != 5 || got[r][0] != first {
			t.Fatalf("reader %d got %d frames, first shared %v", r, len(got[r]), got[r][0] == first)
		}
		for i := range got[r] {
			if got[r][i] != got[0][i] {
				t.Fatalf("reader %d frame %d is a different encoding", r, i)
			}
		}
	}
	calls := 0
	if z := first.Compressed(func(p []byte) []byte { calls++; return nil }); calls != 0 || string(z) != "[" {
		t.Fatalf("Compressed ran again (%d) or changed: %q", calls, z)
	}
}

// TestSnapshotAndStreamMissNothing: URLs registered while a subscriber reads
// a large snapshot slowly are each in the snapshot or in the events after it.
func TestSnapshotAndStreamMissNothing(t *testing.T) {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	model := readmodel.New()
	fillModel(model, 4*SnapshotFrameRecords, func(int) health.State { return health.Healthy })
	bc := system.Root.Spawn(NewBroadcasterProps(model, metrics.New(), quietLog, 0, 0))

	const added = 200
	sub := NewSubscriber(added+1, 0)
	publish := func(i int) {
		reg := &health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/new%03d", i)}
		st := &health.Status{State: health.Pending}
		model.Put(reg, st) // publishers update the model first
		system.Root.Send(bc, Registered{Record: health.NewRecord(reg, st), New: true})
	}
	for i := range added / 2 {
		publish(i)
	}
	system.Root.Send(bc, SubscribeStream{Subscriber: sub})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := added / 2; i < added; i++ {
			publish(i)
		}
	}()
	var snap *SharedSnapshot
	select {
	case o := <-sub.Opening():
		snap = o.(*SharedSnapshot)
	case <-time.After(10 * time.Second):
		t.Fatal("no snapshot")
	}
	_, evs := readFrames(t, snap)
	<-done
	seen := map[string]bool{}
	for _, e := range evs {
		seen[e.Record.URL] = true
	}
	for _, raw := range sub.Opened() { // the events that came while the snapshot was read
		var e streamEvent
		if err := json.Unmarshal(raw, &e); err != nil || e.Type != TypeRegistered {
			t.Fatalf("event %s (%v), want registered", raw, err)
		}
		seen[e.Record.URL] = true
	}
	for !allNew(seen, added) {
		select {
		case raw := <-sub.Events():
			var e streamEvent
			if err := json.Unmarshal(raw, &e); err != nil || e.Type != TypeRegistered {
				t.Fatalf("event %s (%v), want registered", raw, err)
			}
			seen[e.Record.URL] = true
		case <-sub.Done():
			t.Fatalf("subscriber cut: %s", sub.Reason())
		case <-time.After(10 * time.Second):
			t.Fatal("some registered URL is neither in the snapshot nor in the events")
		}
	}
	for i := range added / 2 { // published before subscribing
		if u := fmt.Sprintf("http://127.0.0.1:9/new%03d", i); !containsURL(evs, u) {
			t.Fatalf("%s, registered before the subscription, is not in the snapshot", u)
		}
	}
}

func allNew(seen map[string]bool, n int) bool {
	for i := range n {
		if !seen[fmt.Sprintf("http://127.0.0.1:9/new%03d", i)] {
			return false
		}
	}
	return true
}

func containsURL(evs []streamEvent, u string) bool {
	for _, e := range evs {
		if e.Record.URL == u {
			return true
		}
	}
	return false
}
