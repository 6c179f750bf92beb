package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/spo2"
	"github.com/spo2/spo2/e2e/harness"
)

// bench is one run: the farm, etcd, the spo2 binary and every process
// started, which close stops (and which are killed at once when the run's
// context ends, e.g. on Ctrl-C).
type bench struct {
	cfg    Config
	farm   *farm.Farm
	etcd   *harness.Etcd
	tmp    string
	outDir string
	bin    string
	res    *Results

	mu   sync.Mutex
	live map[*spo2.Instance]bool
	done chan struct{}
}

// newBench starts the farm (sized for the largest fleet) and etcd, and
// builds spo2.
func newBench(ctx context.Context, cfg Config) (*bench, error) {
	b := &bench{cfg: cfg, outDir: filepath.Dir(cfg.Out), live: map[*spo2.Instance]bool{}, done: make(chan struct{})}
	b.res = &Results{Machine: proc.Describe(), Config: cfg}
	if err := os.MkdirAll(b.outDir, 0o755); err != nil {
		return nil, fmt.Errorf("create output dir: %w", err)
	}
	tmp, err := os.MkdirTemp("", "spo2-cluster-")
	if err != nil {
		return nil, fmt.Errorf("temp dir: %w", err)
	}
	b.tmp = tmp
	largest := 0
	for _, s := range cfg.Sizes {
		largest = max(largest, s.URLs)
	}
	slog.Info("starting farm", "urls", largest, "listeners", cfg.Listeners)
	b.farm, err = farm.Start(farm.Config{
		URLs: largest, Listeners: cfg.Listeners,
		Share503: 0.05, ShareSlow: 0.002, ShareRefused: 0.005, SlowFor: cfg.Timeout + time.Second,
	})
	if err != nil {
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("start farm: %w", err)
	}
	slog.Info("starting etcd")
	if b.etcd, err = harness.LaunchEtcd(filepath.Join(tmp, "etcd")); err != nil {
		b.farm.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	go b.killOnCancel(ctx)
	if b.bin = cfg.Bin; b.bin == "" {
		slog.Info("building spo2")
		if b.bin, err = harness.Build(tmp); err != nil {
			b.close()
			return nil, fmt.Errorf("build spo2: %w", err)
		}
	}
	return b, nil
}

func (b *bench) fail(what string, err error) {
	slog.Error(what, "err", err)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.res.Errors = append(b.res.Errors, what+": "+err.Error())
}

// poll calls cond every step until it holds, timeout passes or ctx ends.
func poll(ctx context.Context, timeout, step time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(step):
		}
	}
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// run measures every size in turn. A size that fails is recorded and the
// next one still runs (a cluster that did not converge at one size may at
// another); the error returned is the first failure.
func (b *bench) run(ctx context.Context) error {
	var first error
	for i, sz := range b.cfg.Sizes {
		r, err := b.runSize(ctx, i, sz)
		if r != nil {
			b.res.Sizes = append(b.res.Sizes, r)
		}
		if err != nil {
			b.fail(fmt.Sprintf("%d URLs @ %s", sz.URLs, sz.Interval), err)
			first = cmp.Or(first, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	return first
}

// runSize measures one fleet: idle registration and memory, then probing,
// each on a single node and on the cluster, then fail-over.
func (b *bench) runSize(ctx context.Context, i int, sz Size) (*SizeResult, error) {
	r := &SizeResult{Size: sz, Visible: visible(b.farm, sz.URLs)}
	for _, mode := range []struct {
		members int
		into    *ModeResult
	}{{0, &r.Single}, {b.cfg.Members, &r.Cluster}} {
		name := fmt.Sprintf("s%d-idle-%s", i, modeName(mode.members))
		slog.Info("idle: registering", "urls", sz.URLs, "nodes", name)
		idle, err := b.idle(ctx, name, mode.members, sz)
		if err != nil {
			return r, fmt.Errorf("%s: %w", name, err)
		}
		mode.into.Idle = idle
	}
	for _, mode := range []struct {
		members int
		into    *ModeResult
	}{{0, &r.Single}, {b.cfg.Members, &r.Cluster}} {
		name := fmt.Sprintf("s%d-probe-%s", i, modeName(mode.members))
		slog.Info("probing", "urls", sz.URLs, "interval", sz.Interval, "nodes", name)
		probe, fo, err := b.probe(ctx, name, mode.members, sz)
		if err != nil {
			return r, fmt.Errorf("%s: %w", name, err)
		}
		mode.into.Probe = probe
		if fo != nil {
			r.Failover = fo
		}
	}
	return r, nil
}

func modeName(members int) string {
	if members == 0 {
		return "single"
	}
	return "cluster"
}

func visible(f *farm.Farm, n int) int {
	v := 0
	for id := range n {
		if f.Behavior(id) != farm.Refused {
			v++
		}
	}
	return v
}

func (b *bench) env(interval time.Duration) []string {
	return []string{
		"PROBE_INTERVAL=" + interval.String(),
		"PROBE_TIMEOUT=" + b.cfg.Timeout.String(),
		fmt.Sprintf("MAX_PROBES_IN_FLIGHT=%d", b.cfg.InFlight),
	}
}

func ids(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// rss reads the resident memory of every instance.
func rss(insts []*spo2.Instance) ([]int64, error) {
	out := make([]int64, len(insts))
	for i, s := range insts {
		p, err := proc.Read(s.Pid())
		if err != nil {
			return nil, err
		}
		out[i] = p.RSS
	}
	return out, nil
}

var errNothing = errors.New("nothing registered")
