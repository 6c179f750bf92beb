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
