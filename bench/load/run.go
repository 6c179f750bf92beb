package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spo2/spo2/bench/internal/clock"
	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/scrape"
	"github.com/spo2/spo2/bench/internal/spo2"
	"github.com/spo2/spo2/bench/internal/wsclient"
	"github.com/spo2/spo2/e2e/harness"
)

// Bench runs the phases of one harness run and collects their results.
type Bench struct {
	cfg    Config
	farm   *farm.Farm
	res    *Results
	tmp    string
	outDir string
	bin    string
	phases map[string]bool
	start  time.Time
	mu     sync.Mutex // guards res.Errors
}

// NewBench starts the farm and prepares a temp directory.
func NewBench(cfg Config) (*Bench, error) {
	b := &Bench{cfg: cfg, start: time.Now(), outDir: filepath.Dir(cfg.Out), phases: map[string]bool{}}
	for _, p := range strings.Split(cfg.Phases, ",") {
		b.phases[strings.TrimSpace(p)] = true
	}
	b.res = &Results{Machine: proc.Describe(), Config: cfg}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}
	tmp, err := os.MkdirTemp("", "spo2-load-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	b.tmp = tmp
	slog.Info("starting farm", "urls", cfg.URLs, "listeners", cfg.Listeners, "distinct_hosts", cfg.DistinctHosts, "open_files_limit", b.res.Machine.OpenFiles)
	f, err := farm.Start(farm.Config{
		URLs: cfg.URLs, Listeners: cfg.Listeners, DistinctHosts: cfg.DistinctHosts,
		Share503: cfg.Share503, ShareSlow: cfg.ShareSlow, ShareRefused: cfg.ShareRefused,
		SlowFor: cfg.Timeout + time.Second,
	})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start farm: %w", err)
	}
	b.farm = f
	b.res.Farm = FarmInfo{
		URLs: cfg.URLs, Listeners: cfg.Listeners, Distinct: cfg.DistinctHosts,
		Fast: len(f.IDs(farm.Fast)), Fail503: len(f.IDs(farm.Fail503)), Slow: len(f.IDs(farm.Slow)), Refused: len(f.IDs(farm.Refused)),
		SampleURL:  f.URLs()[0],
		HarnessCPU: "the farm runs in the harness process and shares the cores with spo2",
	}
	return b, nil
}

// Close stops the farm and removes temp files.
func (b *Bench) Close() {
	b.farm.Close()
	os.RemoveAll(b.tmp)
}

func (b *Bench) fail(what string, err error) {
	slog.Error(what, "err", err)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.res.Errors = append(b.res.Errors, what+": "+err.Error())
}

// Run executes the selected phases. It returns an error only when the
// harness itself failed.
func (b *Bench) Run(ctx context.Context) error {
	if b.phases["badger"] {
		slog.Info("phase: raw badger baseline", "records", b.cfg.BadgerRecords)
		r, err := RunBadger(b.tmp, b.cfg.BadgerRecords, b.cfg.BadgerDuration)
		if err != nil {
			b.fail("badger baseline", err)
		} else {
			b.res.Badger = &r
		}
	}
	if b.phases["saturation"] {
		for _, kind := range Clients {
			slog.Info("phase: bare saturation loop", "client", kind, "workers", b.cfg.SatWorkers, "duration", b.cfg.SatDuration)
			urls := b.pick(b.farm.IDs(farm.Fast))
			c0 := b.farm.Conns()
			r := RunSaturation(kind, urls, b.cfg.SatWorkers, b.cfg.SatDuration, b.cfg.Timeout)
			r.NewConns = b.farm.Conns() - c0
			if kind == ClientProber {
				b.res.SaturationProber = &r
			} else {
				b.res.Saturation = &r
			}
		}
	}
	if b.phases["baseline"] {
		for _, kind := range Clients {
			r, err := b.runBaseline(ctx, kind)
			if err != nil {
				return err
			}
			if kind == ClientProber {
				b.res.BaselineProber = r
			} else {
				b.res.Baseline = r
			}
		}
	}
	if !(b.phases["idle"] || b.phases["probe"] || b.phases["maxrate"]) {
		return nil
	}
	if err := b.build(); err != nil {
		return err
	}
	if b.phases["idle"] {
		if err := b.runIdle(ctx); err != nil {
			return err
		}
	}
	if b.phases["probe"] {
		if err := b.runProbe(ctx); err != nil {
			return err
		}
	}
	if b.phases["maxrate"] {
		if err := b.runMaxRate(ctx); err != nil {
			return err
		}
	}
	return nil
}

// wsOptions is how the harness's WebSocket clients dial.
func (b *Bench) wsOptions() wsclient.Options {
	return wsclient.Options{NoDeflate: !b.cfg.WSDeflate}
}

func (b *Bench) pick(ids []int) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = b.farm.URLs()[id]
	}
	return out
}

func (b *Bench) build() error {
	if b.cfg.Bin != "" {
		b.bin = b.cfg.Bin
		return nil
	}
	slog.Info("building spo2")
	t := time.Now()
	bin, err := harness.Build(b.tmp)
	if err != nil {
		return fmt.Errorf("build spo2: %w", err)
	}
	slog.Info("built spo2", "in", time.Since(t).Round(time.Millisecond))
	b.bin = bin
	return nil
}

func (b *Bench) env(interval, timeout time.Duration, extra ...string) []string {
	e := []string{
		"PROBE_INTERVAL=" + interval.String(),
		"PROBE_TIMEOUT=" + timeout.String(),
		fmt.Sprintf("MAX_PROBES_IN_FLIGHT=%d", b.cfg.InFlight),
	}
	e = append(e, extra...)
	return append(e, b.cfg.Env...)
}

func (b *Bench) runBaseline(ctx context.Context, kind string) (*BaselineRun, error) {
	cfg := b.cfg
	slog.Info("phase: bare timer-heap baseline", "client", kind, "urls", cfg.URLs, "interval", cfg.Interval, "workers", cfg.BaselineWorkers)
	c, err := b.startBareChild(kind)
	if err != nil {
		return nil, err
	}
	defer c.stop()
	if err := clock.Sleep(ctx, cfg.Interval+time.Second); err != nil {
		return nil, err
	}
	if _, err := c.ask("mark"); err != nil {
		return nil, err
	}
	h0, _ := proc.Read(os.Getpid())
	mark := b.farm.BeginWindow(cfg.Interval)
	if err := clock.Sleep(ctx, cfg.Window); err != nil {
		return nil, err
	}
	fw := b.farm.EndWindow(mark, b.farm.Visible(), cfg.Interval)
	h1, _ := proc.Read(os.Getpid())
	rep, err := c.ask("end")
	if err != nil {
		return nil, err
	}
	rep.Schedule.RatePerSec = float64(rep.Schedule.Started) / fw.Seconds
	r := &BaselineRun{Schedule: rep.Schedule, Farm: fw, HarnessCores: proc.CPUCores(h0, h1), ClientCores: rep.CPUSeconds / fw.Seconds}
	if rep.Schedule.Started > 0 {
		r.ClientCPUPerProbe = rep.CPUSeconds * 1e6 / float64(rep.Schedule.Started)
	}
	slog.Info("baseline", "client", kind, "rate", int(r.Schedule.RatePerSec), "farm_pct", fmt.Sprintf("%.1f", fw.AchievedPct), "lag_p99_ms", r.Schedule.Lag.P99ms,
		"client_cores", fmt.Sprintf("%.2f", r.ClientCores), "harness_cores", fmt.Sprintf("%.2f", r.HarnessCores))
	return r, nil
}

func (b *Bench) startSpo2(ctx context.Context, name string, env []string) (*spo2.Instance, error) {
	s, err := spo2.Start(ctx, name, b.bin, filepath.Join(b.tmp, name), env)
	if err != nil {
		return nil, err
	}
	slog.Info("spo2 started", "run", name, "pid", s.Pid(), "ws", s.WSAddr())
	return s, nil
}

func (b *Bench) runIdle(ctx context.Context) error {
	cfg := b.cfg
	slog.Info("phase: idle registrations (interval 24h)", "urls", cfg.URLs)
	s, err := b.startSpo2(ctx, "idle", b.env(24*time.Hour, cfg.Timeout))
	if err != nil {
		return err
	}
	defer s.Kill(b.outDir)
	r := &IdleRun{}
	b.res.Idle = r
	if err := clock.Sleep(ctx, time.Second); err != nil {
		return err
	}
	if p, err := proc.Read(s.Pid()); err == nil {
		r.EmptyRSS, r.EmptyRSSFile = p.RSS, p.RSSFile
	}
	if m, err := s.Metrics(); err == nil {
		r.EmptyHeap = m.HeapInuse
	} else {
		b.fail("idle: metrics", err)
	}
	ids := make([]int, cfg.URLs)
	for i := range ids {
		ids[i] = i
	}
	puts := min(cfg.Puts, cfg.URLs/4)
	nb := cfg.URLs - 2*puts
	r.Bulk = s.Bulk(b.farm.URLs(), ids[:nb], cfg.BulkChunk)
	slog.Info("bulk", "urls", r.Bulk.URLs, "ok", r.Bulk.OK, "per_sec", int(r.Bulk.PerSec), "errors", r.Bulk.Errors, "first_error", r.Bulk.FirstError)
	r.Put8 = s.Put(b.farm.URLs(), ids[nb:nb+puts], 8)
	slog.Info("put x8", "urls", r.Put8.URLs, "ok", r.Put8.OK, "per_sec", int(r.Put8.PerSec), "first_error", r.Put8.FirstError)
	r.Put64 = s.Put(b.farm.URLs(), ids[nb+puts:], 64)
	slog.Info("put x64", "urls", r.Put64.URLs, "ok", r.Put64.OK, "per_sec", int(r.Put64.PerSec), "first_error", r.Put64.FirstError)
	r.Registered = r.Bulk.OK + r.Put8.OK + r.Put64.OK
	if r.Registered == 0 {
		return errors.New("idle: no registration succeeded")
	}
	settle := 2 * time.Second
	if cfg.URLs >= 20000 {
		settle = 5 * time.Second
	}
	if err := clock.Sleep(ctx, settle); err != nil {
		return err
	}
	if p, err := proc.Read(s.Pid()); err == nil {
		r.RSS, r.RSSFile = p.RSS, p.RSSFile
		r.RSSPerURL = float64(p.RSS-r.EmptyRSS) / float64(r.Registered)
	}
	if m, err := s.Metrics(); err == nil {
		r.Heap = m.HeapInuse
		r.HeapPerURL = (m.HeapInuse - r.EmptyHeap) / float64(r.Registered)
		r.Goroutines = m.Goroutines
	}
	slog.Info("idle memory", "rss_per_url", int(r.RSSPerURL), "rss_file_per_url", int(float64(r.RSSFile-r.EmptyRSSFile)/float64(r.Registered)), "heap_per_url", int(r.HeapPerURL), "goroutines", r.Goroutines)
	if cfg.Profile {
		if err := s.Fetch("/debug/pprof/heap", filepath.Join(b.outDir, "heap-idle.pb.gz")); err != nil {
			b.fail("idle: heap profile", err)
		}
	}
	snap, err := MeasureSnapshot(ctx, s.WSAddr(), b.wsOptions(), r.Registered, time.Minute)
	if err != nil {
		b.fail("idle: websocket snapshot", err)
	}
	r.Snapshot = snap
	slog.Info("snapshot", "records", snap.Records, "seconds", snap.Seconds, "bytes", snap.Bytes, "wire_bytes", snap.WireBytes, "deflate", snap.Deflate, "frames", snap.Frames)
	d, err := s.Stop(b.outDir)
	r.ShutdownSecs = d.Seconds()
	if err != nil {
		r.ShutdownError = err.Error()
		b.fail("idle: shutdown", err)
	}
	return nil
}

// sampler scrapes /metrics and /proc every second during a window.
type sampler struct {
	maxInFlight float64
	maxRSS      int64
	stop        chan struct{}
	done        sync.WaitGroup
}

func startSampler(s *spo2.Instance) *sampler {
	sm := &sampler{stop: make(chan struct{})}
	sm.done.Add(1)
	go func() {
		defer sm.done.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-sm.stop:
				return
			case <-t.C:
			}
			if m, err := s.Metrics(); err == nil && m.InFlight > sm.maxInFlight {
				sm.maxInFlight = m.InFlight
			}
			if p, err := proc.Read(s.Pid()); err == nil && p.RSS > sm.maxRSS {
				sm.maxRSS = p.RSS
			}
		}
	}()
	return sm
}

func (sm *sampler) Stop() { close(sm.stop); sm.done.Wait() }

func (b *Bench) runProbe(ctx context.Context) error {
	cfg := b.cfg
	slog.Info("phase: steady probing", "urls", cfg.URLs, "interval", cfg.Interval, "timeout", cfg.Timeout)
	s, err := b.startSpo2(ctx, "probe", b.env(cfg.Interval, cfg.Timeout, "FAILURE_THRESHOLD=1"))
	if err != nil {
		return err
	}
	defer s.Kill(b.outDir)
	r := &ProbeRun{}
	b.res.Probe = r
	ids := make([]int, cfg.URLs)
	for i := range ids {
		ids[i] = i
	}
	if p, err := proc.Read(s.Pid()); err == nil {
		r.EmptyRSS = p.RSS
	}
	total0 := b.farm.Total()
	r.Bulk = s.Bulk(b.farm.URLs(), ids, cfg.BulkChunk)
	slog.Info("bulk", "urls", r.Bulk.URLs, "ok", r.Bulk.OK, "per_sec", int(r.Bulk.PerSec), "errors", r.Bulk.Errors, "first_error", r.Bulk.FirstError)
	if r.Bulk.OK == 0 {
		return fmt.Errorf("probe: bulk registration failed: %s", r.Bulk.FirstError)
	}
	if err := clock.Sleep(ctx, cfg.Interval+2*time.Second); err != nil {
		return err
	}
	if b.farm.Total() == total0 {
		return fmt.Errorf("probe: the farm saw no probe %s after registering %d URLs", cfg.Interval+2*time.Second, r.Bulk.OK)
	}

	m0, err := s.Metrics()
	if err != nil {
		b.fail("probe: metrics", err)
	}
	p0, _ := proc.Read(s.Pid())
	h0, _ := proc.Read(os.Getpid())
	mark := b.farm.BeginWindow(cfg.Interval)
	sm := startSampler(s)
	var prof sync.WaitGroup
	if cfg.Profile {
		prof.Add(1)
		go func() {
			defer prof.Done()
			secs := max(1, min(int(cfg.Window.Seconds())-1, 30))
			if err := s.Profile(secs, filepath.Join(b.outDir, "cpu-probe.pb.gz")); err != nil {
				b.fail("probe: cpu profile", err)
			}
			if err := s.Fetch("/debug/pprof/goroutine?debug=1", filepath.Join(b.outDir, "goroutines-probe.txt")); err != nil {
				b.fail("probe: goroutine dump", err)
			}
			if err := s.Fetch("/debug/pprof/heap", filepath.Join(b.outDir, "heap-probe.pb.gz")); err != nil {
				b.fail("probe: heap profile", err)
			}
		}()
	}
	if err := clock.Sleep(ctx, cfg.Window); err != nil {
		return err
	}
	visible := b.farm.Visible()
	r.Farm = b.farm.EndWindow(mark, visible, cfg.Interval)
	sm.Stop()
	prof.Wait()
	p1, _ := proc.Read(s.Pid())
	h1, _ := proc.Read(os.Getpid())
	m1, err := s.Metrics()
	if err != nil {
		b.fail("probe: metrics", err)
	}
	r.LagP50ms, r.LagP99ms, r.LagSamples = lagMs(m0, m1, 0.5), lagMs(m0, m1, 0.99), m1.LagCount-m0.LagCount
	r.DurP50ms, r.DurP99ms = durMs(m0, m1, 0.5), durMs(m0, m1, 0.99)
	r.Probes = map[string]float64{}
	for k, v := range m1.Probes {
		r.Probes[k] = v - m0.Probes[k]
	}
	r.ProbesPerSec = (m1.ProbesTotal() - m0.ProbesTotal()) / r.Farm.Seconds
	r.Skipped = m1.Skipped - m0.Skipped
	r.MaxInFlight = sm.maxInFlight
	r.CPUCores = proc.CPUCores(p0, p1)
	probes := m1.ProbesTotal() - m0.ProbesTotal()
	if probes <= 0 {
		probes = float64(r.Farm.Requests)
	}
	r.CPUPerProbe = (p1.CPU - p0.CPU).Seconds() * 1e6 / probes
	r.HarnessCores = proc.CPUCores(h0, h1)
	r.RSS, r.MaxRSS, r.FDs, r.Sockets = p1.RSS, max(sm.maxRSS, p1.RSS), p1.FDs, p1.Sockets
	r.RSSPerURL = float64(p1.RSS-r.EmptyRSS) / float64(r.Bulk.OK)
	r.Heap, r.Goroutines = m1.HeapInuse, m1.Goroutines
	slog.Info("probe window", "farm_rate", int(r.Farm.RatePerSec), "achieved_pct", fmt.Sprintf("%.2f", r.Farm.AchievedPct),
		"seen", r.Farm.URLsSeen, "visible", visible, "lag_p99_ms", r.LagP99ms, "probe_p99_ms", r.DurP99ms, "dev_p99_ms", r.Farm.Deviation.P99ms,
		"cpu_cores", fmt.Sprintf("%.2f", r.CPUCores), "rss_mb", r.RSS>>20, "sockets", r.Sockets, "max_in_flight", r.MaxInFlight)
	if r.Farm.Requests == 0 {
		return errors.New("probe: the farm saw no probe during the window")
	}

	snap, err := MeasureSnapshot(ctx, s.WSAddr(), b.wsOptions(), r.Bulk.OK, time.Minute)
	if err != nil {
		b.fail("probe: websocket snapshot", err)
	}
	r.Snapshot = snap
	slog.Info("snapshot while probing", "records", snap.Records, "seconds", snap.Seconds, "bytes", snap.Bytes, "wire_bytes", snap.WireBytes, "deflate", snap.Deflate)

	b.fanOut(ctx, s, r)
	b.resume(ctx, s, r)

	d, err := s.Stop(b.outDir)
	r.ShutdownSecs = d.Seconds()
	if err != nil {
		r.ShutdownError = err.Error()
		b.fail("probe: shutdown", err)
	}
	if b.phases["restart"] {
		return b.runRestart(ctx, s)
	}
	return nil
}

func lagMs(a, b scrape.Metrics, q float64) float64 {
	v, ok := scrape.LagQuantile(a, b, q)
	if !ok {
		return math.NaN()
	}
	return v * 1000
}

func durMs(a, b scrape.Metrics, q float64) float64 {
	v, ok := scrape.DurationQuantile(a, b, q)
	if !ok {
		return math.NaN()
	}
	return v * 1000
}

func (b *Bench) fanOut(ctx context.Context, s *spo2.Instance, r *ProbeRun) {
	cfg := b.cfg
	fast := b.farm.IDs(farm.Fast)
	n := int(cfg.Flip * float64(len(fast)))
	if n < 1 || cfg.WSClients < 1 {
		return
	}
	step := len(fast) / n
	var ids []int
	for i := 0; i < len(fast) && len(ids) < n; i += step {
		ids = append(ids, fast[i])
	}
	urls := b.pick(ids)
	slog.Info("websocket fan-out", "clients", cfg.WSClients, "flipped", len(ids))
	limit := 2*cfg.Interval + 20*time.Second
	connectLimit := 60 * time.Second
	if cfg.Quick {
		connectLimit = 15 * time.Second
	}
	r.FanOut = MeasureFanOut(ctx, s.WSAddr(), b.wsOptions(), cfg.WSClients, urls, "unhealthy", func() { b.farm.Set(ids, farm.Fail503) }, connectLimit, limit)
	b.farm.Set(ids, farm.Fast)
	f := r.FanOut
	slog.Info("fan-out", "connected", f.Connected, "connect_s", f.ConnectSeconds, "complete", f.Complete, "min_received", f.MinReceived,
		"of", f.Flipped, "deflate_clients", f.DeflateClients, "disconnected", f.Disconnected, "last_delivery_s", f.DeliverySeconds, "first_error", f.FirstError)
	if f.FirstError != "" {
		b.fail("probe: websocket fan-out", errors.New(f.FirstError))
	}
}

func (b *Bench) runRestart(ctx context.Context, s *spo2.Instance) error {
	cfg := b.cfg
	slog.Info("phase: restart with registrations", "urls", cfg.URLs)
	r := &RestartRun{Visible: b.farm.Visible(), AllProbedSecs: math.NaN()}
	b.res.Restart = r
	b.farm.BeginEpoch()
	t0 := time.Now()
	s.SetName("restart")
	if err := s.Restart(ctx); err != nil {
		return err
	}
	r.ReadySecs = time.Since(t0).Seconds()
	deadline := t0.Add(2*cfg.Interval + 30*time.Second)
	for time.Now().Before(deadline) {
		seen, at := b.farm.Seen()
		r.Seen = seen
		if seen >= int64(r.Visible) {
			r.AllProbedSecs = at.Sub(t0).Seconds()
			break
		}
		if err := clock.Sleep(ctx, 50*time.Millisecond); err != nil {
			return err
		}
	}
	slog.Info("restart", "ready_s", r.ReadySecs, "all_probed_s", r.AllProbedSecs, "seen", r.Seen, "visible", r.Visible)
	d, err := s.Stop(b.outDir)
	r.ShutdownSecs = d.Seconds()
	if err != nil {
		r.ShutdownError = err.Error()
		b.fail("restart: shutdown", err)
	}
	return nil
}

func (b *Bench) runMaxRate(ctx context.Context) error {
	cfg := b.cfg
	fast := b.farm.IDs(farm.Fast)
	timeout := min(cfg.Timeout, 500*time.Millisecond)
	slog.Info("phase: maximum probe rate (interval 1s)", "urls", len(fast))
	s, err := b.startSpo2(ctx, "maxrate", b.env(time.Second, timeout))
	if err != nil {
		return err
	}
	defer s.Kill(b.outDir)
	r := &MaxRateRun{URLs: len(fast), Offered: float64(len(fast))}
	b.res.MaxRate = r
	reg := s.Bulk(b.farm.URLs(), fast, cfg.BulkChunk)
	if reg.OK == 0 {
		return fmt.Errorf("maxrate: bulk registration failed: %s", reg.FirstError)
	}
	if err := clock.Sleep(ctx, 3*time.Second); err != nil {
		return err
	}
	m0, _ := s.Metrics()
	p0, _ := proc.Read(s.Pid())
	mark := b.farm.BeginWindow(time.Second)
	sm := startSampler(s)
	if err := clock.Sleep(ctx, cfg.MaxWindow); err != nil {
		return err
	}
	r.Farm = b.farm.EndWindow(mark, reg.OK, time.Second)
	sm.Stop()
	p1, _ := proc.Read(s.Pid())
	m1, _ := s.Metrics()
	r.ProbesPerSec = (m1.ProbesTotal() - m0.ProbesTotal()) / r.Farm.Seconds
	r.CPUCores = proc.CPUCores(p0, p1)
	r.LagP99ms = lagMs(m0, m1, 0.99)
	r.MaxInFlight = sm.maxInFlight
	slog.Info("max rate", "offered", int(r.Offered), "farm_rate", int(r.Farm.RatePerSec), "spo2_rate", int(r.ProbesPerSec), "cpu_cores", fmt.Sprintf("%.2f", r.CPUCores))
	if _, err := s.Stop(b.outDir); err != nil {
		b.fail("maxrate: shutdown", err)
	}
	return nil
}

// Finish builds the table, prints it to w and fills res.Rows.
func (b *Bench) Finish(w io.Writer) {
	t := BuildTable(b.res)
	b.res.Rows = t.Rows
	b.res.Seconds = time.Since(b.start).Seconds()
	fmt.Fprintf(w, "\nSpO₂ load harness — %d URLs @ %s, timeout %s, %d CPUs (%s), %s, commit %s\n\n",
		b.cfg.URLs, b.cfg.Interval, b.cfg.Timeout, b.res.Machine.CPUs, b.res.Machine.CPUModel, b.res.Machine.Go, b.res.Machine.Commit)
	t.Print(w)
	md := filepath.Join(b.outDir, strings.TrimSuffix(filepath.Base(b.cfg.Out), ".json")+".md")
	if f, err := os.Create(md); err == nil {
		t.Markdown(f)
		f.Close()
	}
	if len(b.res.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range b.res.Errors {
			fmt.Fprintln(w, "  -", e)
		}
	}
}
