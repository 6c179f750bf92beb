package persistence

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
)

// BenchmarkStartupLoad measures opening a store and LoadAll of
// SPO2_BENCH_URLS registrations (10,000 unless set), each with a saved
// status and 0, 10 or 100 changes of history, as spo2 does at start-up:
// ns/op covers opening, loading and closing, loadall-ms the load alone.
func BenchmarkStartupLoad(b *testing.B) {
	n := 10_000
	if s := os.Getenv("SPO2_BENCH_URLS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil {
			b.Fatal(err)
		}
	}
	for _, changes := range []int{0, 10, history.DefaultLimit} {
		b.Run(fmt.Sprintf("urls=%d/changes=%d", n, changes), func(b *testing.B) {
			dir := b.TempDir()
			fillStore(b, dir, n, changes)
			for b.Loop() {
				s, err := OpenWith(dir, quiet, Options{})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				all, err := s.LoadAll()
				b.ReportMetric(float64(time.Since(start).Milliseconds()), "loadall-ms")
				if err != nil || len(all) != n {
					b.Fatalf("loaded %d registrations (%v), want %d", len(all), err, n)
				}
				if changes > 0 && all[n-1].History.Len() != changes {
					b.Fatalf("loaded a history of %d changes, want %d", all[n-1].History.Len(), changes)
				}
				if err := s.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// fillStore writes n registrations with 4 labels, a status and changes
// changes each into the store in dir.
func fillStore(b *testing.B, dir string, n, changes int) {
	b.Helper()
	s, err := OpenWith(dir, quiet, Options{})
	if err != nil {
		b.Fatal(err)
	}
	const batch = 5000
	for i := 0; i < n; i += batch {
		ops := make([]Op, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			r := reg(fmt.Sprintf("http://10.%d.%d.%d:7700/health", j>>16&255, j>>8&255, j&255), `{"customer":42}`)
			r.Labels = map[string]string{"team": "search", "tier": "gold", "zone": "eu-west-1", "pod": fmt.Sprintf("search-%d", j)}
			ops = append(ops, Op{URL: r.URL, Reg: r})
			s.SaveStatus(r.URL, health.Status{State: health.Healthy, Code: 200, Since: r.CreatedAt, CheckedAt: &r.CreatedAt})
			if changes > 0 {
				h := history.New(history.DefaultLimit)
				flap(h, r, changes)
				s.SaveHistory(r.URL, h)
			}
		}
		if err := s.Write(context.Background(), ops); err != nil {
			b.Fatal(err)
		}
		s.flushLazy()
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
}
