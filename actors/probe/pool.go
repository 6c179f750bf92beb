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
// its stack. Submit never blocks: a job goes to the worker that became idle
// last, or, when every worker is busy, waits in an unbounded FIFO queue (its
// length is bounded by the callers — one job per URL at most). Handing jobs
// to the most recently idle worker keeps the few workers a steady probe
// rate needs, and their stacks, warm in the processor's caches.
//
// Close ends the pool: queued jobs are dropped, the context of running jobs
// is cancelled, and Close returns once every worker has exited. The pool
// starts no goroutine besides its workers.
type Pool struct {
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	idle    []*worker // idle workers, the most recently idle last
	queue   []Job
	head    int
	closed  bool
	busy    int
	workers sync.WaitGroup
}

// worker is one of the pool's goroutines. Submit hands it a job in job and
// wakes it; a wake with no job tells it to exit.
type worker struct {
	wake chan struct{} // buffered: a wake never blocks the waker
	job  Job
}

// NewPool starts workers workers; they run until Close.
func NewPool(workers int) *Pool {
	if workers < 1 {
		workers = 1
	}
	p := &Pool{idle: make([]*worker, workers)}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.workers.Add(workers)
	for i := range p.idle {
		w := &worker{wake: make(chan struct{}, 1)}
		p.idle[i] = w
		go p.work(w)
	}
	return p
}

// Submit hands job to an idle worker, or queues it. It reports false when
// the pool is closed.
func (p *Pool) Submit(job Job) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.busy++
		w.job = job
		p.mu.Unlock()
		w.wake <- struct{}{}
		return true
	}
	p.queue = append(p.queue, job)
	p.mu.Unlock()
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
	var idle []*worker
	if !p.closed {
		p.closed = true
		p.queue, p.head = nil, 0
		idle, p.idle = p.idle, nil
	}
	p.mu.Unlock()
	for _, w := range idle {
		w.wake <- struct{}{} // no job: exit
	}
	p.workers.Wait()
}

func (p *Pool) work(w *worker) {
	defer p.workers.Done()
	for range w.wake {
		job := w.job
		w.job = Job{}
		if job.Runner == nil {
			return // woken by Close
		}
		for job.Runner != nil {
			job.Runner.Run(p.ctx, job.At)
			var closed bool
			if job, closed = p.next(w); closed {
				return
			}
		} // no job left: w is idle again
	}
}

// next takes the next queued job for w, which has finished its job. When
// there is none, w goes back to the idle workers and next returns no job;
// closed reports that the pool is closed and w must exit.
func (p *Pool) next(w *worker) (job Job, closed bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.busy--
		return Job{}, true
	}
	if p.head < len(p.queue) {
		job = p.queue[p.head]
		p.queue[p.head] = Job{}
		p.head++
		if p.head == len(p.queue) { // drained: reuse the backing array
			p.queue, p.head = p.queue[:0], 0
		} else if p.head > 4096 && p.head*2 > len(p.queue) { // mostly consumed: compact
			n := copy(p.queue, p.queue[p.head:])
			clear(p.queue[n:])
			p.queue, p.head = p.queue[:n], 0
		}
		return job, false
	}
	p.busy--
	p.idle = append(p.idle, w)
	return Job{}, false
}
