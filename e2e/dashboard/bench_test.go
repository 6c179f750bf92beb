package dashboard

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
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
      events: s1.events - s0.events, domRows: s1.domRows});
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
	for i, r := range recs {
		states[i] = r.Status.State
	}
	for _, rate := range []int{1000, 5000, 10000, 20000} {
		for _, scrolling := range []bool{false, true} {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			wg.Add(1)
			sent := 0
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
						batch = append(batch, ev)
					}
					f.broadcast(batch)
					sent += per
				}
			}()
			st := evalJS[frameStats](t, ctx, fmt.Sprintf(measureJS, 3000, scrolling))
			close(stop)
			wg.Wait()
			t.Logf("burst %d events/s, scrolling=%t: %+v", rate, scrolling, st)
		}
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
