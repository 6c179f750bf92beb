package schedule

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestEveryFiresOnItsOwnGridWithoutDrift(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	first := time.Now().Add(10 * time.Millisecond)
	period := 20 * time.Millisecond
	got := make(chan time.Time, 10)
	tm := s.Every(first, period, func(at time.Time) { got <- at })
	defer tm.Stop()
	for i := 0; i < 5; i++ {
		at := <-got
		want := first.Add(time.Duration(i) * period)
		if !at.Equal(want) {
			t.Fatalf("firing %d scheduled at %v, want %v (grid drifted)", i, at, want)
		}
	}
}

func TestStopPreventsFurtherFirings(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	const period = 5 * time.Millisecond
	var fired atomic.Int32
	firstFire := make(chan struct{})
	tm := s.Every(time.Now(), period, func(time.Time) {
		if fired.Add(1) == 1 {
			close(firstFire)
		}
	})
	<-firstFire
	tm.Stop()
	tm.Stop() // idempotent
	if s.Len() != 0 {
		t.Fatalf("Len after Stop = %d, want 0", s.Len())
	}
	after := fired.Load() // a firing under way when Stop was called may complete
	// A witness on the same short period fires ten times: a timer still in
	// the heap would have come due before each of those firings.
	witness := make(chan struct{}, 10)
	w := s.Every(time.Now().Add(period), period, func(time.Time) {
		select {
		case witness <- struct{}{}:
		default:
		}
	})
	defer w.Stop()
	for range 10 {
		<-witness
	}
	if n := fired.Load(); n != after {
		t.Fatalf("stopped timer fired %d more times over ten of its periods", n-after)
	}
}

func TestManyTimersFireInOrder(t *testing.T) {
	tests := []struct {
		name   string
		timers int
	}{{"one", 1}, {"hundred", 100}, {"ten thousand", 10000}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			base := time.Now().Add(5 * time.Millisecond)
			var mu sync.Mutex
			var order []time.Time
			var wg sync.WaitGroup
			wg.Add(tc.timers)
			for i := 0; i < tc.timers; i++ {
				at := base.Add(time.Duration(tc.timers-i) * time.Microsecond)
				var once sync.Once
				s.Every(at, time.Hour, func(sched time.Time) {
					once.Do(func() {
						mu.Lock()
						order = append(order, sched)
						mu.Unlock()
						wg.Done()
					})
				})
			}
			go s.Run(ctx)
			wg.Wait()
			for i := 1; i < len(order); i++ {
				if order[i].Before(order[i-1]) {
					t.Fatalf("firing %d (%v) before firing %d (%v)", i, order[i], i-1, order[i-1])
				}
			}
		})
	}
}

func TestLateFiringSkipsMissedPeriods(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Scheduled 10 periods in the past: the first firing comes at once, the
	// next one is on the grid in the future, not nine catch-up firings.
	period := 50 * time.Millisecond
	first := time.Now().Add(-10 * period)
	got := make(chan time.Time, 4)
	s.Every(first, period, func(at time.Time) { got <- at })
	go s.Run(ctx)
	<-got
	second := <-got
	if !second.After(first.Add(9 * period)) {
		t.Fatalf("second firing scheduled at %v: missed periods were replayed", second.Sub(first))
	}
	if (second.Sub(first))%period != 0 {
		t.Fatalf("second firing off the grid: %v", second.Sub(first))
	}
}

// owner embeds its timer, as a URL checker's probe run does.
type owner struct {
	timer Timer
	fired chan time.Time
}

func (o *owner) Fire(at time.Time) { o.fired <- at }

// A timer embedded in its owner's struct fires the owner; the zero Timer is
// stopped, so stopping one never armed, or twice, leaves other timers be.
func TestStartArmsAnEmbeddedTimerAndZeroTimersAreStopped(t *testing.T) {
	s := New()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	other := s.Every(time.Now().Add(time.Hour), time.Hour, func(time.Time) {})
	defer other.Stop()
	var never Timer
	never.Stop()
	o := &owner{fired: make(chan time.Time, 10)}
	first := time.Now().Add(5 * time.Millisecond)
	s.Start(&o.timer, first, 10*time.Millisecond, o)
	if n := s.Len(); n != 2 {
		t.Fatalf("%d timers after one Every and one Start, want 2", n)
	}
	select {
	case at := <-o.fired:
		if !at.Equal(first) {
			t.Errorf("first firing scheduled at %v, want %v", at, first)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the embedded timer never fired")
	}
	o.timer.Stop()
	o.timer.Stop()
	if n := s.Len(); n != 1 {
		t.Fatalf("%d timers after stopping the embedded one twice, want 1 (the other)", n)
	}
}
