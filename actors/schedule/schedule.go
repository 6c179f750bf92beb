// Package schedule is one shared timer heap for every URL actor: a periodic
// timer costs a heap slot instead of an OS timer or a goroutine, and each
// firing is computed from the previous scheduled time, so timers do not drift.
package schedule

import (
	"context"
	"sync"
	"time"
)

// Scheduler runs periodic timers on one goroutine. Fire functions are called
// on that goroutine and must return quickly (send a message, nothing more).
//
// A firing comes at its time or up to Resolution after it, never before:
// the goroutine sleeps at least Resolution between rounds and fires every
// timer due by then, so that at thousands of firings a second one wake-up
// serves several instead of one each. The time a Firer receives is the
// scheduled one.
//
// Taking the earliest timer and putting it back one period later costs a
// few cache lines, however many timers are armed: the heap holds each
// timer's due time beside its pointer, four children to a node, and a
// stopped timer leaves its slot behind to be dropped when it comes due (or
// when stopped slots outnumber armed timers).
type Scheduler struct {
	epoch time.Time // due times are nanoseconds since epoch (monotonic)
	mu    sync.Mutex
	h     slots
	live  int // armed timers; len(h)-live slots are stale
	wake  chan struct{}
}

// Resolution is the longest a firing waits after its time for the
// scheduler to wake up (a stall of the process aside).
const Resolution = time.Millisecond

// Timer is one periodic timer. Stop it when its owner goes away. The zero
// Timer is stopped; a caller may embed one in its own struct and arm it with
// Start, so that arming allocates nothing.
type Timer struct {
	s     *Scheduler
	at    int64 // next due time, nanoseconds since s.epoch; its heap slot holds the same
	every time.Duration
	fire  Firer // nil when stopped
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
	return &Scheduler{epoch: time.Now(), wake: make(chan struct{}, 1)}
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
	at := int64(first.Sub(s.epoch))
	s.mu.Lock()
	t.s, t.at, t.every, t.fire = s, at, period, f
	s.live++
	s.h.push(slot{at: at, t: t})
	earliest := s.h[0].t == t
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
	if t.fire != nil {
		t.fire = nil
		s.live--
		if stale := len(s.h) - s.live; stale >= 1024 && stale > s.live {
			s.h.dropStale()
		}
	}
	s.mu.Unlock()
}

// Len returns the number of active timers.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live
}

func (s *Scheduler) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

type firing struct {
	fire Firer
	at   int64
}

// Run fires timers until ctx is done.
func (s *Scheduler) Run(ctx context.Context) {
	sleep := time.NewTimer(time.Hour)
	defer sleep.Stop()
	var due []firing
	for {
		now := int64(time.Since(s.epoch))
		due = due[:0]
		wait := time.Hour
		s.mu.Lock()
		for len(s.h) > 0 {
			top := s.h[0]
			if d := top.at - now; d > 0 {
				wait = time.Duration(d)
				break
			}
			t := top.t
			if !top.valid() {
				s.h.popRoot() // stopped, or re-armed since: its slot is stale
				continue
			}
			due = append(due, firing{t.fire, top.at})
			every := int64(t.every)
			next := top.at + every
			if next <= now {
				next += ((now-next)/every + 1) * every // skip missed periods
			}
			t.at = next
			s.h[0].at = next
			s.h.down(0)
		}
		s.mu.Unlock()
		for _, f := range due {
			f.fire.Fire(s.epoch.Add(time.Duration(f.at)))
		}
		if len(due) > 0 {
			clear(due) // let go of the firers
			continue   // firing took time: look again before sleeping
		}
		sleep.Reset(max(wait, Resolution))
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-sleep.C:
		}
	}
}
