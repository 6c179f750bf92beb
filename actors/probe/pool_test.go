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
		p := NewPool(tc.workers)
		var running, peak, done atomic.Int64
		var wg sync.WaitGroup
		wg.Add(tc.jobs)
		for range tc.jobs {
			if !p.Submit(Job{Runner: RunFunc(func(context.Context, time.Time) {
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
			})}) {
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
		if p.Submit(Job{Runner: RunFunc(func(context.Context, time.Time) {})}) {
			t.Fatal("Submit accepted after Close")
		}
	}
}

func TestPoolCloseCancelsRunningJobsAndDropsQueuedOnes(t *testing.T) {
	before := runtime.NumGoroutine()
	p := NewPool(2)
	started := make(chan struct{}, 2)
	cancelled := make(chan struct{}, 2)
	for range 2 {
		p.Submit(Job{Runner: RunFunc(func(ctx context.Context, _ time.Time) {
			started <- struct{}{}
			<-ctx.Done() // a probe in flight ends when the pool closes
			cancelled <- struct{}{}
		})})
	}
	<-started
	<-started
	ran := atomic.Bool{}
	p.Submit(Job{Runner: RunFunc(func(context.Context, time.Time) { ran.Store(true) })}) // queued behind two busy workers
	if p.Busy() != 2 || p.Queued() != 1 {
		t.Fatalf("busy %d queued %d, want 2 and 1", p.Busy(), p.Queued())
	}
	p.Close() // cancels the running jobs and waits for the workers
	<-cancelled
	<-cancelled
	if ran.Load() {
		t.Fatal("a queued job ran after Close")
	}
	if p.Submit(Job{Runner: RunFunc(func(context.Context, time.Time) {})}) {
		t.Fatal("Submit accepted after Close")
	}
	p.Close() // a second Close is harmless
	// Every goroutine the pool started has exited: none waits on a context.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after Close, %d before NewPool", runtime.NumGoroutine(), before)
		}
		runtime.Gosched()
	}
}
