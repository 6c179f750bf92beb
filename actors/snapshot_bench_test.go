package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
)

// BenchmarkSnapshotEncode captures and encodes the snapshot of 100,000 URLs
// (20 % failing, 5 % pending; one in ten labelled team=search, the others
// team=ads), reporting the time to the first frame (the capture the
// broadcaster does, then frame 0) and to the whole snapshot: shared (no
// selector), for a client whose selector matches one URL in ten, or
// none, and in the compact encoding (snapshot=compact).
func BenchmarkSnapshotEncode(b *testing.B) {
	const n = 100_000
	m := readmodel.New()
	states := []health.State{health.Healthy, health.Unreachable, health.Unhealthy, health.Healthy, health.Pending,
		health.Healthy, health.Healthy, health.Healthy, health.Healthy, health.Healthy}
	search, ads := health.Labels{"team": "search"}, health.Labels{"team": "ads"}
	for i := range n {
		labels := ads
		if i%10 == 7 {
			labels = search
		}
		m.Put(&health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%06d", i), Labels: labels},
			&health.Status{State: states[i%10]})
	}
	for _, bc := range []struct {
		name    string
		sel     health.Selector
		compact bool
	}{
		{"all", nil, false},
		{"labels=team=search", health.Selector{{Key: "team", Value: "search"}}, false},
		{"labels=team=none", health.Selector{{Key: "team", Value: "none"}}, false},
		{"compact", nil, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			var first, capture time.Duration
			var bytes int
			for range b.N {
				start := time.Now()
				s := newSharedSnapshot(m.Refs(), start, 0, bc.sel, bc.compact)
				capture += time.Since(start)
				f, ok := s.Frame(0)
				if !ok {
					b.Fatal("no frame")
				}
				first += time.Since(start)
				bytes = len(f.Payload)
				for i := 1; ; i++ {
					f, ok := s.Frame(i)
					if !ok {
						break
					}
					bytes += len(f.Payload)
				}
			}
			b.ReportMetric(float64(capture.Microseconds())/float64(b.N)/1e3, "ms-capture")
			b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1e3, "ms-first-frame")
			b.ReportMetric(float64(bytes), "bytes")
		})
	}
}
