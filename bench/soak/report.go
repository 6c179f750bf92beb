package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/table"
)

// Row is one figure of both runs: the mean over the first and the last trend
// window (or, for whole-run figures, one value in Last), the hostile run's
// peak, and the ratios. -1 means not measured.
type Row struct {
	Figure    string  `json:"figure"`
	Unit      string  `json:"unit"`
	BaseFirst float64 `json:"baseline_first"`
	BaseLast  float64 `json:"baseline_last"`
	HostFirst float64 `json:"hostile_first"`
	HostLast  float64 `json:"hostile_last"`
	HostPeak  float64 `json:"hostile_peak"`
	Ratio     float64 `json:"ratio_hostile_to_baseline"` // last window
	Trend     float64 `json:"trend_hostile_last_to_first"`
	AtLeast   float64 `json:"at_least,omitempty"` // a value at this bound means "at least" (the histogram's top bucket)
}

func mean(xs []Sample, f func(Sample) float64) float64 {
	var sum float64
	n := 0
	for _, x := range xs {
		if v := f(x); v >= 0 && !math.IsNaN(v) {
			sum += v
			n++
		}
	}
	if n == 0 {
		return -1
	}
	return sum / float64(n)
}

func peak(xs []Sample, f func(Sample) float64) float64 {
	p := -1.0
	for _, x := range xs {
		if v := f(x); !math.IsNaN(v) && v > p {
			p = v
		}
	}
	return p
}

func ratio(a, b float64) float64 {
	if a < 0 || b <= 0 {
		return -1
	}
	return a / b
}

func (r *Row) finish() *Row {
	r.Ratio = ratio(r.HostLast, r.BaseLast)
	r.Trend = ratio(r.HostLast, r.HostFirst)
	return r
}

// BuildRows compares the two runs; either may be nil (its columns are -1).
func BuildRows(base, host *RunResult) []Row {
	var rows []Row
	gauge := func(fig, unit string, f func(Sample) float64) {
		r := Row{Figure: fig, Unit: unit, BaseFirst: -1, BaseLast: -1, HostFirst: -1, HostLast: -1, HostPeak: -1}
		if base != nil {
			r.BaseFirst, r.BaseLast = mean(base.window(false), f), mean(base.window(true), f)
		}
		if host != nil {
			r.HostFirst, r.HostLast, r.HostPeak = mean(host.window(false), f), mean(host.window(true), f), peak(host.Samples, f)
		}
		rows = append(rows, *r.finish())
	}
	top := 0.0
	for _, r := range []*RunResult{base, host} {
		if r != nil {
			top = max(top, r.LagTopMs)
		}
	}
	windowed := func(fig, unit string, f func(*RunResult, bool) float64, pk func(*RunResult) float64) *Row {
		r := Row{Figure: fig, Unit: unit, BaseFirst: -1, BaseLast: -1, HostFirst: -1, HostLast: -1, HostPeak: -1}
		if base != nil {
			r.BaseFirst, r.BaseLast = f(base, false), f(base, true)
		}
		if host != nil {
			r.HostFirst, r.HostLast = f(host, false), f(host, true)
			if pk != nil {
				r.HostPeak = pk(host)
			}
		}
		rows = append(rows, *r.finish())
		return &rows[len(rows)-1]
	}
	total := func(fig, unit string, f func(*RunResult) float64) *Row {
		r := Row{Figure: fig, Unit: unit, BaseFirst: -1, BaseLast: -1, HostFirst: -1, HostLast: -1, HostPeak: -1, Trend: -1}
		if base != nil {
			r.BaseLast = f(base)
		}
		if host != nil {
			r.HostLast = f(host)
		}
		r.Ratio = ratio(r.HostLast, r.BaseLast)
		rows = append(rows, r)
		return &rows[len(rows)-1]
	}
	gauge("open fds", "count", func(x Sample) float64 { return float64(x.FDs) })
	gauge("TCP sockets ESTABLISHED", "count", func(x Sample) float64 { return tcp(x, "ESTABLISHED") })
	gauge("TCP sockets SYN_SENT", "count", func(x Sample) float64 { return tcp(x, "SYN_SENT") })
	gauge("TCP sockets CLOSE_WAIT", "count", func(x Sample) float64 { return tcp(x, "CLOSE_WAIT") })
	gauge("goroutines", "count", func(x Sample) float64 { return nonNeg(x.Goroutines, x.ScrapeError) })
	gauge("RSS", "MiB", func(x Sample) float64 { return float64(x.RSS) / (1 << 20) })
	gauge("Go heap in use", "MiB", func(x Sample) float64 { return nonNeg(x.Heap, x.ScrapeError) / (1 << 20) })
	gauge("probes in flight", "count", func(x Sample) float64 { return nonNeg(x.InFlight, x.ScrapeError) })
	gauge("probes per second", "1/s", func(x Sample) float64 { return x.ProbesPerSec })
	gauge("CPU of spo2", "cores", func(x Sample) float64 { return x.CPUCores })
	windowed("schedule lag p99, every URL (/metrics)", "ms",
		func(r *RunResult, last bool) float64 { return windowLag(r.window(last)) },
		func(r *RunResult) float64 { return peak(r.Samples, func(x Sample) float64 { return x.LagP99ms }) }).AtLeast = top
	windowed("probes started over 1 s late, every URL (/metrics)", "%",
		func(r *RunResult, last bool) float64 { return windowLate(r.window(last)) },
		func(r *RunResult) float64 { return peak(r.Samples, func(x Sample) float64 { return x.LatePct }) })
	healthy := func(f func(w farm.Window) float64) func(*RunResult, bool) float64 {
		return func(r *RunResult, last bool) float64 {
			if len(r.HealthyWindows) == 0 {
				return -1
			}
			w := r.HealthyWindows[0]
			if last {
				w = r.HealthyWindows[len(r.HealthyWindows)-1]
			}
			return f(w)
		}
	}
	windowed("healthy fleet: inter-arrival |Δ−interval| p99 (farm)", "ms",
		healthy(func(w farm.Window) float64 { return w.Deviation.P99ms }),
		func(r *RunResult) float64 {
			p := -1.0
			for _, w := range r.HealthyWindows {
				p = max(p, w.Deviation.P99ms)
			}
			return p
		})
	windowed("healthy fleet: scheduled probes done (farm)", "%", healthy(func(w farm.Window) float64 { return w.AchievedPct }), nil)
	total("schedule lag p99 over the whole run (/metrics)", "ms", func(r *RunResult) float64 { return r.LagP99ms }).AtLeast = top
	total("probes started over 1 s late over the whole run (/metrics)", "%", func(r *RunResult) float64 { return r.LatePct })
	total("false alarms: healthy URLs ever reported not healthy", "URLs", func(r *RunResult) float64 { return float64(r.Alarms.FalseAlarmURLs) })
	total("healthy URLs not healthy at the end (/all)", "URLs", func(r *RunResult) float64 { return float64(r.EndNotHealthy) })
	total("probes skipped (tick while running)", "count", func(r *RunResult) float64 { return r.Skipped })
	total("SIGTERM → exit", "s", func(r *RunResult) float64 { return r.ShutdownSecs })
	total("fds reached 95 % of the open-files limit after (— never)", "s", func(r *RunResult) float64 { return r.FDFullAfter })
	total("spo2 ended on its own after (— never)", "s", func(r *RunResult) float64 { return r.EndedAfter })
	total("CPU of the soak process (farm, hostile listeners)", "cores", func(r *RunResult) float64 { return r.HarnessCores })
	total("whole machine busy (every process)", "cores", func(r *RunResult) float64 { return r.MachineCores })
	return rows
}

func tcp(x Sample, st string) float64 {
	if x.TCP == nil {
		return -1
	}
	return float64(x.TCP[st])
}

func nonNeg(v float64, scrapeErr string) float64 {
	if scrapeErr != "" {
		return -1
	}
	return v
}

// KindLine is one hostile kind: what its listener saw and where spo2 left
// its URLs.
type KindLine struct {
	KindStats
	EndStates map[string]int `json:"states_at_end"`
}

// BuildKinds gathers the hostile run's per-kind figures.
func BuildKinds(host *RunResult) map[Kind]KindLine {
	if host == nil {
		return nil
	}
	out := map[Kind]KindLine{}
	for _, k := range Kinds {
		out[k] = KindLine{KindStats: host.Kinds[k], EndStates: host.EndStates[string(k)]}
	}
	return out
}

func times(v float64) string {
	if v < 0 || math.IsNaN(v) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", v)
}

func dash(v float64) string {
	if v < 0 {
		return "—"
	}
	return table.Num(v)
}

// bound renders v, marked "≥" when it sits at the histogram's top bound.
func bound(v, atLeast float64, render func(float64) string) string {
	if atLeast > 0 && v >= atLeast {
		return "≥ " + render(v)
	}
	return render(v)
}

func states(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}

// Markdown writes the comparison and the per-kind table (for
// docs/performance.md).
func Markdown(w io.Writer, res *Results) {
	c := res.Config
	fmt.Fprintf(w, "Commit %s, %s; %d healthy URLs @ %s/%s; %d hostile URLs (%d per kind) @ %s/%s; %s measured per run after %s warm-up; trend windows %s.\n\n",
		res.Machine.Commit, res.Machine.When, c.Healthy, c.HealthyInterval, c.HealthyTimeout, c.PerKind*len(Kinds), c.PerKind,
		c.HostileInterval, c.HostileTimeout, c.Duration, c.warmup(), c.trendWindow())
	fmt.Fprintln(w, "| figure | baseline first | baseline last | hostile first | hostile last | hostile ÷ baseline | hostile last ÷ first | hostile peak |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range res.Rows {
		a := r.AtLeast
		ratioCap, trend := -1.0, r.Trend
		if a > 0 && r.HostLast >= a {
			ratioCap = r.Ratio // a lower bound
			if r.HostFirst >= a {
				trend = -1 // both at the top bucket: unknown
			}
		}
		fmt.Fprintf(w, "| %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", strings.ReplaceAll(r.Figure, "|", `\|`), r.Unit,
			bound(r.BaseFirst, a, dash), bound(r.BaseLast, a, dash), bound(r.HostFirst, a, dash), bound(r.HostLast, a, dash),
			bound(r.Ratio, ratioCap, times), times(trend), bound(r.HostPeak, a, dash))
	}
	if len(res.Kinds) == 0 {
		return
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| kind | connections accepted | most open at once | open at end | closed after the hold limit | shed over the cap | bytes sent | spo2 state at end |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---|")
	for _, k := range Kinds {
		l := res.Kinds[k]
		fmt.Fprintf(w, "| %s | %d | %d | %d | %d | %d | %d | %s |\n", k, l.Accepted, l.MaxOpen, l.Open, l.HeldOver, l.Shed, l.Bytes, states(l.EndStates))
	}
}

// Print writes the tables to w, with the probe outcomes of each run.
func Print(w io.Writer, res *Results) {
	fmt.Fprintln(w)
	Markdown(w, res)
	fmt.Fprintln(w)
	for _, r := range []*RunResult{res.Baseline, res.Attacked} {
		if r == nil {
			continue
		}
		fmt.Fprintf(w, "%s: probes by outcome %v; false-alarm events %d by state %v; status events %d; websocket reconnects %d\n",
			r.Name, r.Probes, r.Alarms.FalseAlarmEvents, r.Alarms.ByState, r.Alarms.StatusEvents, r.Alarms.Reconnects)
		if r.ShutdownError != "" {
			fmt.Fprintf(w, "%s: shutdown: %s\n", r.Name, r.ShutdownError)
		}
	}
	for _, e := range res.Errors {
		fmt.Fprintln(w, "error:", e)
	}
}
