package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spo2/spo2/e2e/harness"
)

// TestLoadBenchReal measures what an operator waits for when the dashboard
// is opened on a real spo2 that is probing its whole fleet on the same two
// cores as the browser: 100,000 URLs (SPO2_UI_BENCH_N) @ 10 s on 20 loopback
// targets, 5 % of them answering 503. It reports navigation → first failing
// row and → whole fleet painted, over 3 page loads. It measures, it does not
// judge: run it with SPO2_UI_BENCH=1 and copy the figures to
// docs/dashboard.md.
func TestLoadBenchReal(t *testing.T) {
	if os.Getenv("SPO2_UI_BENCH") == "" {
		t.Skip("measurement: set SPO2_UI_BENCH=1 to run")
	}
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("SPO2_UI_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	ctx := newBrowser(t)
	// Twenty hosts, so that kept-alive connections cover the probe rate.
	targets := make([]*harness.Target, 20)
	for i := range targets {
		targets[i] = newTargets(t)
	}
	p := startSpo2(t, "PROBE_INTERVAL=10s", "PROBE_TIMEOUT=2s")
	failing := 0
	for start := 0; start < n; start += 10_000 {
		items := make([]map[string]any, 0, 10_000)
		for i := start; i < min(start+10_000, n); i++ {
			tg, path := targets[i%len(targets)], fmt.Sprintf("/t/%d", i)
			if i%20 == 7 {
				tg.SetPathCode(path, http.StatusServiceUnavailable)
				failing++
			}
			items = append(items, map[string]any{"url": tg.URL(path), "failure_threshold": 1,
				"labels": map[string]string{"team": fmt.Sprintf("team-%d", i%7)},
				"data":   map[string]any{"customer": 1000 + i, "index": fmt.Sprintf("idx-%d", i%97)}})
		}
		body, _ := json.Marshal(items)
		if code, out := api(t, p, http.MethodPost, "/bulk", string(body)); code != http.StatusOK {
			t.Fatalf("POST /bulk: %d %.300s", code, out)
		}
	}
	// Every URL has had its first verdict once the page counts every failing one.
	run(t, ctx, "open dashboard", 60*time.Second, chromedp.Navigate(p.URL("/ui/")))
	waitJS(t, ctx, "every failing URL counted", fmt.Sprintf(`window.spo2 && spo2.synced && spo2.rows() === %d && document.getElementById('n-unhealthy').textContent === %q`, n, commas(failing)), 120*time.Second)

	var first, whole, socket []float64
	for range 3 {
		run(t, ctx, "reload", 60*time.Second, chromedp.Reload())
		waitJS(t, ctx, "snapshot", fmt.Sprintf("window.spo2 && spo2.synced && spo2.rows() === %d && spo2.syncedAtMs > 0", n), 120*time.Second)
		first = append(first, evalJS[float64](t, ctx, "spo2.firstFailingMs"))
		whole = append(whole, evalJS[float64](t, ctx, "spo2.syncedAtMs"))
		socket = append(socket, evalJS[float64](t, ctx, "spo2.snapshotMs"))
		t.Logf("page stats: %v", evalJS[map[string]float64](t, ctx, `spo2.stats()`))
	}
	heap := heapMB(t, ctx)
	col := func(v []float64) string {
		return fmt.Sprintf("%.0f (%.0f–%.0f)", median(v), slices.Min(v), slices.Max(v))
	}
	t.Logf("real spo2 probing %d URLs @ 10 s: navigation → first failing row %s ms, → whole fleet %s ms, socket open → whole fleet %s ms; heap %.0f MB",
		n, col(first), col(whole), col(socket), heap)
	screenshot(t, ctx, fmt.Sprintf("load-real-%d.png", n))
}
