package dashboard

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
)

// frameStats is what measureFrames reports from inside the page.
type frameStats struct {
	FPS       float64 `json:"fps"`
	MaxGapMS  float64 `json:"maxGap"`
	LongGaps  int     `json:"long"`
	Renders   int     `json:"renders"`
	RenderAvg float64 `json:"renderAvg"`
	RenderMax float64 `json:"renderMax"`
	Events    int     `json:"events"`
	Messages  int     `json:"messages"`
	ApplyMS   float64 `json:"applyMs"`
	DOMRows   int     `json:"domRows"`
}

// measureJS counts animation frames in the page for a number of
// milliseconds, optionally scrolling the table on every frame, and reports the
// frame rate, the longest gap between frames, the number of gaps over 50 ms,
// and the dashboard's own render time per frame.
const measureJS = `new Promise((resolve) => {
  const DUR = %d, SCROLL = %t;
  const sc = document.getElementById('scroller');
  const s0 = spo2.stats();
  let t0 = 0, last = 0, n = 0, maxGap = 0, long = 0, dir = 1, renderMax = 0, f0 = s0.frames;
  function step(t) {
    if (!t0) { t0 = t; last = t; requestAnimationFrame(step); return; }
    n++;
    const g = t - last; last = t;
    if (g > maxGap) maxGap = g;
    if (g > 50) long++;
    const s = spo2.stats();
    if (s.frames !== f0) { f0 = s.frames; if (spo2.renderMs > renderMax) renderMax = spo2.renderMs; }
    if (SCROLL) {
      sc.scrollTop += 120 * dir;
      if (sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 2) dir = -1;
      else if (sc.scrollTop <= 0) dir = 1;
    }
    if (t - t0 < DUR) { requestAnimationFrame(step); return; }
    const s1 = spo2.stats();
    const renders = s1.frames - s0.frames;
    resolve({fps: n * 1000 / (t - t0), maxGap, long, renders,
      renderAvg: renders ? (s1.renderMsTotal - s0.renderMsTotal) / renders : 0, renderMax,
      events: s1.events - s0.events, messages: s1.messages - s0.messages, applyMs: s1.applyMsTotal - s0.applyMsTotal, domRows: s1.domRows});
  }
  requestAnimationFrame(step);
})`

// TestRenderBench loads 10,000 URLs (SPO2_UI_BENCH_N to change) into the real
// dashboard from a synthetic feed and reports the snapshot render time and
// the frame rate under bursts of status events. It measures, it does not
// judge: run it with SPO2_UI_BENCH=1 and copy the numbers to docs/dashboard.md.
func TestRenderBench(t *testing.T) {
	if os.Getenv("SPO2_UI_BENCH") == "" {
		t.Skip("measurement: set SPO2_UI_BENCH=1 to run")
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SPO2_UI_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	recs := syntheticRecords(n, time.Now())
	f := newFeed(t, recs)
	ctx := newBrowser(t)

	var loads, renders []float64
	for i := 0; i < 3; i++ {
		run(t, ctx, "open dashboard", 30*time.Second, chromedp.Navigate(f.srv.URL+"/ui/"))
		waitJS(t, ctx, "snapshot", fmt.Sprintf("window.spo2 && spo2.synced && spo2.rows() === %d && spo2.snapshotMs > 0", n), 60*time.Second)
		loads = append(loads, evalJS[float64](t, ctx, "spo2.snapshotMs"))
		renders = append(renders, evalJS[float64](t, ctx, "spo2.syncRenderMs"))
	}
	t.Logf("%d URLs: socket open → snapshot rendered: %v ms (median %.0f)", n, round(loads), median(loads))
	t.Logf("%d URLs: JS time of the frame that renders the snapshot (sort+filter+paint): %v ms (median %.1f)", n, round(renders), median(renders))
	screenshot(t, ctx, "bench.png")

	idle := evalJS[frameStats](t, ctx, fmt.Sprintf(measureJS, 3000, false))
	t.Logf("idle: %+v", idle)
	scroll := evalJS[frameStats](t, ctx, fmt.Sprintf(measureJS, 3000, true))
	t.Logf("idle, scrolling every frame: %+v", scroll)

	// Bursts: every 10 ms a frame of rate/100 status events flipping random
	// URLs between healthy and unhealthy.
	states := make([]health.State, n)
	since := make([]time.Time, n)
	for i, r := range recs {
		states[i] = r.Status.State
		since[i] = r.Status.Since
	}
	delivered, dropped := 0, 0 // burst events that reached the page's queue, frames missed
	for _, rate := range []int{1000, 5000, 10000, 20000} {
		for _, scrolling := range []bool{false, true} {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				per := rate / 100
				for {
					select {
					case <-stop:
						return
					case <-tick.C:
					}
					batch := make([]actors.Event, 0, per)
					now := time.Now()
					for range per {
						i := rand.IntN(n)
						prev := states[i]
						ev := actors.StatusChanged{URL: recs[i].URL, Previous: prev, At: now, LatencyMS: 2.5}
						if prev == health.Healthy {
							ev.State, ev.Code = health.Unhealthy, 503
						} else {
							ev.State, ev.Code = health.Healthy, 200
						}
						states[i] = ev.State
						since[i] = now
						batch = append(batch, ev)
					}
					if f.broadcast(batch) {
						delivered += per
					} else {
						dropped++
					}
				}
			}()
			st := evalJS[frameStats](t, ctx, fmt.Sprintf(measureJS, 3000, scrolling))
			close(stop)
			wg.Wait()
			t.Logf("burst %d events/s, scrolling=%t: %+v", rate, scrolling, st)
		}
	}

	// The incremental re-sort must give exactly the full sort's order.
	rank := map[health.State]int{health.Unhealthy: 0, health.Unreachable: 0, health.Pending: 1, health.Healthy: 2}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if d := rank[states[a]] - rank[states[b]]; d != 0 {
			return d
		}
		if d := since[b].UnixMilli() - since[a].UnixMilli(); d != 0 {
			return int(d)
		}
		return strings.Compare(recs[a].URL, recs[b].URL)
	})
	want := make([]string, n)
	for i, j := range idx {
		want[i] = recs[j].URL
	}
	if dropped > 0 {
		t.Fatalf("the feed dropped %d frames (the page's queue was full): the page cannot match the test's model", dropped)
	}
	waitJS(t, ctx, "every burst event applied", fmt.Sprintf(`spo2.stats().events === %d`, n+1+delivered), 60*time.Second)
	run(t, ctx, "let a frame pass", 10*time.Second, chromedp.Poll[chromedp.Void](`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`))
	got := evalJS[[]string](t, ctx, `spo2.order()`)
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("order differs at %d of %d: got %s, want %s; page %s", i, n, got[i], want[i],
					evalJS[string](t, ctx, fmt.Sprintf(`JSON.stringify({held: spo2.held, pending: spo2.pending, stats: spo2.stats(), got: spo2.state(%s), want: spo2.state(%s)})`, jsString(got[i]), jsString(want[i]))))
			}
		}
		t.Fatalf("order: got %d URLs, want %d", len(got), len(want))
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func round(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(int(x*10)) / 10
	}
	return out
}

// TestRenderBenchReal is the same measurement against the real spo2 binary:
// 10,000 URLs (SPO2_UI_BENCH_N) registered with one POST /bulk on a loopback
// target that the test flips between 200 and 503, so every URL changes state
// within one probe interval (5 s): a real burst of status events while the
// engine keeps probing on the same two cores as the browser.
func TestRenderBenchReal(t *testing.T) {
	if os.Getenv("SPO2_UI_BENCH") == "" {
		t.Skip("measurement: set SPO2_UI_BENCH=1 to run")
	}
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("SPO2_UI_BENCH_N")); err == nil && v > 0 {
		n = v
	}
	ctx := newBrowser(t)
	tg := newTargets(t)
	p := startSpo2(t)
	items := make([]map[string]any, n)
	for i := range items {
		items[i] = map[string]any{"url": tg.URL(fmt.Sprintf("/t/%d", i)), "interval": "5s", "timeout": "1s", "failure_threshold": 1,
			"data": map[string]any{"customer": 1000 + i, "index": fmt.Sprintf("idx-%d", i%97)}}
	}
	body, _ := json.Marshal(items)
	start := time.Now()
	if code, out := api(t, p, http.MethodPost, "/bulk", string(body)); code != http.StatusOK {
		t.Fatalf("POST /bulk: %d %.300s", code, out)
	}
	t.Logf("POST /bulk of %d URLs: %s", n, time.Since(start).Round(time.Millisecond))

	run(t, ctx, "open dashboard", 30*time.Second, chromedp.Navigate(p.URL("/ui/")))
	waitJS(t, ctx, "every URL healthy", fmt.Sprintf(`window.spo2 && spo2.synced && spo2.rows() === %d && document.getElementById('n-healthy').textContent === %q`, n, commas(n)), 60*time.Second)
	var loads, renders []float64
	for i := 0; i < 3; i++ {
		run(t, ctx, "reload", 30*time.Second, chromedp.Reload())
		waitJS(t, ctx, "snapshot", fmt.Sprintf("window.spo2 && spo2.synced && spo2.rows() === %d && spo2.snapshotMs > 0", n), 60*time.Second)
		loads = append(loads, evalJS[float64](t, ctx, "spo2.snapshotMs"))
		renders = append(renders, evalJS[float64](t, ctx, "spo2.syncRenderMs"))
	}
	t.Logf("real spo2, %d URLs: socket open → snapshot rendered: %v ms (median %.0f)", n, round(loads), median(loads))
	t.Logf("real spo2, %d URLs: JS time of the snapshot frame: %v ms (median %.1f)", n, round(renders), median(renders))

	st := evalJS[frameStats](t, ctx, fmt.Sprintf(measureJS, 6000, true))
	t.Logf("real spo2, probing 2,000 URLs/s with no state change, scrolling: %+v", st)
	for _, code := range []int{http.StatusServiceUnavailable, http.StatusOK} {
		for i := range n {
			tg.SetPathCode("/t/"+strconv.Itoa(i), code)
		}
		st := evalJS[frameStats](t, ctx, fmt.Sprintf(measureJS, 6000, true))
		t.Logf("real spo2, every URL turning %d within 5 s, scrolling: %+v", code, st)
	}
	screenshot(t, ctx, "bench-real.png")
}

func commas(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
