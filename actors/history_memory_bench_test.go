package actors

import (
	"fmt"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/actors/readmodel"
)

// BenchmarkMemoryPerURLWithHistory is BenchmarkIdleMemoryPerURL for URLs
// that carry 4 labels, with no history, with one change (a URL that went
// healthy once and stayed so) and with a full history of 100 changes: the
// cost of the history per URL is the difference. SPO2_BENCH_URLS sets the
// number of URLs (10,000 unless set).
func BenchmarkMemoryPerURLWithHistory(b *testing.B) {
	n := benchURLs(b)
	for _, shape := range []urlShape{{labels: 4}, {labels: 4, changes: 1}, {labels: 4, changes: history.DefaultLimit}} {
		b.Run(fmt.Sprintf("labels=%d/changes=%d", shape.labels, shape.changes), func(b *testing.B) {
			for b.Loop() {
				heap, rss, trimmed := idleMemoryPerURL(b, n, shape)
				b.ReportMetric(heap, "heap-B/url")
				b.ReportMetric(rss, "rss-B/url")
				b.ReportMetric(trimmed, "rss-trimmed-B/url")
			}
		})
	}
}

// podLabels returns the labels of URL i: team, tier, zone and pod, like a
// pod's.
func (s urlShape) podLabels(i int) health.Labels {
	if s.labels == 0 {
		return nil
	}
	all := health.Labels{"team": fmt.Sprintf("team-%d", i%20), "tier": []string{"gold", "silver", "bronze"}[i%3],
		"zone": fmt.Sprintf("eu-west-%d", i%3), "pod": fmt.Sprintf("search-%d", i)}
	out := health.Labels{}
	for k, v := range all {
		if len(out) < s.labels {
			out[k] = v
		}
	}
	return out
}

// fillHistories adds s.changes changes to every URL's history, as its
// checker would on state changes.
func (s urlShape) fillHistories(model *readmodel.Model, limit int) {
	if s.changes == 0 {
		return
	}
	at := time.Now().Add(-time.Duration(s.changes) * time.Minute)
	for _, ref := range model.Refs() {
		e := model.Get(ref.Reg.URL)
		for i := range s.changes {
			st, prev := health.Healthy, health.Unhealthy
			if i%2 == 1 {
				st, prev = prev, st
			}
			e.AddChange(history.NewChange(at.Add(time.Duration(i)*time.Minute), st, prev, 503, ""), limit)
		}
	}
}
