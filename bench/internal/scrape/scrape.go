// Package scrape reads spo2's /metrics into the figures the harnesses use,
// and turns the difference of two readings into histogram quantiles.
package scrape

import (
	"fmt"
	"math"
	"net/http"
	"sort"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Metrics is one reading of spo2's /metrics.
type Metrics struct {
	Lag         []bucket           // cumulative buckets of spo2_schedule_lag_seconds
	LagCount    uint64             // its sample count
	Duration    []bucket           // cumulative buckets of spo2_probe_duration_seconds
	Probes      map[string]float64 // spo2_probes_total by outcome
	InFlight    float64            // spo2_probes_in_flight
	Skipped     float64            // spo2_probes_skipped_total
	HeapInuse   float64            // go_memstats_heap_inuse_bytes
	Goroutines  float64            // go_goroutines
	StateChange float64            // sum of spo2_state_changes_total
	Members     float64            // spo2_cluster_members (NaN on a single node)
	OwnedURLs   float64            // spo2_cluster_owned_urls (NaN on a single node)
}

type bucket struct {
	le    float64
	count uint64
}

// ProbesTotal sums spo2_probes_total over outcomes.
func (s Metrics) ProbesTotal() float64 {
	var t float64
	for _, v := range s.Probes {
		t += v
	}
	return t
}

// Fetch fetches and parses url (spo2's /metrics).
func Fetch(c *http.Client, url string) (Metrics, error) {
	s := Metrics{Probes: map[string]float64{}}
	resp, err := c.Get(url)
	if err != nil {
		return s, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("scrape %s: status %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return s, fmt.Errorf("parse %s: %w", url, err)
	}
	one := func(name string) float64 {
		f := fams[name]
		if f == nil || len(f.Metric) == 0 {
			return math.NaN()
		}
		return value(f.Metric[0])
	}
	s.Lag, s.LagCount = histogram(fams["spo2_schedule_lag_seconds"])
	s.Duration, _ = histogram(fams["spo2_probe_duration_seconds"])
	if f := fams["spo2_probes_total"]; f != nil {
		for _, m := range f.Metric {
			outcome := ""
			for _, l := range m.Label {
				if l.GetName() == "outcome" {
					outcome = l.GetValue()
				}
			}
			s.Probes[outcome] += value(m)
		}
	}
	if f := fams["spo2_state_changes_total"]; f != nil {
		for _, m := range f.Metric {
			s.StateChange += value(m)
		}
	}
	s.InFlight = one("spo2_probes_in_flight")
	s.Skipped = one("spo2_probes_skipped_total")
	s.HeapInuse = one("go_memstats_heap_inuse_bytes")
	s.Goroutines = one("go_goroutines")
	s.Members = one("spo2_cluster_members")
	s.OwnedURLs = one("spo2_cluster_owned_urls")
	return s, nil
}

func histogram(f *dto.MetricFamily) ([]bucket, uint64) {
	if f == nil || len(f.Metric) == 0 || f.Metric[0].Histogram == nil {
		return nil, 0
	}
	h := f.Metric[0].Histogram
	var bs []bucket
	for _, b := range h.Bucket {
		bs = append(bs, bucket{b.GetUpperBound(), b.GetCumulativeCount()})
	}
	return append(bs, bucket{math.Inf(1), h.GetSampleCount()}), h.GetSampleCount()
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	return math.NaN()
}

// LagQuantile returns the q-quantile (seconds) of the schedule lag observed
// between scrapes a and b, interpolating linearly inside a bucket as
// Prometheus' histogram_quantile does. ok is false when nothing was observed.
func LagQuantile(a, b Metrics, q float64) (float64, bool) { return quantile(a.Lag, b.Lag, q) }

// DurationQuantile is LagQuantile for spo2_probe_duration_seconds.
func DurationQuantile(a, b Metrics, q float64) (float64, bool) {
	return quantile(a.Duration, b.Duration, q)
}

func quantile(a, b []bucket, q float64) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	before := map[float64]uint64{}
	for _, x := range a {
		before[x.le] = x.count
	}
	d := make([]bucket, len(b))
	for i, x := range b {
		d[i] = bucket{x.le, x.count - before[x.le]}
	}
	sort.Slice(d, func(i, j int) bool { return d[i].le < d[j].le })
	total := d[len(d)-1].count
	if total == 0 {
		return 0, false
	}
	rank := q * float64(total)
	prevLe, prevCount := 0.0, uint64(0)
	for _, x := range d {
		if float64(x.count) >= rank {
			if math.IsInf(x.le, 1) {
				return prevLe, true // beyond the last finite bucket: report its bound
			}
			in := float64(x.count - prevCount)
			if in == 0 {
				return x.le, true
			}
			return prevLe + (x.le-prevLe)*(rank-float64(prevCount))/in, true
		}
		prevLe, prevCount = x.le, x.count
	}
	return prevLe, true
}

// LagShareAbove returns the share (0–1) of the schedule lags observed between
// a and b that exceeded le seconds; le must be one of the histogram's bucket
// bounds. ok is false when nothing was observed or le is not a bound.
func LagShareAbove(a, b Metrics, le float64) (float64, bool) {
	before := map[float64]uint64{}
	for _, x := range a.Lag {
		before[x.le] = x.count
	}
	var total, below uint64
	found := false
	for _, x := range b.Lag {
		n := x.count - before[x.le]
		if math.IsInf(x.le, 1) {
			total = n
		}
		if x.le == le {
			below, found = n, true
		}
	}
	if total == 0 || !found {
		return 0, false
	}
	return float64(total-below) / float64(total), true
}

// LagTop returns the largest finite bound of the schedule-lag histogram in
// seconds (0 when there is none): a quantile at this value means "at least".
func LagTop(m Metrics) float64 {
	top := 0.0
	for _, x := range m.Lag {
		if !math.IsInf(x.le, 1) && x.le > top {
			top = x.le
		}
	}
	return top
}
