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

// Timer is one periodic timer. Stop it when its owner goes away. The zero
// Timer is stopped; a caller may embed one in its own struct and arm it with
// Start, so that arming allocates nothing.
type Timer struct {
	s     *Scheduler
	pos   int // position in the heap plus one; 0 when stopped
	at    time.Time
	every time.Duration
	fire  Firer
}

// Firer is what a timer calls at each firing, on the scheduler's goroutine.
type Firer interface {
	Fire(scheduled time.Time)
}

// FireFunc adapts a function to Firer.
type FireFunc func(scheduled time.Time)

// Fire calls f.
func (f FireFunc) Fire(scheduled time.Time) { f(scheduled) }

// New returns an idle scheduler; call Run to start it.
func New() *Scheduler {
	return &Scheduler{wake: make(chan struct{}, 1)}
}

// Every schedules fire at first, then every period after it. A firing that
// comes late (the process was stalled) is followed by the next period still
// in the future: missed periods are skipped, not replayed in a burst.
func (s *Scheduler) Every(first time.Time, period time.Duration, fire func(scheduled time.Time)) *Timer {
	t := &Timer{}
	s.Start(t, first, period, FireFunc(fire))
	return t
}

// Start arms t as Every does, calling f.Fire. t must be stopped (the zero
// Timer, or one whose Stop returned); a Timer is armed on one scheduler at a
// time.
func (s *Scheduler) Start(t *Timer, first time.Time, period time.Duration, f Firer) {
	t.s, t.at, t.every, t.fire = s, first, period, f
	s.mu.Lock()
	heap.Push(&s.h, t)
	earliest := s.h[0] == t
	s.mu.Unlock()
	if earliest {
		s.poke()
	}
}

// Stop cancels the timer. It is safe to call more than once. A firing already
// under way may still complete.
func (t *Timer) Stop() {
	s := t.s
	if s == nil {
		return // never armed
	}
	s.mu.Lock()
	if t.pos > 0 {
		heap.Remove(&s.h, t.pos-1)
		t.pos = 0
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
	fire Firer
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
			f.fire.Fire(f.at)
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
	h[i].pos = i + 1
	h[j].pos = j + 1
}
func (h *timerHeap) Push(x any) {
	t := x.(*Timer)
	t.pos = len(*h) + 1
	*h = append(*h, t)
}
func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.pos = 0
	return t
}
