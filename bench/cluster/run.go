package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spo2/spo2/bench/internal/etcd"
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
	etcd   *etcd.Server
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
	if b.etcd, err = etcd.Start(ctx, filepath.Join(tmp, "etcd"), 30*time.Second); err != nil {
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

// killOnCancel kills every child as soon as ctx ends before close, and
// says so when etcd exits before close (nothing in cluster mode can work
// after that).
func (b *bench) killOnCancel(ctx context.Context) {
	select {
	case <-b.done:
	case <-b.etcd.Exited():
		slog.Error("etcd exited during the run", "status", b.etcd.ExitErr(), "logs", harness.Tail(b.etcd.Logs(), 20))
		b.mu.Lock()
		b.res.Errors = append(b.res.Errors, fmt.Sprintf("etcd exited during the run: %v", b.etcd.ExitErr()))
		b.mu.Unlock()
		select {
		case <-b.done:
			return
		case <-ctx.Done():
		}
		b.killAll()
	case <-ctx.Done():
		b.killAll()
	}
}

func (b *bench) killAll() {
	slog.Warn("interrupted: killing every child process")
	b.mu.Lock()
	for s := range b.live {
		s.Kill(b.outDir)
	}
	b.mu.Unlock()
	b.etcd.Stop()
}

// close stops every child still running, the farm and etcd, and removes
// the temp directory.
func (b *bench) close() {
	close(b.done)
	b.mu.Lock()
	var live []*spo2.Instance
	for s := range b.live {
		live = append(live, s)
	}
	b.mu.Unlock()
	b.stop(live)
	b.etcd.Stop()
	if err := os.WriteFile(filepath.Join(b.outDir, "etcd.log"), []byte(b.etcd.Logs()), 0o644); err != nil {
		slog.Warn("save etcd logs", "err", err)
	}
	b.farm.Close()
	os.RemoveAll(b.tmp)
}

func stopInstance(s *spo2.Instance, logDir string) {
	select {
	case <-s.Exited():
		s.Kill(logDir) // only saves the logs
	default:
		d, err := s.Stop(logDir)
		if err != nil {
			slog.Warn("spo2 did not stop cleanly", "err", err)
		}
		slog.Debug("spo2 stopped", "in", d.Round(time.Millisecond))
	}
}

func (b *bench) fail(what string, err error) {
	slog.Error(what, "err", err)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.res.Errors = append(b.res.Errors, what+": "+err.Error())
}

// start starts one spo2 named name (its logs: spo2-<name>.log) and tracks it.
func (b *bench) start(ctx context.Context, name string, env []string) (*spo2.Instance, error) {
	s, err := spo2.Start(ctx, name, b.bin, filepath.Join(b.tmp, name), append(env, b.cfg.Env...))
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.live[s] = true
	b.mu.Unlock()
	return s, nil
}

// stop stops the given instances, all at once (a cluster member may take
// seconds to leave), and forgets them.
func (b *bench) stop(insts []*spo2.Instance) {
	b.mu.Lock()
	for _, s := range insts {
		delete(b.live, s)
	}
	b.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range insts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stopInstance(s, b.outDir)
		}()
	}
	wg.Wait()
}

// startNodes starts one single-node spo2 (members == 0) or a cluster of
// members named m1…mN under the etcd prefix name, and returns once every
// member's /healthz lists all of them.
func (b *bench) startNodes(ctx context.Context, name string, members int, env []string) ([]*spo2.Instance, error) {
	if members == 0 {
		s, err := b.start(ctx, name, env)
		if err != nil {
			return nil, err
		}
		return []*spo2.Instance{s}, nil
	}
	select {
	case <-b.etcd.Exited():
		return nil, fmt.Errorf("etcd is gone (%v)", b.etcd.ExitErr())
	default:
	}
	var insts []*spo2.Instance
	for i := 1; i <= members; i++ {
		m := fmt.Sprintf("m%d", i)
		s, err := b.start(ctx, name+"-"+m, append([]string{
			"CLUSTER_ETCD=" + b.etcd.Endpoint, "CLUSTER_NAME=" + name, "CLUSTER_MEMBER=" + m,
		}, env...))
		if err != nil {
			b.stop(insts)
			return nil, err
		}
		insts = append(insts, s)
	}
	formed := poll(ctx, time.Minute, 100*time.Millisecond, func() bool {
		for _, s := range insts {
			if ms, err := s.Members(); err != nil || len(ms) != members {
				return false
			}
		}
		return true
	})
	if !formed {
		b.stop(insts)
		return nil, fmt.Errorf("cluster %s: the %d members did not all see each other within a minute", name, members)
	}
	return insts, nil
}

// awaitOwned waits until the members together own n URLs (every member's
// read model holds the whole registry, and they agree on who is a member);
// on a single node it returns at once. Its error names what each member
// owns and sees.
func awaitOwned(ctx context.Context, insts []*spo2.Instance, n int, timeout time.Duration) error {
	if len(insts) < 2 {
		return nil
	}
	ok := poll(ctx, timeout, 200*time.Millisecond, func() bool {
		var sum float64
		for _, s := range insts {
			m, err := s.Metrics()
			if err != nil {
				return false
			}
			sum += m.OwnedURLs
		}
		return sum == float64(n)
	})
	if ok {
		return nil
	}
	var views []string
	for _, s := range insts {
		m, err := s.Metrics()
		ms, err2 := s.Members()
		views = append(views, fmt.Sprintf("owns %.0f, sees %v (%v)", m.OwnedURLs, ms, errors.Join(err, err2)))
	}
	return fmt.Errorf("after %s the members do not own %d URLs together: %s", timeout, n, strings.Join(views, "; "))
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
