package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spo2/spo2/bench/internal/clock"
	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/scrape"
	"github.com/spo2/spo2/bench/internal/spo2"
)

// RunResult is one spo2 process measured for the whole soak: the baseline
// (healthy fleet only) or the hostile run (healthy fleet plus every hostile
// kind).
type RunResult struct {
	Name            string                    `json:"name"`
	HealthyURLs     int                       `json:"healthy_urls"`
	HostileURLs     int                       `json:"hostile_urls"`
	Registered      spo2.RegResult            `json:"registered"`
	WarmupSecs      float64                   `json:"warmup_seconds"`
	Samples         []Sample                  `json:"samples"`
	HealthyWindows  []farm.Window             `json:"healthy_windows"` // the farm's view of the healthy fleet, one per trend window
	LagP50ms        float64                   `json:"lag_p50_ms"`      // whole measured period, every URL
	LagP99ms        float64                   `json:"lag_p99_ms"`
	LagTopMs        float64                   `json:"lag_top_ms"`        // the histogram's largest finite bound: a quantile there means "at least"
	LatePct         float64                   `json:"late_pct"`          // whole measured period: share of probes started over 1 s late
	Probes          map[string]float64        `json:"probes_by_outcome"` // over the measured period
	Skipped         float64                   `json:"probes_skipped"`
	Alarms          AlarmCounts               `json:"alarms"`
	EndNotHealthy   int                       `json:"healthy_urls_not_healthy_at_end"` // from GET /all
	EndStates       map[string]map[string]int `json:"states_at_end"`                   // URL group → state[/error kind] → URLs
	Kinds           map[Kind]KindStats        `json:"hostile_server_side,omitempty"`
	HarnessCores    float64                   `json:"harness_cores"` // the soak process: farm, hostile listeners, sampling
	MachineCores    float64                   `json:"machine_busy_cores"`
	FDLimit         uint64                    `json:"open_files_limit"`
	FDFullAfter     float64                   `json:"fds_at_95pct_limit_after_s"` // first sample at ≥ 95 % of the limit; -1: never
	EndedAfter      float64                   `json:"ended_on_its_own_after_s"`   // spo2 exited before the end; -1: it did not
	EndedNote       string                    `json:"ended_note,omitempty"`
	ShutdownSecs    float64                   `json:"shutdown_seconds"`
	ShutdownError   string                    `json:"shutdown_error,omitempty"`
	trendWin        time.Duration
	healthyInterval time.Duration
}

// Soak holds what both runs share: the binary, the healthy farm, the config.
type Soak struct {
	cfg     Config
	bin     string
	tmp     string
	outDir  string
	farm    *farm.Farm
	fdLimit uint64 // spo2's open-files limit (it inherits the soak's)
}

func (s *Soak) env() []string {
	e := []string{"PROBE_INTERVAL=" + s.cfg.HealthyInterval.String(), "PROBE_TIMEOUT=" + s.cfg.HealthyTimeout.String()}
	if s.cfg.InFlight > 0 {
		e = append(e, fmt.Sprintf("MAX_PROBES_IN_FLIGHT=%d", s.cfg.InFlight))
	}
	return append(e, s.cfg.Env...)
}

// run starts a fresh spo2, registers the healthy fleet (and the hostile
// targets of h, when h is not nil), waits the warm-up, samples for the
// configured duration and stops spo2 with SIGTERM.
func (s *Soak) run(ctx context.Context, name string, h *Hostile) (*RunResult, error) {
	cfg := s.cfg
	r := &RunResult{Name: name, HealthyURLs: cfg.Healthy, trendWin: cfg.trendWindow(), healthyInterval: cfg.HealthyInterval,
		FDLimit: s.fdLimit, FDFullAfter: -1, EndedAfter: -1, LagP50ms: -1, LagP99ms: -1, LatePct: -1, Skipped: -1}
	sp, err := spo2.Start(ctx, name, s.bin, filepath.Join(s.tmp, name), s.env())
	if err != nil {
		return nil, err
	}
	defer sp.Kill(s.outDir)
	slog.Info("spo2 started", "run", name, "pid", sp.Pid())

	healthy := s.farm.URLs()
	actx, stopAlarms := context.WithCancel(ctx)
	defer stopAlarms()
	alarms, err := WatchAlarms(actx, sp.WSAddr(), healthy)
	if err != nil {
		return nil, fmt.Errorf("%s: websocket: %w", name, err)
	}
	items := make([]spo2.BulkItem, 0, len(healthy)+len(Kinds)*cfg.PerKind)
	for i, u := range healthy {
		items = append(items, spo2.BulkItem{URL: u, Data: map[string]any{"fleet": "healthy", "i": i}})
	}
	if h != nil {
		iv, to := cfg.HostileInterval.String(), cfg.HostileTimeout.String()
		for _, k := range Kinds {
			for _, u := range h.URLs(k, cfg.PerKind) {
				items = append(items, spo2.BulkItem{URL: u, Data: map[string]any{"fleet": string(k)}, Interval: iv, Timeout: to})
			}
		}
		r.HostileURLs = len(items) - len(healthy)
	}
	r.Registered = sp.BulkItems(items, 10000)
	slog.Info("registered", "run", name, "ok", r.Registered.OK, "errors", r.Registered.Errors, "first_error", r.Registered.FirstError)
	if r.Registered.OK < len(items) {
		return nil, fmt.Errorf("%s: registered %d of %d URLs: %s", name, r.Registered.OK, len(items), r.Registered.FirstError)
	}

	warm := cfg.warmup()
	r.WarmupSecs = warm.Seconds()
	slog.Info("warming up", "run", name, "for", warm)
	if err := clock.Sleep(ctx, warm); err != nil {
		return nil, err
	}

	t0 := time.Now()
	h0, _ := proc.Read(os.Getpid())
	m0 := proc.ReadMachine()
	first := takeSample(sp, t0, nil, alarms, h)
	r.Samples = append(r.Samples, first)
	mark := s.farm.BeginWindow(cfg.HealthyInterval)
	nextWin := t0.Add(r.trendWin)
	tick := time.NewTicker(cfg.Sample)
	defer tick.Stop()
	end := t0.Add(cfg.Duration)
	for time.Now().Before(end) && r.EndedAfter < 0 {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-sp.Exited():
			r.EndedAfter = time.Since(t0).Seconds()
			r.EndedNote = lastLines(sp.Logs(), 3)
			slog.Error("spo2 exited on its own", "run", name, "after_s", int(r.EndedAfter), "last_log", r.EndedNote)
			continue
		case <-tick.C:
		}
		prev := &r.Samples[len(r.Samples)-1]
		x := takeSample(sp, t0, prev, alarms, h)
		r.Samples = append(r.Samples, x)
		if !time.Now().Before(nextWin) {
			r.HealthyWindows = append(r.HealthyWindows, s.farm.EndWindow(mark, cfg.Healthy, cfg.HealthyInterval))
			mark = s.farm.BeginWindow(cfg.HealthyInterval)
			nextWin = nextWin.Add(r.trendWin)
		}
		if r.FDFullAfter < 0 && r.FDLimit > 0 && float64(x.FDs) >= 0.95*float64(r.FDLimit) {
			r.FDFullAfter = x.T
		}
		tcp := x.TCP
		slog.Info("sample", "run", name, "t", int(x.T), "fds", x.FDs, "goroutines", x.Goroutines, "rss_mb", x.RSS>>20,
			"est", tcp["ESTABLISHED"], "syn_sent", tcp["SYN_SENT"], "close_wait", tcp["CLOSE_WAIT"],
			"lag_p99_ms", fmt.Sprintf("%.1f", x.LagP99ms), "in_flight", x.InFlight, "false_alarms", x.FalseAlarms, "hostile_open", x.HostileOpen)
	}
	h1, _ := proc.Read(os.Getpid())
	r.HarnessCores, r.MachineCores = proc.CPUCores(h0, h1), proc.MachineBusy(m0, proc.ReadMachine())
	last := r.Samples[len(r.Samples)-1]
	if first.ScrapeError == "" && last.ScrapeError == "" {
		r.LagP50ms, r.LagP99ms = lagMs(first.m, last.m, 0.5), lagMs(first.m, last.m, 0.99)
		r.LagTopMs, r.LatePct = 1000*scrape.LagTop(last.m), latePct(first.m, last.m)
		r.Probes = map[string]float64{}
		for k, v := range last.m.Probes {
			r.Probes[k] = v - first.m.Probes[k]
		}
		r.Skipped = last.m.Skipped - first.m.Skipped
	}

	all, err := sp.All()
	if err != nil {
		slog.Warn("final /all", "run", name, "err", err)
	}
	r.EndNotHealthy, r.EndStates = endStates(all, healthy)
	if h != nil {
		r.Kinds = h.Stats()
	}
	stopAlarms()
	alarms.Wait(5 * time.Second)
	r.Alarms = alarms.Counts()
	if r.EndedAfter >= 0 {
		r.ShutdownSecs, r.ShutdownError = -1, fmt.Sprintf("spo2 exited on its own after %.0f s", r.EndedAfter)
		return r, errors.New(name + ": " + r.ShutdownError + "; last log lines: " + r.EndedNote)
	}
	d, err := sp.Stop(s.outDir)
	r.ShutdownSecs = d.Seconds()
	if err != nil {
		r.ShutdownError = err.Error()
	}
	if len(r.Samples) < 2 {
		return r, errors.New(name + ": fewer than two samples")
	}
	return r, nil
}

// lastLines returns the last n lines of logs that are not the standard
// library's per-connection noise.
func lastLines(logs string, n int) string {
	var keep []string
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	for i := len(lines) - 1; i >= 0 && len(keep) < n; i-- {
		if strings.Contains(lines[i], "Unsolicited response") || strings.Contains(lines[i], `msg="state changed"`) {
			continue
		}
		keep = append([]string{lines[i]}, keep...)
	}
	return strings.Join(keep, " | ")
}

// endStates counts the final states by URL group: "healthy" or the hostile
// kind (read from the URL's path).
func endStates(all []spo2.State, healthy []string) (int, map[string]map[string]int) {
	isHealthy := make(map[string]bool, len(healthy))
	for _, u := range healthy {
		isHealthy[u] = true
	}
	notHealthy := 0
	out := map[string]map[string]int{}
	for _, rec := range all {
		group := "healthy"
		if !isHealthy[rec.URL] {
			group = kindOf(rec.URL)
		} else if rec.Status.State != "healthy" {
			notHealthy++
		}
		st := rec.Status.State
		if rec.Status.ErrorKind != "" {
			st += "/" + rec.Status.ErrorKind
		}
		if out[group] == nil {
			out[group] = map[string]int{}
		}
		out[group][st]++
	}
	return notHealthy, out
}

func kindOf(url string) string {
	for _, k := range Kinds {
		if strings.Contains(url, "/"+string(k)+"/") {
			return string(k)
		}
	}
	return "other"
}

// window selects the samples of the first or last trend window.
func (r *RunResult) window(last bool) []Sample {
	if len(r.Samples) == 0 {
		return nil
	}
	end := r.Samples[len(r.Samples)-1].T
	w := r.trendWin.Seconds()
	var out []Sample
	for _, x := range r.Samples {
		if (!last && x.T <= w+0.5) || (last && x.T >= end-w-0.5) {
			out = append(out, x)
		}
	}
	return out
}

// windowLate is the share of probes started over 1 s late across a trend
// window.
func windowLate(xs []Sample) float64 {
	if len(xs) < 2 || xs[0].ScrapeError != "" || xs[len(xs)-1].ScrapeError != "" {
		return -1
	}
	return latePct(xs[0].m, xs[len(xs)-1].m)
}

// windowLag is the p99 schedule lag across a trend window, from the scrapes
// at its two ends.
func windowLag(xs []Sample) float64 {
	if len(xs) < 2 || xs[0].ScrapeError != "" || xs[len(xs)-1].ScrapeError != "" {
		return -1
	}
	return lagMs(xs[0].m, xs[len(xs)-1].m, 0.99)
}
