package actors

import (
	"fmt"
	"testing"
)

// logged is a test event that knows its own seq.
type logged uint64

func (logged) EventType() string { return "test" }
func (e logged) AppendJSON(b []byte, seq uint64) []byte {
	return fmt.Appendf(b, `{"type":"test","seq":%d,"n":%d}`, seq, uint64(e))
}

// TestEventLogAfter: after(since) returns exactly the events since+1 to the
// last, across the ring's wraparound, or false when one of them is gone or
// since is beyond the last.
func TestEventLogAfter(t *testing.T) {
	const base = 1_000
	tests := []struct {
		name      string
		capacity  int
		added     int
		since     uint64
		wantOK    bool
		wantFirst uint64 // seq of the first event returned
		wantN     int
	}{
		{"nothing added, since the base", 4, 0, base, true, 0, 0},
		{"nothing missed", 4, 3, base + 3, true, 0, 0},
		{"all held, from the first", 4, 3, base, true, base + 1, 3},
		{"exactly the held range", 4, 4, base, true, base + 1, 4},
		{"one older than held", 4, 5, base, false, 0, 0},
		{"wrapped, the oldest held", 4, 11, base + 7, true, base + 8, 4},
		{"wrapped, the middle", 4, 11, base + 9, true, base + 10, 2},
		{"wrapped, too old", 4, 11, base + 6, false, 0, 0},
		{"since beyond the last", 4, 3, base + 4, false, 0, 0},
		{"since far beyond the last", 4, 3, base + 1_000_000, false, 0, 0},
		{"since before the base", 4, 2, base - 1, false, 0, 0},
		{"a since of 0", 4, 2, 0, false, 0, 0},
		{"no buffer, nothing missed", 0, 5, base + 5, true, 0, 0},
		{"no buffer, one missed", 0, 5, base + 4, false, 0, 0},
		{"capacity 1, wrapped", 1, 7, base + 6, true, base + 7, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newEventLog(tc.capacity, base)
			for i := range tc.added {
				if seq := l.add(logged(base + 1 + i)); seq != uint64(base+1+i) {
					t.Fatalf("event %d numbered %d, want %d", i, seq, base+1+i)
				}
			}
			if l.Last() != uint64(base+tc.added) {
				t.Fatalf("Last() = %d, want %d", l.Last(), base+tc.added)
			}
			got, ok := l.after(tc.since)
			if ok != tc.wantOK || len(got) != tc.wantN {
				t.Fatalf("after(%d) = %d events, %v; want %d, %v", tc.since, len(got), ok, tc.wantN, tc.wantOK)
			}
			for i, e := range got {
				if want := logged(tc.wantFirst + uint64(i)); e != want {
					t.Fatalf("event %d is %v, want %v (events %v)", i, e, want, got)
				}
			}
		})
	}
}

// TestEventLogAddAllocatesNothing: keeping an event costs no allocation
// beyond the event's own.
func TestEventLogAddAllocatesNothing(t *testing.T) {
	l := newEventLog(1024, 0)
	var e Event = StatusChanged{URL: "http://127.0.0.1:9/a"}
	if n := testing.AllocsPerRun(10_000, func() { l.add(e) }); n != 0 {
		t.Fatalf("add allocates %.1f times per event", n)
	}
}
