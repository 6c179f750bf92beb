package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/spo2/spo2/bench/internal/table"
)

// Row is one line of the table: a figure for spo2, the baselines measured in
// the same run, the ratios and the target. Baseline is the bare net/http
// client (or raw Badger); ProberBaseline is SpO₂'s own prober used bare.
type Row struct {
	Figure         string  `json:"figure"`
	Spo2           float64 `json:"spo2"`
	Baseline       float64 `json:"baseline,omitempty"`
	Ratio          float64 `json:"ratio,omitempty"`
	ProberBaseline float64 `json:"baseline_spo2_prober,omitempty"`
	ProberRatio    float64 `json:"ratio_spo2_prober,omitempty"`
	Unit           string  `json:"unit"`
	Target         string  `json:"target,omitempty"`
	Verdict        string  `json:"verdict,omitempty"` // "ok", "MISS" or "" when there is no target
	Note           string  `json:"note,omitempty"`
}

// Table collects rows.
type Table struct{ Rows []Row }

// Add appends a row; baseline ≤ 0 means none. pass is nil when the row has
// no target.
func (t *Table) Add(figure string, spo2, baseline float64, unit, target string, pass *bool, note string) {
	t.AddPair(figure, spo2, baseline, math.NaN(), unit, target, pass, note)
}

// AddPair is Add for a figure with both client baselines: bare net/http
// and SpO₂'s prober used bare.
func (t *Table) AddPair(figure string, spo2, baseline, prober float64, unit, target string, pass *bool, note string) {
	r := Row{Figure: figure, Spo2: clean(spo2), Unit: unit, Target: target, Note: note}
	r.Baseline, r.Ratio = ratio(spo2, baseline)
	r.ProberBaseline, r.ProberRatio = ratio(spo2, prober)
	if pass != nil {
		r.Verdict = map[bool]string{true: "ok", false: "MISS"}[*pass]
	}
	t.Rows = append(t.Rows, r)
}

// ratio returns a baseline and spo2's ratio to it; zeros when there is no
// baseline (≤ 0 or NaN).
func ratio(spo2, baseline float64) (base, r float64) {
	if !(baseline > 0) {
		return 0, 0
	}
	if !math.IsNaN(spo2) {
		r = clean(spo2 / baseline)
	}
	return clean(baseline), r
}

func clean(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return -1
	}
	return v
}

func ptr(b bool) *bool { return &b }

// Print writes the table as aligned text.
func (t *Table) Print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "figure\tspo2\tbaseline\tratio\tbare prober\tratio\ttarget\t\tnote")
	fmt.Fprintln(tw, "------\t----\t--------\t-----\t-----------\t-----\t------\t\t----")
	for _, r := range t.Rows {
		base, ratio := cells(r.Baseline, r.Ratio)
		pbase, pratio := cells(r.ProberBaseline, r.ProberRatio)
		fmt.Fprintf(tw, "%s (%s)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Figure, r.Unit, table.Num(r.Spo2), base, ratio, pbase, pratio, r.Target, r.Verdict, r.Note)
	}
	tw.Flush()
}

// Markdown writes the table as a Markdown table (for docs/performance.md).
func (t *Table) Markdown(w io.Writer) {
	fmt.Fprintln(w, "| figure | spo2 | baseline | ratio | bare prober | ratio | target | |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---|---|")
	for _, r := range t.Rows {
		base, ratio := cells(r.Baseline, r.Ratio)
		pbase, pratio := cells(r.ProberBaseline, r.ProberRatio)
		fig := strings.ReplaceAll(r.Figure, "|", `\|`)
		fmt.Fprintf(w, "| %s (%s) | %s | %s | %s | %s | %s | %s | %s |\n", fig, r.Unit, table.Num(r.Spo2), base, ratio, pbase, pratio, r.Target, r.Verdict)
	}
}

// cells formats a baseline and a ratio, "—" for none.
func cells(base, ratio float64) (string, string) {
	b, r := "—", "—"
	if base > 0 {
		b = table.Num(base)
	}
	if ratio > 0 {
		r = fmt.Sprintf("%.2f×", ratio)
	}
	return b, r
}

// WriteJSON writes v to file, creating its directory.
func WriteJSON(file string, v any) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(file), err)
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode results: %w", err)
	}
	if err := os.WriteFile(file, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
