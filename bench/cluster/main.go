// Command cluster measures SpO₂'s cluster mode against a single node in one
// run: one etcd, three spo2 members and the loopback target farm, beside one
// single-node spo2 on the same URLs and interval. It reports the probe rate
// per member, fail-over time after kill -9 of a member, durable PUT and
// POST /bulk rates through etcd and through Badger, and memory per URL per
// member. Every process shares the machine's cores, so figures are given as
// ratios to the single node of the same run. See docs/performance.md,
// "Cluster mode".
//
//	go run ./bench/cluster -quick                              # CI smoke test, well under a minute
//	go run ./bench/cluster                                     # the full run: 10,000 @ 10 s, 100,000 @ 30 s and @ 10 s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spo2/spo2/bench/internal/spo2"
)

// Size is one measured fleet: URLs registered and their probe interval.
type Size struct {
	URLs     int           `json:"urls"`
	Interval time.Duration `json:"interval"`
}

// Config is every knob of a run.
type Config struct {
	Quick     bool          `json:"quick"`
	Sizes     []Size        `json:"sizes"`
	Members   int           `json:"members"`
	Timeout   time.Duration `json:"timeout"`
	InFlight  int           `json:"max_probes_in_flight"`
	Listeners int           `json:"listeners"`
	Window    time.Duration `json:"window"`
	Settle    time.Duration `json:"settle"`
	Puts      int           `json:"puts"`
	PutConc   int           `json:"put_concurrency"`
	BulkChunk int           `json:"bulk_chunk"`
	Bin       string        `json:"spo2_bin"`
	Env       []string      `json:"spo2_env"`
	Out       string        `json:"-"`
}

func parseSizes(v string) ([]Size, error) {
	var out []Size
	for _, part := range strings.Split(v, ",") {
		n, iv, ok := strings.Cut(strings.TrimSpace(part), "@")
		if !ok {
			return nil, fmt.Errorf("size %q: want URLS@INTERVAL, e.g. 10000@10s", part)
		}
		urls, err := strconv.Atoi(n)
		if err != nil || urls < 10 {
			return nil, fmt.Errorf("size %q: URLs must be a number ≥ 10", part)
		}
		d, err := time.ParseDuration(iv)
		if err != nil || d < 500*time.Millisecond {
			return nil, fmt.Errorf("size %q: interval must be a duration ≥ 500ms", part)
		}
		out = append(out, Size{URLs: urls, Interval: d})
	}
	return out, nil
}

func parseFlags() (Config, error) {
	var c Config
	var env spo2.EnvFlag
	var sizes string
	flag.BoolVar(&c.Quick, "quick", false, "CI smoke test: one small fleet, short windows; overrides sizes and durations not given explicitly")
	flag.StringVar(&sizes, "sizes", "10000@10s,100000@30s,100000@10s", "fleets to measure, URLS@INTERVAL, comma-separated")
	flag.IntVar(&c.Members, "members", 3, "cluster members")
	flag.DurationVar(&c.Timeout, "timeout", 2*time.Second, "PROBE_TIMEOUT")
	flag.IntVar(&c.InFlight, "in-flight", 1024, "MAX_PROBES_IN_FLIGHT of every spo2")
	flag.IntVar(&c.Listeners, "listeners", 1000, "farm listeners (distinct host:port pairs)")
	flag.DurationVar(&c.Window, "window", 20*time.Second, "probe-rate measurement window")
	flag.DurationVar(&c.Settle, "settle", 5*time.Second, "wait after registering before reading idle memory")
	flag.IntVar(&c.Puts, "puts", 2000, "URLs registered by PUT (the rest by POST /bulk)")
	flag.IntVar(&c.PutConc, "put-conc", 64, "concurrent PUT requests (spread over the members in cluster mode)")
	flag.IntVar(&c.BulkChunk, "bulk-chunk", 10000, "items per POST /bulk (at most 10,000)")
	flag.StringVar(&c.Bin, "spo2-bin", "", "use this spo2 binary instead of building the repository")
	flag.Var(&env, "env", "extra KEY=VALUE for every spo2 (repeatable)")
	flag.StringVar(&c.Out, "out", "bench/out/cluster.json", "JSON results file (a Markdown copy of the table goes beside it)")
	flag.Parse()
	c.Env = env
	if c.Quick {
		def := spo2.UnlessGiven()
		def("sizes", func() { sizes = "1000@1s" })
		def("timeout", func() { c.Timeout = 500 * time.Millisecond })
		def("listeners", func() { c.Listeners = 100 })
		def("window", func() { c.Window = 3 * time.Second })
		def("settle", func() { c.Settle = time.Second })
		def("puts", func() { c.Puts = 200 })
	}
	var err error
	if c.Sizes, err = parseSizes(sizes); err != nil {
		return c, err
	}
	if c.Members < 2 {
		return c, fmt.Errorf("-members %d: a cluster needs at least 2", c.Members)
	}
	c.BulkChunk = min(max(c.BulkChunk, 1), 10000)
	return c, nil
}

func main() {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})))
	cfg, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, cfg))
}

// run measures every size and returns the exit status: 1 only when the
// harness itself failed (etcd or spo2 did not start, nothing registered,
// the farm saw no probe), never because a figure is poor.
func run(ctx context.Context, cfg Config) int {
	start := time.Now()
	b, err := newBench(ctx, cfg)
	if err != nil {
		slog.Error("harness setup failed", "err", err)
		return 1
	}
	defer b.close()
	fatal := b.run(ctx)
	if err := b.report(os.Stdout); err != nil {
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
