package probe

import (
	"context"
	"runtime"
	"strings"
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

// goroutineID reads the running goroutine's number from its stack header.
func goroutineID() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// Jobs that come one at a time all run on the worker that became idle
// last, so a steady trickle of probes keeps one warm worker busy instead of
// cycling through every worker's stack.
func TestPoolHandsJobsToTheMostRecentlyIdleWorker(t *testing.T) {
	p := NewPool(8)
	defer p.Close()
	waitIdle := func() {
		deadline := time.Now().Add(5 * time.Second)
		for p.Busy() != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the workers never became idle")
			}
			runtime.Gosched()
		}
	}
	// Every worker runs a job first, so that all of them wait for work.
	var started sync.WaitGroup
	started.Add(8)
	release := make(chan struct{})
	for range 8 {
		p.Submit(Job{Runner: RunFunc(func(context.Context, time.Time) { started.Done(); <-release })})
	}
	started.Wait()
	close(release)
	waitIdle()
	seen := map[string]int{}
	for range 50 {
		ids := make(chan string, 1)
		p.Submit(Job{Runner: RunFunc(func(context.Context, time.Time) { ids <- goroutineID() })})
		seen[<-ids]++
		waitIdle()
	}
	if len(seen) != 1 {
		t.Fatalf("50 jobs one at a time ran on %d workers (%v), want 1", len(seen), seen)
	}
}
