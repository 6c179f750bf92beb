package memory

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestWatchTrimsOnceABurstSettles(t *testing.T) {
	w := watch{step: 100, base: 0, last: -1}
	steps := []struct {
		n    int
		want bool
	}{
		{50, false},   // small growth
		{50, false},   // settled, but under a step
		{120, false},  // a step away, still moving
		{180, false},  // still moving
		{180, true},   // settled: trim
		{180, false},  // nothing new
		{250, false},  // under a step from the last trim
		{250, false},  // settled under a step
		{60, false},   // a burst of removals
		{60, true},    // settled: trim
		{60, false},   // once
		{1000, false}, // a new burst
		{1000, true},
	}
	for i, st := range steps {
		if got := w.due(st.n); got != st.want {
			t.Errorf("sample %d (count %d): due %v, want %v", i, st.n, got, st.want)
		}
	}
}

func TestTrimmerRunTrimsAfterABurstAndStops(t *testing.T) {
	var count atomic.Int64
	var sampled atomic.Int32
	trims := make(chan int64, 10)
	tr := &Trimmer{Count: func() int { sampled.Add(1); return int(count.Load()) }, Step: 10, Poll: time.Millisecond,
		Trim: func() { trims <- count.Load() }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tr.Run(ctx); close(done) }()
	for deadline := time.Now().Add(5 * time.Second); sampled.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond) // until Run has taken its starting count
	}
	count.Store(25)
	select {
	case n := <-trims:
		if n != 25 {
			t.Errorf("trimmed at count %d, want 25", n)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no trim after a burst of 25")
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if len(trims) != 0 {
		t.Errorf("%d more trims without a new burst", len(trims))
	}
}
