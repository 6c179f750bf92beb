package lease

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func TestHeap(t *testing.T) {
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name string
		do   func(h *Heap)
		now  int
		want []string
		left int
	}{
		{"nothing due yet", func(h *Heap) { h.Set("a", at(10)) }, 9, nil, 1},
		{"due at its deadline", func(h *Heap) { h.Set("a", at(10)) }, 10, []string{"a"}, 0},
		{"renewed lease is not due at its old deadline", func(h *Heap) {
			h.Set("a", at(10))
			h.Set("a", at(20))
		}, 15, nil, 1},
		{"renewed lease is due at its new deadline", func(h *Heap) {
			h.Set("a", at(10))
			h.Set("a", at(20))
		}, 20, []string{"a"}, 0},
		{"renewed many times, due once", func(h *Heap) {
			for s := 10; s <= 50; s += 10 {
				h.Set("a", at(s))
			}
		}, 60, []string{"a"}, 0},
		{"cleared lease is never due", func(h *Heap) {
			h.Set("a", at(10))
			h.Clear("a")
		}, 100, nil, 0},
		{"clearing an unknown URL is harmless", func(h *Heap) { h.Clear("nope") }, 100, nil, 0},
		{"earliest first", func(h *Heap) {
			h.Set("c", at(30))
			h.Set("a", at(10))
			h.Set("b", at(20))
			h.Set("d", at(40))
		}, 30, []string{"a", "b", "c"}, 1},
		{"a deadline moved earlier", func(h *Heap) {
			h.Set("a", at(10))
			h.Set("b", at(50))
			h.Set("b", at(5))
		}, 7, []string{"b"}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var h Heap
			tc.do(&h)
			got := h.PopDue(at(tc.now), nil)
			if !slices.Equal(got, tc.want) {
				t.Errorf("due at %ds: %v, want %v", tc.now, got, tc.want)
			}
			if h.Len() != tc.left {
				t.Errorf("%d left, want %d", h.Len(), tc.left)
			}
		})
	}
}

// TestHeapManyLeases: 100,000 leases, a third renewed (later) and a tenth
// cleared, come out in deadline order, each exactly once, never before its
// latest deadline; cleared ones never.
func TestHeapManyLeases(t *testing.T) {
	const n = 100_000
	var h Heap
	want := make(map[string]time.Time, n)
	for i := range n {
		u := fmt.Sprintf("http://10.0.%d.%d/", i/256, i%256)
		due := t0.Add(time.Duration(rand.IntN(600_000)) * time.Millisecond)
		h.Set(u, due)
		want[u] = due
	}
	i := 0
	for u := range want {
		switch {
		case i%3 == 0:
			due := want[u].Add(time.Duration(rand.IntN(60_000)+1) * time.Millisecond)
			h.Set(u, due)
			want[u] = due
		case i%10 == 1:
			h.Clear(u)
			delete(want, u)
		}
		i++
	}
	if h.Len() != len(want) {
		t.Fatalf("%d deadlines, want %d", h.Len(), len(want))
	}
	seen := make(map[string]bool, len(want))
	var last time.Time
	for now := t0; h.Len() > 0; now = now.Add(time.Second) {
		for _, u := range h.PopDue(now, nil) {
			due, ok := want[u]
			switch {
			case !ok:
				t.Fatalf("%s came out but was cleared", u)
			case seen[u]:
				t.Fatalf("%s came out twice", u)
			case due.After(now):
				t.Fatalf("%s came out at %v, before its deadline %v", u, now, due)
			case due.Before(last):
				t.Fatalf("%s (due %v) came out after one due %v", u, due, last)
			}
			seen[u], last = true, due
		}
		if now.After(t0.Add(time.Hour)) {
			t.Fatal("heap never emptied")
		}
	}
	if len(seen) != len(want) {
		t.Fatalf("%d came out, want %d", len(seen), len(want))
	}
}
