package actors

import (
	"testing"
)

// TestBurstWhileOpeningDoesNotCutTheClient: the events that come while a
// client's opening (a long snapshot) is still being sent wait in the
// opening backlog, not in the small queue, and follow the opening in order;
// a burst larger than the backlog cuts the client as too slow.
func TestBurstWhileOpeningDoesNotCutTheClient(t *testing.T) {
	tests := []struct {
		name    string
		burst   int
		wantCut bool
	}{
		{"burst within the opening backlog", 50, false},
		{"burst over the opening backlog", 101, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := newStreamRig(t, 0)
			sub := NewSubscriber(2, 100)
			r.system.Root.Send(r.bc, SubscribeStream{Subscriber: sub})
			for i := range tc.burst {
				r.status(i, nil)
			}
			// The broadcaster handles its messages in order: once a later
			// subscriber has its opening, the burst was offered to sub.
			readOpening(t, r.subscribe(SubscribeStream{}))
			if tc.wantCut {
				select {
				case <-sub.Done():
					if sub.Reason() != ReasonTooSlow {
						t.Fatalf("cut as %q, want %q", sub.Reason(), ReasonTooSlow)
					}
				default:
					t.Fatalf("a burst of %d while opening, over a backlog of 100, did not cut the client", tc.burst)
				}
				return
			}
			select {
			case <-sub.Done():
				t.Fatalf("a burst of %d while opening cut the client: %s", tc.burst, sub.Reason())
			default:
			}
			_, opening := readOpening(t, sub) // its Opened hands the backlog to nextEvent
			synced := syncedSeq(t, opening)
			for i := range tc.burst {
				if e := nextEvent(t, sub); e.Seq != synced+1+uint64(i) {
					t.Fatalf("event %d after the opening has seq %d, want %d", i, e.Seq, synced+1+uint64(i))
				}
			}
			r.status(0, nil)
			if e := nextEvent(t, sub); e.Seq != synced+1+uint64(tc.burst) {
				t.Fatalf("the first live event has seq %d, want %d", e.Seq, synced+1+uint64(tc.burst))
			}
		})
	}
}
