package probe

import (
	"context"
	"sync"
	"time"
)

// Job is one task for the pool: Runner.Run(ctx, At) is called on a pool
// worker, with a context that ends when the pool is closed. A Job is a value,
// so submitting one allocates nothing (the timer goroutine submits every
// probe, and a goroutine that does not allocate never stalls in a
// garbage-collection assist).
type Job struct {
	Runner Runner
	At     time.Time
}

// Runner is the work of a Job.
type Runner interface {
	Run(ctx context.Context, at time.Time)
}

// RunFunc adapts a function to Runner.
type RunFunc func(ctx context.Context, at time.Time)

// Run calls f.
func (f RunFunc) Run(ctx context.Context, at time.Time) { f(ctx, at) }

// Pool runs jobs on a fixed set of long-lived workers, so that concurrent
// probes are bounded and no probe pays for starting a goroutine and growing
// its stack. Submit never blocks: jobs wait in an unbounded FIFO queue (its
// length is bounded by the callers — one job per URL at most).
//
// Close ends the pool: queued jobs are dropped, the context of running jobs
// is cancelled, and Close returns once every worker has exited. The pool
// starts no goroutine besides its workers.
type Pool struct {
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	wake    *sync.Cond
	queue   []Job
	head    int
	closed  bool
	busy    int
	workers sync.WaitGroup
}

// NewPool starts workers workers; they run until Close.
func NewPool(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wake = sync.NewCond(&p.mu)
	p.workers.Add(workers)
	for range workers {
		go p.work()
	}
	return p
}

// Submit queues job. It reports false when the pool is closed.
func (p *Pool) Submit(job Job) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, job)
	p.mu.Unlock()
	p.wake.Signal()
	return true
}

// Busy returns the number of jobs running.
func (p *Pool) Busy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy
}

// Queued returns the number of jobs waiting for a worker.
func (p *Pool) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.queue) - p.head
}

// Close drops queued jobs, cancels the context of running ones, and waits
// for the workers to exit. It is safe to call more than once.
func (p *Pool) Close() {
	p.cancel()
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		p.queue, p.head = nil, 0
	}
	p.mu.Unlock()
	p.wake.Broadcast()
	p.workers.Wait()
}

func (p *Pool) work() {
	defer p.workers.Done()
	p.mu.Lock()
	for {
		for !p.closed && p.head == len(p.queue) {
			p.wake.Wait()
		}
		if p.closed {
			p.mu.Unlock()
			return
		}
		job := p.queue[p.head]
		p.queue[p.head] = Job{}
		p.head++
		if p.head == len(p.queue) { // drained: reuse the backing array
			p.queue, p.head = p.queue[:0], 0
		} else if p.head > 4096 && p.head*2 > len(p.queue) { // mostly consumed: compact
			n := copy(p.queue, p.queue[p.head:])
			clear(p.queue[n:])
			p.queue, p.head = p.queue[:n], 0
		}
		p.busy++
		p.mu.Unlock()
		job.Runner.Run(p.ctx, job.At)
		p.mu.Lock()
		p.busy--
	}
}
