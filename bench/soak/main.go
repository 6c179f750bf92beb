// Command soak measures what hostile targets cost a running spo2: it starts
// the real binary twice in one invocation — once with a healthy fleet only
// (the baseline), once with the same fleet beside a thousand targets of every
// hostile kind — samples each for a bounded time, and reports both side by
// side with their ratio and their trend (first against last minute). See
// docs/performance.md, "Hostile targets".
//
//	go run ./bench/soak -quick   # ≈ 2 min: small fleets, 30 s per run
//	go run ./bench/soak          # 5 min per run, ≈ 12 min in all
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/spo2"
	"github.com/spo2/spo2/e2e/harness"
)

// Config is every knob of a soak.
type Config struct {
	Quick           bool          `json:"quick"`
	Duration        time.Duration `json:"duration"` // measured period of each run
	Warmup          time.Duration `json:"warmup"`
	Sample          time.Duration `json:"sample_every"`
	Healthy         int           `json:"healthy_urls"`
	HealthyInterval time.Duration `json:"healthy_interval"`
	HealthyTimeout  time.Duration `json:"healthy_timeout"`
	PerKind         int           `json:"hostile_per_kind"`
	HostileInterval time.Duration `json:"hostile_interval"`
	HostileTimeout  time.Duration `json:"hostile_timeout"`
	InFlight        int           `json:"max_probes_in_flight"` // 0: spo2's default
	Hold            time.Duration `json:"hold"`
	HoldCap         int           `json:"hold_cap"`
	Bin             string        `json:"spo2_bin"`
	Env             []string      `json:"spo2_env"`
	Out             string        `json:"-"`
}

// trendWindow is the span compared at the start and the end of a run: one
// minute, or a quarter of a shorter run.
func (c Config) trendWindow() time.Duration { return min(time.Minute, c.Duration/4) }

// warmup is the wait between registering and measuring.
func (c Config) warmup() time.Duration {
	if c.Warmup > 0 {
		return c.Warmup
	}
	return max(c.HealthyInterval, c.HostileInterval) + 5*time.Second
}

func parseFlags() Config {
	var c Config
	var env spo2.EnvFlag
	flag.BoolVar(&c.Quick, "quick", false, "try it: 2,000 healthy URLs at 2s, 200 per hostile kind, 30 s per run; overrides sizes and durations not given explicitly")
	flag.DurationVar(&c.Duration, "duration", 5*time.Minute, "measured period of each run (baseline and hostile)")
	flag.DurationVar(&c.Warmup, "warmup", 0, "wait between registering and measuring (default: the longer interval + 5s)")
	flag.DurationVar(&c.Sample, "sample", 5*time.Second, "sampling period")
	flag.IntVar(&c.Healthy, "healthy", 10000, "healthy URLs (answer 200 at once)")
	flag.DurationVar(&c.HealthyInterval, "healthy-interval", 10*time.Second, "PROBE_INTERVAL, the healthy fleet's interval")
	flag.DurationVar(&c.HealthyTimeout, "healthy-timeout", 5*time.Second, "PROBE_TIMEOUT, the healthy fleet's timeout")
	flag.IntVar(&c.PerKind, "per-kind", 1000, "URLs of each hostile kind")
	flag.DurationVar(&c.HostileInterval, "hostile-interval", 5*time.Second, "interval of the hostile URLs")
	flag.DurationVar(&c.HostileTimeout, "hostile-timeout", time.Second, "timeout of the hostile URLs")
	flag.IntVar(&c.InFlight, "in-flight", 0, "MAX_PROBES_IN_FLIGHT (0: spo2's default)")
	flag.DurationVar(&c.Hold, "hold", 30*time.Second, "longest a hostile listener keeps a connection open; longer ones are counted")
	flag.IntVar(&c.HoldCap, "hold-cap", 2000, "most connections one hostile kind holds at once; more are closed at once and counted")
	flag.StringVar(&c.Bin, "spo2-bin", "", "use this spo2 binary instead of building the repository")
	flag.Var(&env, "env", "extra KEY=VALUE for spo2 (repeatable)")
	flag.StringVar(&c.Out, "out", "bench/out/soak.json", "JSON results file; a Markdown table is written beside it")
	flag.Parse()
	c.Env = env
	if c.Quick {
		def := spo2.UnlessGiven()
		def("duration", func() { c.Duration = 30 * time.Second })
		def("sample", func() { c.Sample = 2 * time.Second })
		def("healthy", func() { c.Healthy = 2000 })
		def("healthy-interval", func() { c.HealthyInterval = 2 * time.Second })
		def("healthy-timeout", func() { c.HealthyTimeout = time.Second })
		def("per-kind", func() { c.PerKind = 200 })
		def("hostile-interval", func() { c.HostileInterval = 2 * time.Second })
	}
	return c
}

// Results is everything one soak measured; it is written as JSON to -out.
type Results struct {
	Machine  proc.Machine      `json:"machine"`
	Config   Config            `json:"config"`
	Hostile  map[Kind]string   `json:"hostile_listeners"`
	Baseline *RunResult        `json:"baseline"`
	Attacked *RunResult        `json:"hostile"`
	Rows     []Row             `json:"rows"`
	Kinds    map[Kind]KindLine `json:"kinds"`
	Errors   []string          `json:"errors,omitempty"`
	Seconds  float64           `json:"seconds"`
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})))
	cfg := parseFlags()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Every wait inside has its own bound; this one bounds the whole.
	ctx, cancel := context.WithTimeout(ctx, 2*(cfg.Duration+cfg.warmup())+10*time.Minute)
	defer cancel()
	os.Exit(run(ctx, cfg))
}

// run returns the exit status: 1 only when the soak itself failed (spo2 did
// not build or start, a registration failed), never because of a figure.
func run(ctx context.Context, cfg Config) int {
	start := time.Now()
	res := &Results{Machine: proc.Describe(), Config: cfg}
	s := &Soak{cfg: cfg, outDir: filepath.Dir(cfg.Out), fdLimit: res.Machine.OpenFiles}
	if err := os.MkdirAll(s.outDir, 0o755); err != nil {
		slog.Error("create output dir", "err", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "spo2-soak-")
	if err != nil {
		slog.Error("temp dir", "err", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	s.tmp = tmp
	s.bin = cfg.Bin
	if s.bin == "" {
		slog.Info("building spo2")
		if s.bin, err = harness.Build(tmp); err != nil {
			slog.Error("build spo2", "err", err)
			return 1
		}
	}
	f, err := farm.Start(farm.Config{URLs: cfg.Healthy, Listeners: 4})
	if err != nil {
		slog.Error("start healthy farm", "err", err)
		return 1
	}
	defer f.Close()
	s.farm = f

	slog.Info("run 1 of 2: baseline, healthy fleet only", "healthy", cfg.Healthy, "duration", cfg.Duration)
	res.Baseline, err = s.run(ctx, "baseline", nil)
	if err != nil && res.Baseline != nil {
		res.Errors = append(res.Errors, err.Error())
	} else if err != nil {
		slog.Error("baseline run failed", "err", err)
		res.Errors = append(res.Errors, err.Error())
	}
	h, err := StartHostile(cfg.Hold, cfg.HoldCap)
	if err != nil {
		slog.Error("start hostile listeners", "err", err)
		return 1
	}
	res.Hostile = h.addr
	slog.Info("run 2 of 2: healthy fleet beside hostile targets", "healthy", cfg.Healthy, "hostile", cfg.PerKind*len(Kinds), "duration", cfg.Duration)
	res.Attacked, err = s.run(ctx, "hostile", h)
	h.Close()
	if err != nil && res.Attacked != nil { // spo2 ended early: a finding, not a soak failure
		res.Errors = append(res.Errors, err.Error())
	} else if err != nil {
		slog.Error("hostile run failed", "err", err)
		res.Errors = append(res.Errors, err.Error())
	}
	res.Rows = BuildRows(res.Baseline, res.Attacked)
	res.Kinds = BuildKinds(res.Attacked)
	res.Seconds = time.Since(start).Seconds()
	Print(os.Stdout, res)
	if err := writeOut(cfg.Out, res); err != nil {
		slog.Error("write results", "err", err)
		return 1
	}
	slog.Info("done", "results", cfg.Out, "elapsed", time.Since(start).Round(time.Second))
	if res.Baseline == nil || res.Attacked == nil {
		return 1
	}
	return 0
}

func writeOut(file string, res *Results) error {
	b, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	md := strings.TrimSuffix(file, ".json") + ".md"
	out, err := os.Create(md)
	if err != nil {
		return fmt.Errorf("create %s: %w", md, err)
	}
	defer out.Close()
	Markdown(out, res)
	return nil
}
