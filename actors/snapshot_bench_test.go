package actors

import (
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
)

// BenchmarkSnapshotEncode captures and encodes the snapshot of 100,000 URLs
// (20 % failing, 5 % pending), reporting the time to the first frame (the
// capture the broadcaster does, then frame 0) and to the whole snapshot.
func BenchmarkSnapshotEncode(b *testing.B) {
	const n = 100_000
	m := readmodel.New()
	fillModel(m, n, func(i int) health.State {
		return []health.State{health.Healthy, health.Unreachable, health.Unhealthy, health.Healthy, health.Pending,
			health.Healthy, health.Healthy, health.Healthy, health.Healthy, health.Healthy}[i%10]
	})
	b.ReportAllocs()
	b.ResetTimer()
	var first, capture time.Duration
	for range b.N {
		start := time.Now()
		s := newSharedSnapshot(m.Refs(), start, 0, nil)
		capture += time.Since(start)
		if _, ok := s.Frame(0); !ok {
			b.Fatal("no frame")
		}
		first += time.Since(start)
		for i := 1; ; i++ {
			if _, ok := s.Frame(i); !ok {
				break
			}
		}
	}
	b.ReportMetric(float64(capture.Microseconds())/float64(b.N)/1e3, "ms-capture")
	b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1e3, "ms-first-frame")
}
