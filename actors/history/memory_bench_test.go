package history

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// BenchmarkHeapPerURL reports the live heap that the histories of 100,000
// URLs take per URL (heap-B/url), by number of changes: one (a URL that
// went healthy once), 10, and a full history.
func BenchmarkHeapPerURL(b *testing.B) {
	const urls = 100_000
	for _, changes := range []int{1, 10, DefaultLimit} {
		b.Run(fmt.Sprintf("changes=%d", changes), func(b *testing.B) {
			for b.Loop() {
				logs := make([]*Log, urls)
				base := liveHeap()
				for i := range logs {
					logs[i] = New(DefaultLimit)
					for j := range changes {
						logs[i].Add(NewChange(t0.Add(time.Duration(j)*time.Minute), health.Healthy, health.Unhealthy, 200, ""))
					}
				}
				after := liveHeap()
				runtime.KeepAlive(logs)
				b.ReportMetric(float64(after-base)/urls, "heap-B/url")
			}
		})
	}
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// BenchmarkUptime is the cost a record read pays for its uptime: a full
// log of 100 changes, all within the 7-day window (the worst case), and a
// log of one change.
func BenchmarkUptime(b *testing.B) {
	now := t0.Add(Week)
	for _, changes := range []int{1, DefaultLimit} {
		l := New(DefaultLimit)
		for j := range changes {
			l.Add(NewChange(now.Add(-time.Duration(changes-j)*time.Hour), health.Healthy, health.Unhealthy, 200, ""))
		}
		b.Run(fmt.Sprintf("changes=%d", changes), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = l.Uptime(t0, health.Healthy, now)
			}
		})
	}
}
