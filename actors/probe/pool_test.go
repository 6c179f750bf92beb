package probe

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPoolRunsEveryJobWithinItsBound(t *testing.T) {
	tests := []struct{ workers, jobs int }{{1, 10}, {4, 1000}, {64, 20000}}
	for _, tc := range tests {
		p := NewPool(context.Background(), tc.workers)
		var running, peak, done atomic.Int64
		var wg sync.WaitGroup
		wg.Add(tc.jobs)
		for range tc.jobs {
			if !p.Submit(Job{Run: func(time.Time) {
				n := running.Add(1)
				for {
					old := peak.Load()
					if n <= old || peak.CompareAndSwap(old, n) {
						break
					}
				}
				running.Add(-1)
				done.Add(1)
				wg.Done()
			}}) {
				t.Fatal("Submit refused on an open pool")
			}
		}
		wg.Wait()
		if done.Load() != int64(tc.jobs) {
			t.Fatalf("%d of %d jobs ran", done.Load(), tc.jobs)
		}
		if peak.Load() > int64(tc.workers) {
			t.Fatalf("%d jobs ran at once with %d workers", peak.Load(), tc.workers)
		}
		p.Close()
		if p.Submit(Job{Run: func(time.Time) {}}) {
			t.Fatal("Submit accepted after Close")
		}
	}
}

func TestPoolStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := NewPool(ctx, 2)
	release := make(chan struct{})
	started := make(chan struct{}, 2)
	for range 2 {
		p.Submit(Job{Run: func(time.Time) { started <- struct{}{}; <-release }})
	}
	<-started
	<-started
	ran := atomic.Bool{}
	p.Submit(Job{Run: func(time.Time) { ran.Store(true) }}) // queued behind two busy workers
	if p.Busy() != 2 || p.Queued() != 1 {
		t.Fatalf("busy %d queued %d, want 2 and 1", p.Busy(), p.Queued())
	}
	cancel()
	for p.Submit(Job{Run: func(time.Time) {}}) { // the pool closes once it sees the cancellation
		runtime.Gosched()
	}
	close(release)
	p.Close() // waits for the workers
	if ran.Load() {
		t.Fatal("a queued job ran after the pool's context ended")
	}
}
