package lease

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// BenchmarkHeapFiring100k measures when deadlines come out of the heap when
// it is driven as the supervisor drives it: one timer armed at the earliest
// deadline, and at each firing every deadline due is popped. 100,000
// deadlines fall within one second; it reports how late each was popped
// (p50, p99, max). It asserts nothing. Run it alone:
// go test -run XXX -bench HeapFiring100k -benchtime 1x ./actors/lease/
func BenchmarkHeapFiring100k(b *testing.B) {
	const n, window = 100_000, time.Second
	for range b.N {
		var h Heap
		start := time.Now().Add(3 * time.Second) // after the heap is filled
		due := make(map[string]time.Time, n)
		for i := range n {
			u := fmt.Sprintf("http://10.0.%d.%d/", i/256, i%256)
			at := start.Add(time.Duration(i) * window / n)
			h.Set(u, at)
			due[u] = at
		}
		if time.Now().After(start) {
			b.Fatal("filling the heap took past the first deadline")
		}
		tick := make(chan struct{}, 1)
		timer := time.AfterFunc(time.Until(start), func() { tick <- struct{}{} })
		late := make([]time.Duration, 0, n)
		var popped []string
		for h.Len() > 0 {
			<-tick
			now := time.Now()
			popped = h.PopDue(now, popped[:0])
			for _, u := range popped {
				late = append(late, now.Sub(due[u]))
			}
			if next, ok := h.Next(); ok {
				timer.Reset(time.Until(next))
			}
		}
		slices.Sort(late)
		pct := func(p float64) time.Duration { return late[int(p*float64(len(late)-1))] }
		b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "max-ms")
		b.Logf("%d deadlines within %s popped late by p50 %s, p99 %s, max %s", n, window, pct(0.5), pct(0.99),
			late[len(late)-1])
	}
}
