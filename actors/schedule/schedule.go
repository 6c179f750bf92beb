// Package schedule is one shared timer heap for every URL actor: a periodic
// timer costs a heap slot instead of an OS timer or a goroutine, and each
// firing is computed from the previous scheduled time, so timers do not drift.
package schedule

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Scheduler runs periodic timers on one goroutine. Fire functions are called
// on that goroutine and must return quickly (send a message, nothing more).
type Scheduler struct {
	mu   sync.Mutex
	h    timerHeap
	wake chan struct{}
}

// Timer is one periodic timer. Stop it when its owner goes away.
type Timer struct {
	s     *Scheduler
	index int // position in the heap; -1 when stopped
	at    time.Time
	every time.Duration
	fire  func(scheduled time.Time)
}

// New returns an idle scheduler; call Run to start it.
func New() *Scheduler {
	return &Scheduler{wake: make(chan struct{}, 1)}
}

// Every schedules fire at first, then every period after it. A firing that
// comes late (the process was stalled) is followed by the next period still
// in the future: missed periods are skipped, not replayed in a burst.
func (s *Scheduler) Every(first time.Time, period time.Duration, fire func(scheduled time.Time)) *Timer {
	t := &Timer{s: s, at: first, every: period, fire: fire}
	s.mu.Lock()
	heap.Push(&s.h, t)
	earliest := s.h[0] == t
	s.mu.Unlock()
	if earliest {
		s.poke()
	}
	return t
}

// Stop cancels the timer. It is safe to call more than once. A firing already
// under way may still complete.
func (t *Timer) Stop() {
	s := t.s
	s.mu.Lock()
	if t.index >= 0 {
		heap.Remove(&s.h, t.index)
		t.index = -1
	}
	s.mu.Unlock()
}

// Len returns the number of active timers.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.h)
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type firing struct {
	fire func(time.Time)
	at   time.Time
}

// Run fires timers until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	var due []firing
	for {
		now := time.Now()
		due = due[:0]
		wait := time.Hour
		s.mu.Lock()
		for len(s.h) > 0 {
			t := s.h[0]
			if d := t.at.Sub(now); d > 0 {
				wait = d
				break
			}
			due = append(due, firing{t.fire, t.at})
			next := t.at.Add(t.every)
			if !next.After(now) {
				skipped := now.Sub(next)/t.every + 1
				next = next.Add(skipped * t.every)
			}
			t.at = next
			heap.Fix(&s.h, 0)
		}
		s.mu.Unlock()
		for _, f := range due {
			f.fire(f.at)
		}
		if len(due) > 0 {
			continue // firing took time: look again before sleeping
		}
		sleep.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-sleep.C:
		}
	}
}

type timerHeap []*Timer

func (h timerHeap) Len() int           { return len(h) }
func (h timerHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.index = len(*h)
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}
