package main

import (
	"fmt"
	"math"
)

// BuildTable turns results into the rows of the report, each with its
// baselines from the same run, the ratios and the target.
func BuildTable(r *Results) *Table {
	t := &Table{}
	c := r.Config
	nan := math.NaN()
	sched := float64(c.URLs) / c.Interval.Seconds()
	if p := r.Probe; p != nil {
		base, prober := baselineFigures(p, r.Baseline), baselineFigures(p, r.BaselineProber)
		label := fmt.Sprintf("%d URLs @ %s", c.URLs, c.Interval)
		newConns := ""
		if r.Baseline != nil {
			newConns = fmt.Sprintf("; new connections/s %.0f (baseline %.0f)", float64(p.Farm.NewConns)/p.Farm.Seconds, float64(r.Baseline.Farm.NewConns)/r.Baseline.Farm.Seconds)
		}
		t.AddPair("probe rate, "+label, p.Farm.RatePerSec, base.rate, prober.rate, "req/s at farm", fmt.Sprintf("schedule %.0f/s", sched*float64(p.Farm.URLsVisible)/float64(c.URLs)), nil, "refused targets never reach the farm"+newConns)
		t.AddPair("scheduled probes done, "+label, p.Farm.AchievedPct, base.pct, prober.pct, "%", "100 %", ptr(p.Farm.AchievedPct >= 99), fmt.Sprintf("%d of %d URLs seen in window", p.Farm.URLsSeen, p.Farm.URLsVisible))
		t.AddPair("schedule lag p50 (/metrics)", p.LagP50ms, base.lag50, prober.lag50, "ms", "", nil, "baseline: its own dispatch lag")
		t.AddPair("schedule lag p99 (/metrics)", p.LagP99ms, base.lag99, prober.lag99, "ms", "< 50 ms", ptr(p.LagP99ms < 50), "")
		t.Add("probe duration p50 / p99 (/metrics)", p.DurP50ms, nan, "ms", "", nil, fmt.Sprintf("p99 %.1f ms", p.DurP99ms))
		t.AddPair("inter-arrival |Δ−interval| p50 (farm)", p.Farm.Deviation.P50ms, base.dev50, prober.dev50, "ms", "", nil, "")
		t.AddPair("inter-arrival |Δ−interval| p99 (farm)", p.Farm.Deviation.P99ms, base.dev99, prober.dev99, "ms", "", nil, fmt.Sprintf("max %.0f ms", p.Farm.Deviation.MaxMs))
		t.Add("CPU while probing", p.CPUCores, nan, "cores", "", nil, fmt.Sprintf("farm+harness %.2f, whole machine %.2f cores", p.HarnessCores, p.Farm.MachineCores))
		t.AddPair("CPU per probe", p.CPUPerProbe, base.cpu, prober.cpu, "µs", "", nil, "baselines: CPU of their own process")
		t.Add("RSS per URL while probing", p.RSSPerURL/1024, nan, "KiB", "", nil, fmt.Sprintf("RSS %d MiB, heap %d MiB, %.0f goroutines, %d sockets, max %0.f in flight", p.RSS>>20, int64(p.Heap)>>20, p.Goroutines, p.Sockets, p.MaxInFlight))
		t.Add("probes skipped (tick while running)", p.Skipped, nan, "count", "", nil, "")
		if p.Snapshot.Records > 0 {
			t.Add(fmt.Sprintf("WS snapshot, %d records, while probing", p.Snapshot.Records), p.Snapshot.Seconds, nan, "s", "< 1 s", ptr(p.Snapshot.Seconds < 1), snapshotNote(p.Snapshot))
		}
		if f := p.FanOut; f.Clients > 0 {
			t.Add(fmt.Sprintf("WS fan-out: clients with all %d status events", f.Flipped), float64(f.Complete), nan, "clients", fmt.Sprintf("all %d", f.Clients), ptr(f.Complete == f.Clients), fmt.Sprintf("%d disconnected, min %d received", f.Disconnected, f.MinReceived))
			t.Add("WS fan-out: flip → last client complete", f.DeliverySeconds, nan, "s", "", nil, fmt.Sprintf("connecting %d clients took %.1f s (%d with deflate)", f.Connected, f.ConnectSeconds, f.DeflateClients))
		}
		t.Add("SIGTERM → exit", p.ShutdownSecs, nan, "s", "< 10 s, status 0", ptr(p.ShutdownSecs < 10 && p.ShutdownError == ""), p.ShutdownError)
	}
	if m := r.MaxRate; m != nil {
		bSat, pSat := nan, nan
		if r.Saturation != nil {
			bSat = r.Saturation.RatePerSec
		}
		if r.SaturationProber != nil {
			pSat = r.SaturationProber.RatePerSec
		}
		note := fmt.Sprintf("offered %.0f/s (%d fast URLs @ 1s)", m.Offered, m.URLs)
		pass := ptr(!math.IsNaN(bSat) && m.Farm.RatePerSec >= 0.8*bSat)
		if !math.IsNaN(bSat) && m.Offered < bSat {
			note += "; offered below the baseline maximum: not a saturation test"
			pass = nil
		}
		t.AddPair("max sustained probe rate", m.Farm.RatePerSec, bSat, pSat, "req/s", "≥ 0.8× baseline", pass, note)
		t.Add("CPU at max rate", m.CPUCores, nan, "cores", "", nil, fmt.Sprintf("lag p99 %.0f ms", m.LagP99ms))
	}
	if i := r.Idle; i != nil {
		bWB, b1, b8, b64 := nan, nan, nan, nan
		if r.Badger != nil {
			bWB, b1, b8, b64 = r.Badger.WriteBatchPerSec, r.Badger.Sync1PerSec, r.Badger.Sync8PerSec, r.Badger.Sync64PerSec
		}
		rssPass, rssNote := ptr(i.RSSPerURL <= 2048), ""
		if i.Registered < 20000 {
			rssPass, rssNote = nil, "; too few URLs to judge: fixed costs dominate"
		}
		t.Add("RSS per idle URL", i.RSSPerURL/1024, nan, "KiB", "≤ 2 KiB", rssPass, fmt.Sprintf("%d URLs, empty %d MiB → %d MiB, of which mapped files %d → %d MiB%s", i.Registered, i.EmptyRSS>>20, i.RSS>>20, i.EmptyRSSFile>>20, i.RSSFile>>20, rssNote))
		t.Add("Go heap per idle URL", i.HeapPerURL/1024, nan, "KiB", "", nil, fmt.Sprintf("%.0f goroutines", i.Goroutines))
		t.Add("POST /bulk, durable", i.Bulk.PerSec, bWB, "URLs/s", "≥ 50,000/s", ptr(i.Bulk.PerSec >= 50000), "baseline: raw WriteBatch records/s")
		t.Add("PUT, 8 concurrent", i.Put8.PerSec, b8, "req/s", "", nil, "baseline: 8 synced txns")
		t.Add("PUT, 64 concurrent", i.Put64.PerSec, b64, "req/s", "≥ 0.5× baseline", ptr(!math.IsNaN(b64) && i.Put64.PerSec >= 0.5*b64), "baseline: 64 synced txns")
		if !math.IsNaN(b1) {
			t.Add("raw Badger, 1 synced writer", b1, nan, "txn/s", "", nil, "reference")
		}
		if i.Snapshot.Records > 0 || i.Snapshot.Seconds > 0 {
			t.Add(fmt.Sprintf("WS snapshot, %d records, idle", i.Snapshot.Records), i.Snapshot.Seconds, nan, "s", "< 1 s", ptr(i.Snapshot.Seconds < 1 && i.Snapshot.Records >= i.Registered), snapshotNote(i.Snapshot))
		}
	}
	if p := r.Probe; p != nil && p.Bulk.PerSec > 0 {
		t.Add("POST /bulk into a probing spo2", p.Bulk.PerSec, nan, "URLs/s", "", nil, "")
	}
	if rs := r.Restart; rs != nil {
		limit := c.Interval + 2e9
		t.Add("restart: every URL probed again", rs.AllProbedSecs, nan, "s", fmt.Sprintf("≤ %s", limit), ptr(!math.IsNaN(rs.AllProbedSecs) && rs.AllProbedSecs <= limit.Seconds()), fmt.Sprintf("%d of %d seen; /healthz after %.2f s", rs.Seen, rs.Visible, rs.ReadySecs))
	}
	return t
}

// clientBaseline is one bare client's figures for the probe rows; NaN when
// that baseline did not run.
type clientBaseline struct{ rate, pct, dev50, dev99, lag50, lag99, cpu float64 }

// baselineFigures reads a baseline run. Its CPU per probe is the CPU time of
// the client's own process (a child of the harness) per probe started.
func baselineFigures(p *ProbeRun, base *BaselineRun) clientBaseline {
	nan := math.NaN()
	f := clientBaseline{nan, nan, nan, nan, nan, nan, nan}
	if base == nil {
		return f
	}
	f.rate, f.pct = base.Farm.RatePerSec, base.Farm.AchievedPct
	f.dev50, f.dev99 = base.Farm.Deviation.P50ms, base.Farm.Deviation.P99ms
	f.lag50, f.lag99 = base.Schedule.Lag.P50ms, base.Schedule.Lag.P99ms
	if base.Schedule.Started > 0 {
		f.cpu = base.ClientCPUPerProbe
	}
	return f
}

// snapshotNote says how big a snapshot was decoded and on the wire.
func snapshotNote(s SnapshotResult) string {
	wire := "uncompressed"
	if s.Deflate {
		wire = "deflate"
	}
	return fmt.Sprintf("%s JSON in %d frames, %s on the wire (%s)", size(int64(s.Bytes)), s.Frames, size(s.WireBytes), wire)
}

// size writes n bytes in MiB, or KiB below one MiB.
func size(n int64) string {
	if n < 1<<20 {
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
