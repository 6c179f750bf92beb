package dashboard

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// longTasksJS runs before the page's scripts: it records the longest
// main-thread task (the browser's own "long task" entries, over 50 ms).
const longTasksJS = `window.__longest = 0; window.__longTasks = 0;
new PerformanceObserver((l) => { for (const e of l.getEntries()) { window.__longTasks++; if (e.duration > window.__longest) window.__longest = e.duration; } })
  .observe({type: 'longtask', buffered: true});`

// typeJS types a query into the filter box one character at a time, as
// input events, and reports per keystroke the synchronous handler time and
// the time until the filtered rows were painted.
const typeJS = `(async (query) => {
  const q = document.getElementById('q');
  const painted = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  const out = [];
  for (let i = 1; i <= query.length; i++) {
    const want = query.slice(0, i);
    const t0 = performance.now();
    q.value = want;
    q.dispatchEvent(new Event('input', {bubbles: true}));
    const handler = performance.now() - t0;
    while (spo2.query !== want.toLowerCase()) await new Promise((r) => setTimeout(r, 1));
    await painted();
    out.push({handler, painted: performance.now() - t0, shown: spo2.visible()});
  }
  return out;
})`

// clickJS clicks an element and reports the time until the next frame was
// painted.
const clickJS = `(async (sel) => {
  const t0 = performance.now();
  document.querySelector(sel).click();
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
})`

// selectTimeJS chooses a grouping and reports the time until painted.
const selectTimeJS = `(async (v) => {
  const t0 = performance.now();
  const s = document.getElementById('group'); s.value = v; s.dispatchEvent(new Event('change'));
  await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
})`

type keystroke struct {
	Handler float64 `json:"handler"`
	Painted float64 `json:"painted"`
	Shown   int     `json:"shown"`
}

type loadRun struct {
	firstFailing, synced, socketToSynced, longest float64
	heapMB                                        float64
	bytes                                         int64
}

// TestLoadBench measures the dashboard's own cost at 10,000 and 100,000
// URLs (SPO2_UI_BENCH_N=N for one size) fed by the synthetic local stream:
// navigation → first failing row and → whole fleet painted, bytes on the
// wire, JS heap after a garbage collection, the longest main-thread task
// during the load, keystroke latency in the filter box, and click latency
// on a state filter and on grouping. It measures, it does not judge: run it
// with SPO2_UI_BENCH=1 and copy the table to docs/dashboard.md.
func TestLoadBench(t *testing.T) {
	if os.Getenv("SPO2_UI_BENCH") == "" {
		t.Skip("measurement: set SPO2_UI_BENCH=1 to run")
	}
	sizes := []int{10000, 100000}
	if v, err := strconv.Atoi(os.Getenv("SPO2_UI_BENCH_N")); err == nil && v > 0 {
		sizes = []int{v}
	}
	ctx := newBrowser(t)
	run(t, ctx, "watch long tasks", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: longTasksJS})
		return err
	}))
	var table []string
	for _, n := range sizes {
		f := newFeed(t, syntheticRecords(n, time.Now()))
		var runs []loadRun
		for range 3 {
			before := f.sent.Load()
			run(t, ctx, "open dashboard", 60*time.Second, chromedp.Navigate(f.srv.URL+"/ui/"))
			waitJS(t, ctx, "snapshot", fmt.Sprintf("window.spo2 && spo2.synced && spo2.rows() === %d && spo2.syncedAtMs > 0", n), 120*time.Second)
			// Let the page settle, so a long task right after the sync counts.
			run(t, ctx, "settle", 10*time.Second, chromedp.Poll[chromedp.Void](`new Promise(r => setTimeout(() => r(true), 500))`))
			r := loadRun{
				firstFailing:   evalJS[float64](t, ctx, "spo2.firstFailingMs"),
				synced:         evalJS[float64](t, ctx, "spo2.syncedAtMs"),
				socketToSynced: evalJS[float64](t, ctx, "spo2.snapshotMs"),
				longest:        evalJS[float64](t, ctx, "window.__longest"),
				bytes:          f.sent.Load() - before,
			}
			r.heapMB = heapMB(t, ctx)
			t.Logf("%d URLs: first failing row %.0f ms, whole fleet %.0f ms (socket open → painted %.0f ms), longest task %.0f ms (%d over 50 ms), heap %.1f MB, %.1f MB received",
				n, r.firstFailing, r.synced, r.socketToSynced, r.longest, evalJS[int](t, ctx, "window.__longTasks"), r.heapMB, float64(r.bytes)/1e6)
			runs = append(runs, r)
		}
		st := evalJS[map[string]float64](t, ctx, `spo2.stats()`)
		t.Logf("%d URLs: stats %v", n, st)

		// Keystrokes: a query typed letter by letter, twice (the second time
		// the index is built).
		var keys []keystroke
		for range 2 {
			keys = append(keys, evalJS[[]keystroke](t, ctx, typeJS+`("search-3-01")`)...)
			run(t, ctx, "clear", 10*time.Second, chromedp.Poll[chromedp.Void](`(() => { const q = document.getElementById('q'); q.value = ''; q.dispatchEvent(new Event('input')); return true })()`))
			waitJS(t, ctx, "cleared", `spo2.query === ''`, 10*time.Second)
		}
		var handler, painted []float64
		for _, k := range keys {
			handler = append(handler, k.Handler)
			painted = append(painted, k.Painted)
		}
		t.Logf("%d URLs: keystrokes painted %v ms; last query shows %d rows; index build %.0f ms", n, round(painted), keys[len(keys)-1].Shown, evalJS[float64](t, ctx, `spo2.stats().indexMs`))

		var clicks []float64
		for range 3 {
			clicks = append(clicks, evalJS[float64](t, ctx, clickJS+`('button[data-filter="unhealthy"]')`))
			clicks = append(clicks, evalJS[float64](t, ctx, clickJS+`('button[data-filter="all"]')`))
		}
		var groups []float64
		for _, g := range []string{"host", "error", "label:team", ""} {
			groups = append(groups, evalJS[float64](t, ctx, selectTimeJS+`(`+jsString(g)+`)`))
		}
		t.Logf("%d URLs: state filter clicks %v ms; grouping host, error, label, none %v ms", n, round(clicks), round(groups))
		screenshot(t, ctx, fmt.Sprintf("load-%d.png", n))

		col := func(get func(loadRun) float64) string {
			var v []float64
			for _, r := range runs {
				v = append(v, get(r))
			}
			return fmt.Sprintf("%.0f (%.0f–%.0f)", median(v), slices.Min(v), slices.Max(v))
		}
		table = append(table,
			fmt.Sprintf("| %d | navigation → first failing row painted | %s ms |", n, col(func(r loadRun) float64 { return r.firstFailing })),
			fmt.Sprintf("| %d | navigation → whole fleet painted | %s ms |", n, col(func(r loadRun) float64 { return r.synced })),
			fmt.Sprintf("| %d | socket open → whole fleet painted | %s ms |", n, col(func(r loadRun) float64 { return r.socketToSynced })),
			fmt.Sprintf("| %d | longest main-thread task during load | %s ms |", n, col(func(r loadRun) float64 { return r.longest })),
			fmt.Sprintf("| %d | JS heap after load (after GC) | %s MB |", n, col(func(r loadRun) float64 { return r.heapMB })),
			fmt.Sprintf("| %d | snapshot received (uncompressed) | %.1f MB (%d B per URL) |", n, float64(runs[0].bytes)/1e6, runs[0].bytes/int64(n)),
			fmt.Sprintf("| %d | keystroke → filtered rows painted | median %.0f, max %.0f ms (handler max %.1f ms) |", n, median(painted), slices.Max(painted), slices.Max(handler)),
			fmt.Sprintf("| %d | state filter click → painted | median %.0f, max %.0f ms |", n, median(clicks), slices.Max(clicks)),
			fmt.Sprintf("| %d | grouping (host, error, label, none) → painted | %s ms |", n, strings.Trim(fmt.Sprint(round(groups)), "[]")),
		)
	}
	t.Logf("\n| URLs | measure | median (min–max) of 3 loads |\n|---|---|---|\n%s", strings.Join(table, "\n"))
}

// heapMB collects garbage and returns the page's used JS heap in MB.
func heapMB(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	var used float64
	run(t, ctx, "heap", 60*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			return err
		}
		res, err := cdp.Call(ctx, tg, runtime.GetHeapUsage, cdp.Empty{})
		if err != nil {
			return err
		}
		used = res.UsedSize / 1e6
		return nil
	}))
	return used
}
