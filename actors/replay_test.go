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

// seqEvent is what these tests read of a streamed event.
type seqEvent struct {
	Type   string
	Seq    uint64
	URL    string
	Reason string
	Record struct{ URL string }
}

func decodeEvents(t *testing.T, payload []byte) []seqEvent {
	t.Helper()
	var evs []seqEvent
	if err := json.Unmarshal(payload, &evs); err != nil {
		t.Fatalf("frame %.200s is not a JSON array of events: %v", payload, err)
	}
	return evs
}

// readOpening waits for sub's opening and reads every frame of it.
func readOpening(t *testing.T, sub *Subscriber) (Opening, []seqEvent) {
	t.Helper()
	var o Opening
	select {
	case o = <-sub.Opening():
	case <-time.After(10 * time.Second):
		t.Fatal("no opening")
	}
	var evs []seqEvent
	for i := 0; ; i++ {
		f, ok := o.Frame(i)
		if !ok {
			// as a WebSocket client's writer does: the events that came
			// while the opening was read come next
			if backlog := sub.Opened(); len(backlog) > 0 {
				openingBacklogs.Store(sub, backlog)
			}
			return o, evs
		}
		evs = append(evs, decodeEvents(t, f.Payload)...)
	}
}

// openingBacklogs holds, per subscriber, the events that came while its
// opening was read and that nextEvent has not returned yet.
var openingBacklogs sync.Map // *Subscriber → [][]byte

// nextEvent returns sub's next live event.
func nextEvent(t *testing.T, sub *Subscriber) seqEvent {
	t.Helper()
	if v, ok := openingBacklogs.Load(sub); ok {
		backlog := v.([][]byte)
		if len(backlog) == 1 {
			openingBacklogs.Delete(sub)
		} else {
			openingBacklogs.Store(sub, backlog[1:])
		}
		return decodeEvents(t, append(append([]byte{'['}, backlog[0]...), ']'))[0]
	}
	select {
	case raw := <-sub.Events():
		return decodeEvents(t, append(append([]byte{'['}, raw...), ']'))[0]
	case <-sub.Done():
		t.Fatalf("subscriber cut: %s", sub.Reason())
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
	return seqEvent{}
}

type streamRig struct {
	system *actor.ActorSystem
	model  *readmodel.Model
	bc     *actor.PID
}

func newStreamRig(t *testing.T, resumeBuffer int) *streamRig {
	system := actor.NewActorSystem()
	t.Cleanup(system.Shutdown)
	r := &streamRig{system: system, model: readmodel.New()}
	r.bc = system.Root.Spawn(NewBroadcasterProps(r.model, metrics.New(), quietLog, resumeBuffer, 0))
	return r
}

// status publishes a state change of URL i, with labels.
func (r *streamRig) status(i int, labels health.Labels) {
	r.system.Root.Send(r.bc, StatusChanged{URL: fmt.Sprintf("http://127.0.0.1:9/u%05d", i), State: health.Unhealthy,
		Previous: health.Healthy, Labels: labels})
}

func (r *streamRig) subscribe(sub SubscribeStream) *Subscriber {
	sub.Subscriber = NewSubscriber(100_000, 0)
	r.system.Root.Send(r.bc, sub)
	return sub.Subscriber
}

// syncedSeq checks that evs ends with synced and returns its seq.
func syncedSeq(t *testing.T, evs []seqEvent) uint64 {
	t.Helper()
	if len(evs) == 0 || evs[len(evs)-1].Type != TypeSynced {
		t.Fatalf("opening does not end with synced: %v", evs)
	}
	return evs[len(evs)-1].Seq
}

// TestResumeDuringHeavyFlow: a client resuming while events are published
// as fast as the broadcaster takes them gets every event after its since
// once, in order, then synced, then the live events, with no seq missing or
// repeated between the replay and the live stream.
func TestResumeDuringHeavyFlow(t *testing.T) {
	r := newStreamRig(t, 10_000)
	first := r.subscribe(SubscribeStream{})
	_, evs := readOpening(t, first)
	base := syncedSeq(t, evs)
	if len(evs) != 1 {
		t.Fatalf("opening of an empty model: %v, want synced alone", evs)
	}

	const total = 5000
	published := make(chan struct{})
	go func() {
		defer close(published)
		for i := range total {
			r.status(i, nil)
		}
	}()
	// Resume from the 500th event while the rest are being published.
	for {
		if e := nextEvent(t, first); e.Seq == base+500 {
			break
		}
	}
	resumed := r.subscribe(SubscribeStream{Resume: true, Since: base + 500})
	o, replayed := readOpening(t, resumed)
	if _, ok := o.(*Replay); !ok {
		t.Fatalf("opening is a %T, want a replay", o)
	}
	synced := syncedSeq(t, replayed)
	want := base + 501
	for _, e := range replayed[:len(replayed)-1] {
		if e.Type != TypeStatus || e.Seq != want || e.URL != fmt.Sprintf("http://127.0.0.1:9/u%05d", want-base-1) {
			t.Fatalf("replayed %+v, want the status event of seq %d", e, want)
		}
		want++
	}
	if synced != want-1 {
		t.Fatalf("synced seq %d, want the last replayed, %d", synced, want-1)
	}
	for want <= base+total {
		if e := nextEvent(t, resumed); e.Seq != want {
			t.Fatalf("live event seq %d, want %d", e.Seq, want)
		}
		want++
	}
	<-published
	t.Logf("replayed %d events, then %d live", len(replayed)-1, base+total-synced)
}

// TestResumeFallsBackToSnapshot: a since older than the kept events, or
// beyond the last seq, gets a snapshot consistent with the last seq; a
// since equal to the last seq gets synced alone.
func TestResumeFallsBackToSnapshot(t *testing.T) {
	r := newStreamRig(t, 8)
	fillModel(r.model, 3, func(int) health.State { return health.Healthy })
	watcher := r.subscribe(SubscribeStream{})
	_, evs := readOpening(t, watcher)
	base := syncedSeq(t, evs)
	for i := range 10 {
		r.status(i, nil)
	}
	for range 10 {
		nextEvent(t, watcher)
	}
	last := base + 10
	tests := []struct {
		name      string
		since     uint64
		snapshot  bool
		wantFirst uint64 // of a replay; 0 for none
	}{
		{"too old", base + 1, true, 0},
		{"the oldest kept", base + 2, false, base + 3},
		{"nothing missed", last, false, 0},
		{"beyond the last", last + 1, true, 0},
		{"from before this process", 12, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, evs := readOpening(t, r.subscribe(SubscribeStream{Resume: true, Since: tc.since}))
			if synced := syncedSeq(t, evs); synced != last {
				t.Fatalf("synced seq %d, want %d", synced, last)
			}
			_, isSnapshot := o.(*SharedSnapshot)
			if isSnapshot != tc.snapshot {
				t.Fatalf("opening is a %T with %d events", o, len(evs))
			}
			for i, e := range evs[:len(evs)-1] {
				switch {
				case tc.snapshot && (e.Type != TypeSnapshot || e.Seq != last):
					t.Fatalf("snapshot event %+v, want seq %d", e, last)
				case !tc.snapshot && e.Seq != tc.wantFirst+uint64(i):
					t.Fatalf("replayed event %+v, want seq %d", e, tc.wantFirst+uint64(i))
				}
			}
			if tc.snapshot && len(evs) != 4 {
				t.Fatalf("snapshot of %d events, want 3 and synced", len(evs))
			}
			if !tc.snapshot && tc.wantFirst != 0 && len(evs)-1 != int(last-tc.wantFirst+1) {
				t.Fatalf("replay of %d events, want %d", len(evs)-1, last-tc.wantFirst+1)
			}
		})
	}
}

// TestLabelFilteredStream: a client with a label selector gets only the
// matching URLs in its snapshot, its replay and its live events; a URL whose
// labels stop matching is removed with reason "unmatched", one whose labels
// start matching is registered.
func TestLabelFilteredStream(t *testing.T) {
	r := newStreamRig(t, 100)
	search := health.Labels{"team": "search"}
	ads := health.Labels{"team": "ads"}
	put := func(i int, labels, previous health.Labels, created bool) {
		reg := &health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%05d", i), Labels: labels}
		st := &health.Status{State: health.Pending}
		r.model.Put(reg, st)
		r.system.Root.Send(r.bc, Registered{Record: health.NewRecord(reg, st), New: created, Previous: previous})
	}
	for i := range 6 {
		put(i, map[bool]health.Labels{true: search, false: ads}[i%2 == 0], nil, true)
	}
	sel := health.Selector{{Key: "team", Value: "search"}}
	watcher := r.subscribe(SubscribeStream{Labels: sel})
	_, snap := readOpening(t, watcher)
	base := syncedSeq(t, snap)
	var urls []string
	for _, e := range snap[:len(snap)-1] {
		urls = append(urls, e.Record.URL)
	}
	if fmt.Sprint(urls) != "[http://127.0.0.1:9/u00000 http://127.0.0.1:9/u00002 http://127.0.0.1:9/u00004]" {
		t.Fatalf("filtered snapshot holds %v, want the search URLs", urls)
	}

	r.status(1, ads)                                                                                               // skipped
	r.status(2, search)                                                                                            // status of u00002
	put(4, ads, search, false)                                                                                     // u00004 stops matching: removed
	put(3, search, ads, false)                                                                                     // u00003 starts matching: registered
	r.system.Root.Send(r.bc, Removed{URL: "http://127.0.0.1:9/u00005", Reason: RemovalReasonDeleted, Labels: ads}) // skipped
	r.system.Root.Send(r.bc, Removed{URL: "http://127.0.0.1:9/u00000", Reason: RemovalReasonDeleted, Labels: search})
	want := []seqEvent{
		{Type: TypeStatus, Seq: base + 2, URL: "http://127.0.0.1:9/u00002"},
		{Type: TypeRemoved, Seq: base + 3, URL: "http://127.0.0.1:9/u00004", Reason: RemovalReasonUnmatched},
		{Type: TypeRegistered, Seq: base + 4, Record: struct{ URL string }{"http://127.0.0.1:9/u00003"}},
		{Type: TypeRemoved, Seq: base + 6, URL: "http://127.0.0.1:9/u00000", Reason: RemovalReasonDeleted},
	}
	for i, w := range want {
		if got := nextEvent(t, watcher); got != w {
			t.Fatalf("live event %d: %+v, want %+v", i, got, w)
		}
	}
	// A filtered client resuming from its snapshot sees the same.
	o, replayed := readOpening(t, r.subscribe(SubscribeStream{Labels: sel, Resume: true, Since: base}))
	if _, ok := o.(*Replay); !ok {
		t.Fatalf("opening is a %T, want a replay", o)
	}
	if synced := syncedSeq(t, replayed); synced != base+6 {
		t.Fatalf("synced seq %d, want %d", synced, base+6)
	}
	if fmt.Sprint(replayed[:len(replayed)-1]) != fmt.Sprint(want) {
		t.Fatalf("filtered replay %+v, want %+v", replayed, want)
	}
}
