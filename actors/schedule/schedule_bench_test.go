package schedule

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

// countingOwner embeds its timer as a URL checker's probe run does, and
// closes done at the firing that reaches want.
type countingOwner struct {
	timer Timer
	fired *atomic.Int64
	want  int64
	done  chan struct{}
}

func (o *countingOwner) Fire(time.Time) {
	if o.fired.Add(1) == o.want {
		close(o.done)
	}
}

// BenchmarkFire measures one firing with many timers armed: the heap work
// of taking the earliest timer and putting it back one period later, and
// the call of its Firer. Every timer is due all the time (a period far
// shorter than the scheduler can serve), so the scheduler never sleeps; it
// takes due timers in batches, so it may fire more than b.N times, and
// ns/firing is the time per firing it did.
func BenchmarkFire(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("timers=%d", n), func(b *testing.B) {
			s := New()
			var fired atomic.Int64
			done := make(chan struct{})
			owners := make([]countingOwner, n)
			now := time.Now()
			for i := range owners {
				o := &owners[i]
				o.fired, o.want, o.done = &fired, int64(b.N), done
				s.Start(&o.timer, now.Add(time.Duration(i)*time.Microsecond), time.Millisecond, o)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			b.ResetTimer()
			start := time.Now()
			go s.Run(ctx)
			<-done
			elapsed := time.Since(start)
			b.StopTimer()
			cancel()
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(fired.Load()), "ns/firing")
		})
	}
}
