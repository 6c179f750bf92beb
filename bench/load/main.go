// Command load is SpO₂'s load harness: a loopback target farm, two bare
// client baselines (net/http, and SpO₂'s own prober without the engine), a
// raw Badger baseline and the real spo2 binary measured against them in one
// run. See docs/performance.md.
//
//	go run ./bench/load -quick                       # CI smoke test, under a minute
//	go run ./bench/load -urls 100000 -interval 10s   # the full scenario
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spo2/spo2/bench/internal/spo2"
)

// Config is every knob of a run.
type Config struct {
	Quick           bool          `json:"quick"`
	URLs            int           `json:"urls"`
	Interval        time.Duration `json:"interval"`
	Timeout         time.Duration `json:"timeout"`
	InFlight        int           `json:"max_probes_in_flight"`
	Listeners       int           `json:"listeners"`
	DistinctHosts   bool          `json:"distinct_hosts"`
	Share503        float64       `json:"share_503"`
	ShareSlow       float64       `json:"share_slow"`
	ShareRefused    float64       `json:"share_refused"`
	Window          time.Duration `json:"window"`
	MaxWindow       time.Duration `json:"max_window"`
	Puts            int           `json:"puts_per_concurrency"`
	BulkChunk       int           `json:"bulk_chunk"`
	WSClients       int           `json:"ws_clients"`
	WSDeflate       bool          `json:"ws_deflate"`
	ResumeFlip      float64       `json:"resume_flip"`
	ResumeDrop      time.Duration `json:"resume_drop"`
	Flip            float64       `json:"flip_share"`
	BaselineWorkers int           `json:"baseline_workers"`
	SatWorkers      int           `json:"saturation_workers"`
	SatDuration     time.Duration `json:"saturation_duration"`
	BadgerRecords   int           `json:"badger_records"`
	BadgerDuration  time.Duration `json:"badger_duration"`
	Phases          string        `json:"phases"`
	Bin             string        `json:"spo2_bin"`
	Env             []string      `json:"spo2_env"`
	Out             string        `json:"-"`
	Profile         bool          `json:"profile"`

	bareClient, bareURLs, bareProfile string // the bare baseline's child process
}

func parseFlags() Config {
	var c Config
	var env spo2.EnvFlag
	flag.BoolVar(&c.Quick, "quick", false, "CI smoke test: small and short (under a minute); overrides sizes and durations not given explicitly")
	flag.IntVar(&c.URLs, "urls", 100000, "registered URLs")
	flag.DurationVar(&c.Interval, "interval", 10*time.Second, "probe interval (PROBE_INTERVAL)")
	flag.DurationVar(&c.Timeout, "timeout", 2*time.Second, "probe timeout (PROBE_TIMEOUT)")
	flag.IntVar(&c.InFlight, "in-flight", 1024, "MAX_PROBES_IN_FLIGHT, and the bare baseline's worker count unless -baseline-workers")
	flag.IntVar(&c.Listeners, "listeners", 1000, "farm listeners (distinct host:port pairs)")
	flag.BoolVar(&c.DistinctHosts, "distinct-hosts", false, "give every URL its own 127.x.y.z host (one host per pod), served by wildcard listeners")
	flag.Float64Var(&c.Share503, "share-503", 0.05, "share of targets answering 503")
	flag.Float64Var(&c.ShareSlow, "share-slow", 0.002, "share of targets answering only after the timeout")
	flag.Float64Var(&c.ShareRefused, "share-refused", 0.005, "share of targets on a closed port")
	flag.DurationVar(&c.Window, "window", 30*time.Second, "steady-state measurement window")
	flag.DurationVar(&c.MaxWindow, "max-window", 10*time.Second, "window of the maximum-rate phase (1s interval)")
	flag.IntVar(&c.Puts, "puts", 5000, "URLs registered by PUT at 8 and again at 64 concurrent requests")
	flag.IntVar(&c.BulkChunk, "bulk-chunk", 10000, "items per POST /bulk (at most 10,000)")
	flag.IntVar(&c.WSClients, "ws-clients", 100, "WebSocket clients in the fan-out test")
	flag.BoolVar(&c.WSDeflate, "ws-deflate", true, "WebSocket clients offer permessage-deflate, as browsers do (false: every frame uncompressed)")
	flag.Float64Var(&c.Flip, "flip", 0.05, "share of fast targets flipped 200 → 503 in the fan-out test")
	flag.Float64Var(&c.ResumeFlip, "resume-flip", 0.01, "share of URLs flipped 200 → 503 while a WebSocket client is away in the resume test (0: no resume test)")
	flag.DurationVar(&c.ResumeDrop, "resume-drop", 5*time.Second, "how long the resume test's client stays away")
	flag.IntVar(&c.BaselineWorkers, "baseline-workers", 0, "bare baseline workers (default -in-flight)")
	flag.IntVar(&c.SatWorkers, "sat-workers", 64, "bare saturation loop workers")
	flag.DurationVar(&c.SatDuration, "sat-duration", 5*time.Second, "bare saturation loop duration")
	flag.IntVar(&c.BadgerRecords, "badger-records", 100000, "records in the raw Badger WriteBatch")
	flag.DurationVar(&c.BadgerDuration, "badger-duration", 2*time.Second, "duration of each raw Badger synced-txn test")
	flag.StringVar(&c.Phases, "phases", "badger,saturation,baseline,idle,probe,restart,maxrate", "phases to run, comma-separated")
	flag.StringVar(&c.Bin, "spo2-bin", "", "use this spo2 binary instead of building the repository")
	flag.Var(&env, "env", "extra KEY=VALUE for spo2 (repeatable), e.g. -env GOGC=200")
	flag.StringVar(&c.Out, "out", "bench/out/results.json", "JSON results file")
	flag.BoolVar(&c.Profile, "profile", false, "fetch a CPU and a heap profile of spo2 during the probe window (needs /debug/pprof/), and CPU-profile each bare baseline's window")
	flag.StringVar(&c.bareClient, "bare-client", "", "internal: run as the bare baseline's child process with this client")
	flag.StringVar(&c.bareURLs, "bare-urls", "", "internal: the bare child's URLs, one a line")
	flag.StringVar(&c.bareProfile, "bare-cpuprofile", "", "internal: the bare child's CPU profile of its window")
	flag.Parse()
	c.Env = env
	if c.Quick {
		def := spo2.UnlessGiven()
		def("urls", func() { c.URLs = 2000 })
		def("interval", func() { c.Interval = time.Second })
		def("timeout", func() { c.Timeout = 500 * time.Millisecond })
		def("window", func() { c.Window = 3 * time.Second })
		def("max-window", func() { c.MaxWindow = 2 * time.Second })
		def("puts", func() { c.Puts = 200 })
		def("sat-duration", func() { c.SatDuration = 2 * time.Second })
		def("badger-records", func() { c.BadgerRecords = 20000 })
		def("badger-duration", func() { c.BadgerDuration = 500 * time.Millisecond })
	}
	if c.BaselineWorkers == 0 {
		c.BaselineWorkers = c.InFlight
	}
	c.BulkChunk = min(max(c.BulkChunk, 1), 10000)
	return c
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cfg := parseFlags()
	if cfg.bareClient != "" {
		os.Exit(runBareChild(cfg, cfg.bareClient, cfg.bareURLs, cfg.bareProfile))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := run(ctx, cfg)
	os.Exit(code)
}

// run executes the phases and returns the exit status: 1 only when the
// harness itself failed (no farm, spo2 did not build or start, the farm saw
// no probe), never because a figure missed its target.
func run(ctx context.Context, cfg Config) int {
	start := time.Now()
	b, err := NewBench(cfg)
	if err != nil {
		slog.Error("harness setup failed", "err", err)
		return 1
	}
	defer b.Close()
	fatal := b.Run(ctx)
	b.Finish(os.Stdout)
	if err := WriteJSON(cfg.Out, b.res); err != nil {
		slog.Error("write results", "err", err)
		return 1
	}
	slog.Info("done", "results", cfg.Out, "elapsed", time.Since(start).Round(time.Second))
	if fatal != nil {
		slog.Error("harness failed", "err", fatal)
		return 1
	}
	return 0
}
