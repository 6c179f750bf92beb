package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spo2/spo2/bench/internal/spo2"
	"github.com/spo2/spo2/e2e/harness"
)

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
		view := fmt.Sprintf("owns %.0f, sees %v", m.OwnedURLs, ms)
		if err := errors.Join(err, err2); err != nil {
			view += fmt.Sprintf(" (%v)", err)
		}
		views = append(views, view)
	}
	return fmt.Errorf("after %s the members do not own %d URLs together: %s", timeout, n, strings.Join(views, "; "))
}
