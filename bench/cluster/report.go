package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/spo2"
	"github.com/spo2/spo2/bench/internal/table"
)

// report prints the Markdown table to w and writes the JSON results and a
// Markdown copy of the table beside it.
func (b *bench) report(w io.Writer) error {
	b.mu.Lock()
	md := renderTable(b.res)
	raw, err := json.MarshalIndent(b.res, "", "  ")
	b.mu.Unlock()
	fmt.Fprint(w, md)
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(b.cfg.Out, raw, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", b.cfg.Out, err)
	}
	mdFile := strings.TrimSuffix(b.cfg.Out, ".json") + ".md"
	if err := os.WriteFile(mdFile, []byte(md), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", mdFile, err)
	}
	return nil
}

// renderTable is one Markdown table: a block of rows per fleet, the single
// node beside the cluster and their ratio.
func renderTable(res *Results) string {
	var sb strings.Builder
	members := res.Config.Members
	fmt.Fprintf(&sb, "| figure | single node (Badger) | cluster: %d members + etcd | cluster ÷ single |\n|---|---|---|---|\n", members)
	row := func(figure, single, cluster, ratio string) {
		fmt.Fprintf(&sb, "| %s | %s | %s | %s |\n", figure, single, cluster, ratio)
	}
	for _, r := range res.Sizes {
		fmt.Fprintf(&sb, "| **%s URLs @ %s** | | | |\n", thousands(r.Size.URLs), spaced(r.Size.Interval))
		s, c := r.Single, r.Cluster
		if s.Idle != nil || c.Idle != nil {
			si, ci := orIdle(s.Idle), orIdle(c.Idle)
			row(fmt.Sprintf("`POST /bulk` (%s URLs, idle), registrations/s", thousands(max(si.Bulk.URLs, ci.Bulk.URLs))),
				rate(si.Bulk.PerSec), rate(ci.Bulk.PerSec), ratio(ci.Bulk.PerSec, si.Bulk.PerSec))
			row(fmt.Sprintf("`PUT` ×%d concurrent (%s URLs), registrations/s", res.Config.PutConc, thousands(max(si.Put.URLs, ci.Put.URLs))),
				rate(si.Put.PerSec), rate(ci.Put.PerSec)+" (spread over the members)", ratio(ci.Put.PerSec, si.Put.PerSec))
			row("RSS per idle URL", kib(si.RSSPerURLKiB), kib(ci.RSSPerURLKiB)+" per member", ratio(avg(ci.RSSPerURLKiB), avg(si.RSSPerURLKiB)))
		}
		if s.Probe != nil || c.Probe != nil {
			sp, cp := orProbe(s.Probe), orProbe(c.Probe)
			row(fmt.Sprintf("`POST /bulk` (%s URLs, probing starts), registrations/s", thousands(max(sp.Bulk.URLs, cp.Bulk.URLs))),
				rate(sp.Bulk.PerSec), rate(cp.Bulk.PerSec), ratio(cp.Bulk.PerSec, sp.Bulk.PerSec))
			row(fmt.Sprintf("probes/s in a %s window (share of schedule)", spaced(res.Config.Window)),
				fmt.Sprintf("%s (%s %%)", rate(sp.Window.RatePerSec), table.Num(sp.Window.AchievedPct)),
				fmt.Sprintf("%s (%s %%)", rate(cp.Window.RatePerSec), table.Num(cp.Window.AchievedPct)),
				ratio(cp.Window.RatePerSec, sp.Window.RatePerSec))
			row("probes/s per member (URLs owned)", "—", perMember(cp), "—")
			row("CPU cores in the window", cores(sp.Cores), cores(cp.Cores), ratio(coreSum(cp.Cores), coreSum(sp.Cores)))
			row("CPU per probe (all spo2 processes, and etcd)", table.Num(sp.CPUPerProbeUS)+" µs", table.Num(cp.CPUPerProbeUS)+" µs", ratio(cp.CPUPerProbeUS, sp.CPUPerProbeUS))
			row("RSS per URL while probing", kib(sp.RSSPerURLKiB), kib(cp.RSSPerURLKiB)+" per member", ratio(avg(cp.RSSPerURLKiB), avg(sp.RSSPerURLKiB)))
			row("whole machine, busy cores in the window", table.Num(sp.Window.MachineCores), table.Num(cp.Window.MachineCores), "—")
		}
		if f := r.Failover; f != nil {
			row(fmt.Sprintf("kill -9 of %s → survivors' `/healthz` drop it", f.Member), "—", secs(f.DetectedS), "—")
			all := secs(f.AllReprobedS)
			if f.Missing > 0 {
				all = fmt.Sprintf("not within the bound (%d never)", f.Missing)
			}
			row(fmt.Sprintf("kill -9 of %s → its %s URLs probed by a survivor: first / half / all", f.Member, thousands(f.URLs)),
				"—", secs(f.FirstReprobeS)+" / "+secs(f.MedianReprobeS)+" / "+all, "—")
		}
	}
	for _, e := range res.Errors {
		fmt.Fprintf(&sb, "\nerror: %s\n", e)
	}
	return sb.String()
}

// notMeasured stands for a side that did not run: every figure reads "n/a".
var notMeasured = math.NaN()

func orIdle(r *IdleResult) *IdleResult {
	if r != nil {
		return r
	}
	return &IdleResult{Put: spo2.RegResult{PerSec: notMeasured}, Bulk: spo2.RegResult{PerSec: notMeasured}}
}

func orProbe(r *ProbeResult) *ProbeResult {
	if r != nil {
		return r
	}
	return &ProbeResult{
		Bulk:          spo2.RegResult{PerSec: notMeasured},
		Window:        farm.Window{RatePerSec: notMeasured, AchievedPct: notMeasured, MachineCores: notMeasured},
		CPUPerProbeUS: notMeasured,
	}
}

func rate(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return thousands(int(math.Round(v)))
}

func ratio(a, b float64) string {
	if !(b > 0) || math.IsNaN(a) {
		return "—"
	}
	return table.Num(a/b) + "×"
}

// spaced writes a duration with a space before its unit: "10 s", "500 ms";
// compound durations ("1m30s") stay as Go writes them.
func spaced(d time.Duration) string {
	str := d.String()
	i := strings.IndexFunc(str, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 || strings.ContainsAny(str[i:], "0123456789") {
		return str
	}
	return str[:i] + " " + str[i:]
}

func secs(v float64) string {
	if v < 0 {
		return "never"
	}
	return table.Num(v) + " s"
}

func kib(vs []float64) string {
	if len(vs) == 0 {
		return "n/a"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = table.Num(v)
	}
	return strings.Join(parts, " / ") + " KiB"
}

func avg(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	var t float64
	for _, v := range vs {
		t += v
	}
	return t / float64(len(vs))
}

// coreSum is sum, or not measured when no process was.
func coreSum(m map[string]float64) float64 {
	if len(m) == 0 {
		return notMeasured
	}
	return sum(m)
}

func sum(m map[string]float64) float64 {
	var t float64
	for _, v := range m {
		t += v
	}
	return t
}

// cores lists each process's cores, sorted by name, then their sum.
func cores(m map[string]float64) string {
	names := sortedKeys(m)
	if len(names) == 0 {
		return "n/a"
	}
	if len(names) == 1 {
		return table.Num(m[names[0]])
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " " + table.Num(m[n])
	}
	return table.Num(sum(m)) + " (" + strings.Join(parts, ", ") + ")"
}

func perMember(p *ProbeResult) string {
	if len(p.PerMemberPerSec) == 0 {
		return "n/a"
	}
	var parts []string
	for _, n := range sortedKeys(p.PerMemberPerSec) {
		parts = append(parts, fmt.Sprintf("%s %s (%s)", n, rate(p.PerMemberPerSec[n]), thousands(int(p.Owned[n]))))
	}
	return strings.Join(parts, ", ")
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// thousands formats n with comma separators: 100000 → "100,000".
func thousands(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + thousands(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
