package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/spo2"
)

// idle registers the fleet with nothing probing (PROBE_INTERVAL=24h): the
// first puts URLs by PUT, spread over the members, the rest by POST /bulk to
// the first member; then memory per URL on every member.
func (b *bench) idle(ctx context.Context, name string, members int, sz Size) (*IdleResult, error) {
	insts, err := b.startNodes(ctx, name, members, b.env(24*time.Hour))
	if err != nil {
		return nil, err
	}
	defer b.stop(insts)
	if err := sleep(ctx, time.Second); err != nil {
		return nil, err
	}
	empty, err := rss(insts)
	if err != nil {
		return nil, err
	}
	all, urls := ids(sz.URLs), b.farm.URLs()
	puts := min(b.cfg.Puts, sz.URLs/2)
	r := &IdleResult{}
	r.Put = spo2.PutSpread(insts, urls, all[:puts], b.cfg.PutConc)
	r.Bulk = insts[0].Bulk(urls, all[puts:], b.cfg.BulkChunk)
	slog.Info("registered", "nodes", name, "put_per_sec", int(r.Put.PerSec), "bulk_per_sec", int(r.Bulk.PerSec),
		"put_errors", r.Put.Errors, "bulk_errors", r.Bulk.Errors)
	if r.Bulk.OK == 0 {
		return r, fmt.Errorf("%w: %s", errNothing, r.Bulk.FirstError)
	}
	if err := awaitOwned(ctx, insts, r.Put.OK+r.Bulk.OK, 5*time.Minute); err != nil {
		return r, err
	}
	if err := sleep(ctx, b.cfg.Settle); err != nil {
		return r, err
	}
	full, err := rss(insts)
	if err != nil {
		return r, err
	}
	for i := range insts {
		r.RSSEmptyMiB = append(r.RSSEmptyMiB, mib(empty[i]))
		r.RSSPerURLKiB = append(r.RSSPerURLKiB, float64(full[i]-empty[i])/1024/float64(sz.URLs))
	}
	return r, nil
}

// probe registers the fleet by POST /bulk with PROBE_INTERVAL set, waits
// one interval and 2 s, and measures a window: the farm's rate, each
// member's share, CPU of every process (etcd's too in a cluster) and
// memory. A cluster then loses its last member to kill -9 (failover).
func (b *bench) probe(ctx context.Context, name string, members int, sz Size) (*ProbeResult, *Failover, error) {
	insts, err := b.startNodes(ctx, name, members, b.env(sz.Interval))
	if err != nil {
		return nil, nil, err
	}
	defer b.stop(insts)
	if err := sleep(ctx, time.Second); err != nil {
		return nil, nil, err
	}
	empty, err := rss(insts)
	if err != nil {
		return nil, nil, err
	}
	r := &ProbeResult{}
	r.Bulk = insts[0].Bulk(b.farm.URLs(), ids(sz.URLs), b.cfg.BulkChunk)
	if r.Bulk.OK == 0 {
		return r, nil, fmt.Errorf("%w: %s", errNothing, r.Bulk.FirstError)
	}
	if err := awaitOwned(ctx, insts, r.Bulk.OK, 5*time.Minute); err != nil {
		return r, nil, err
	}
	if err := sleep(ctx, sz.Interval+2*time.Second); err != nil {
		return r, nil, err
	}

	pids := map[string]int{}
	for i, s := range insts {
		pids[memberName(members, i)] = s.Pid()
	}
	if members > 0 {
		pids["etcd"] = b.etcd.Pid()
	}
	before := readAll(pids)
	counts0 := b.farm.MemberCounts()
	mark := b.farm.BeginWindow(sz.Interval)
	if err := sleep(ctx, b.cfg.Window); err != nil {
		return r, nil, err
	}
	r.Window = b.farm.EndWindow(mark, visible(b.farm, sz.URLs), sz.Interval)
	after := readAll(pids)
	counts1 := b.farm.MemberCounts()
	if r.Window.Requests == 0 {
		return r, nil, fmt.Errorf("the farm saw no probe in the window")
	}
	r.Cores = map[string]float64{}
	var cpu time.Duration
	for who, a := range before {
		if z, ok := after[who]; ok {
			r.Cores[who] = proc.CPUCores(a, z)
			cpu += z.CPU - a.CPU
		}
	}
	r.CPUPerProbeUS = float64(cpu.Microseconds()) / float64(r.Window.Requests)
	if members > 0 {
		r.PerMemberPerSec = map[string]float64{}
		for m, n := range counts1 {
			r.PerMemberPerSec[m] = float64(n-counts0[m]) / r.Window.Seconds
		}
		r.Owned = map[string]float64{}
		for i, s := range insts {
			if m, err := s.Metrics(); err == nil {
				r.Owned[memberName(members, i)] = m.OwnedURLs
			}
		}
	}
	full, err := rss(insts)
	if err != nil {
		return r, nil, err
	}
	for i := range insts {
		r.RSSPerURLKiB = append(r.RSSPerURLKiB, float64(full[i]-empty[i])/1024/float64(sz.URLs))
	}
	if members == 0 {
		return r, nil, nil
	}
	fo, err := b.failover(ctx, insts, sz)
	return r, fo, err
}

func memberName(members, i int) string {
	if members == 0 {
		return "spo2"
	}
	return fmt.Sprintf("m%d", i+1)
}

func readAll(pids map[string]int) map[string]proc.Sample {
	out := map[string]proc.Sample{}
	for who, pid := range pids {
		if s, err := proc.Read(pid); err == nil {
			out[who] = s
		}
	}
	return out
}

// failover kills the last member with SIGKILL and times, from the kill,
// (a) until every survivor's /healthz stops listing it and (b) until every
// URL it probed last has been probed again by a survivor, as the farm saw
// it. It gives up after three intervals and a minute.
func (b *bench) failover(ctx context.Context, insts []*spo2.Instance, sz Size) (*Failover, error) {
	victim := memberName(len(insts), len(insts)-1)
	owned := b.farm.LastProbedBy(victim, sz.URLs)
	fo := &Failover{Member: victim, URLs: len(owned), DetectedS: -1, AllReprobedS: -1}
	if len(owned) == 0 {
		return fo, fmt.Errorf("fail-over: the farm saw no probe from %s", victim)
	}
	survivors := insts[:len(insts)-1]
	slog.Info("fail-over: kill -9", "member", victim, "urls_it_probed", len(owned))
	killed := time.Now()
	insts[len(insts)-1].Kill(b.outDir)

	pending := map[int]bool{}
	for _, id := range owned {
		pending[id] = true
	}
	var delays []float64
	nextHealth := time.Now()
	poll(ctx, 3*sz.Interval+time.Minute, 50*time.Millisecond, func() bool {
		if fo.DetectedS < 0 && !time.Now().Before(nextHealth) {
			nextHealth = time.Now().Add(200 * time.Millisecond)
			if gone(survivors, victim) {
				fo.DetectedS = time.Since(killed).Seconds()
			}
		}
		for id := range pending {
			at, by, ok := b.farm.LastProbe(id)
			if ok && at.After(killed) && by != victim {
				delays = append(delays, at.Sub(killed).Seconds())
				delete(pending, id)
			}
		}
		return len(pending) == 0 && fo.DetectedS >= 0
	})
	fo.Missing = len(pending)
	if len(delays) > 0 {
		sort.Float64s(delays)
		fo.FirstReprobeS = delays[0]
		fo.MedianReprobeS = delays[len(delays)/2]
		if fo.Missing == 0 {
			fo.AllReprobedS = delays[len(delays)-1]
		}
	}
	slog.Info("fail-over", "detected_s", fo.DetectedS, "all_reprobed_s", fo.AllReprobedS, "missing", fo.Missing)
	return fo, nil
}

// gone reports whether no survivor lists member any more.
func gone(survivors []*spo2.Instance, member string) bool {
	for _, s := range survivors {
		ms, err := s.Members()
		if err != nil {
			return false
		}
		for _, m := range ms {
			if m == member {
				return false
			}
		}
	}
	return true
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
