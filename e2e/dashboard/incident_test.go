package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/spo2/spo2/e2e/harness"
)

// fleet is the incident of TestDashboardIncident: 60 URLs on two hosts,
// labelled by team, of which 40 fail (25 with 503 on one host, 15 with 500
// on the other).
type fleet struct {
	a, b       *harness.Target
	hostA      string
	hostB      string
	urlsA      []string
	urlsB      []string
	failA      int
	failB      int
	registered []string
}

func newFleet(t *testing.T, p *harness.Process) *fleet {
	f := &fleet{a: newTargets(t), b: newTargets(t), failA: 25, failB: 15}
	f.hostA = strings.TrimPrefix(f.a.URL(""), "http://")
	f.hostB = strings.TrimPrefix(f.b.URL(""), "http://")
	var items []map[string]any
	for i := range 30 {
		for _, side := range []struct {
			tg   *harness.Target
			name string
			team string
			urls *[]string
		}{{f.a, "a", "search", &f.urlsA}, {f.b, "b", "ads", &f.urlsB}} {
			u := side.tg.URL(fmt.Sprintf(longPath, side.name, i))
			*side.urls = append(*side.urls, u)
			items = append(items, map[string]any{"url": u, "interval": "1s", "timeout": "500ms", "failure_threshold": 1,
				"labels": map[string]string{"team": side.team}, "data": map[string]any{"customer": fmt.Sprintf("cust-%s%d", side.name, i)}})
		}
	}
	body, _ := json.Marshal(items)
	if code, out := api(t, p, http.MethodPost, "/bulk", string(body)); code != http.StatusOK {
		t.Fatalf("POST /bulk: %d %.300s", code, out)
	}
	f.registered = append(slices.Clone(f.urlsA), f.urlsB...)
	return f
}

// longPath is the path of every URL of the fleet: long, so that on a phone
// only the end of each URL fits, and the end is what tells them apart.
const longPath = "/t/checkout/eu-west-1/cluster-07/replica/%s-%02d"

// fail turns the first failA URLs of host A to 503 and the first failB of
// host B to 500.
func (f *fleet) fail() {
	for i := range f.failA {
		f.a.SetPathCode(fmt.Sprintf(longPath, "a", i), http.StatusServiceUnavailable)
	}
	for i := range f.failB {
		f.b.SetPathCode(fmt.Sprintf(longPath, "b", i), http.StatusInternalServerError)
	}
}

// group is what spo2.items() lists for a group header.
type group struct {
	Key     string `json:"key"`
	N       int    `json:"n"`
	Failing int    `json:"failing"`
}

// watchLoadingJS runs before the page's own scripts: it records, at every
// DOM change until the page is synced, the texts of the state counts and
// of the loading line.
const watchLoadingJS = `window.__loading = [];
document.addEventListener('DOMContentLoaded', () => {
  const snap = () => {
    if (window.spo2 && spo2.synced) return;
    const l = document.getElementById('loading');
    window.__loading.push({counts: Array.from(document.querySelectorAll('.filters .n')).map(e => e.textContent),
      loading: l && !l.hidden ? l.textContent : '', synced: !!(window.spo2 && spo2.synced)});
  };
  snap();
  new MutationObserver(snap).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
});`

type loadingSample struct {
	Counts  []string `json:"counts"`
	Loading string   `json:"loading"`
}

// selectJS sets a <select> and fires its change event, as a reader does.
func selectJS(id, value string) string {
	return fmt.Sprintf(`(() => { const s = document.getElementById(%q); s.value = %q; s.dispatchEvent(new Event('change')); return s.value === %q })()`, id, value, value)
}

// TestDashboardIncident reads a mass failure the way an operator does:
// the loading state, counts per host, error and label, a stable order while
// reading, the details panel from the keyboard, the phone layout, and
// axe-core in light and dark.
func TestDashboardIncident(t *testing.T) {
	ctx := newBrowser(t)
	p := startSpo2(t)
	f := newFleet(t, p)

	// Loading: until synced the counts never read as numbers (a "0" there
	// would read as "nothing failing"), and the page says it is loading.
	run(t, ctx, "watch loading", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: watchLoadingJS})
		return err
	}))
	run(t, ctx, "open dashboard", 30*time.Second, chromedp.Navigate(p.URL("/ui/")))
	waitJS(t, ctx, "synced, every URL healthy", `window.spo2 && spo2.synced && document.getElementById('n-healthy').textContent === '60' && document.getElementById('n-all').textContent === '60'`, 20*time.Second)
	samples := evalJS[[]loadingSample](t, ctx, `window.__loading`)
	if len(samples) == 0 {
		t.Fatal("no DOM state recorded before synced")
	}
	sawLoading := false
	for _, s := range samples {
		for _, c := range s.Counts {
			if c != "…" {
				t.Errorf("before synced a count read %q (all counts %v): a count must not look final while loading", c, s.Counts)
			}
		}
		if strings.HasPrefix(s.Loading, "Loading…") {
			sawLoading = true
		}
	}
	if !sawLoading {
		t.Errorf("the loading line never said Loading… before synced: %+v", samples)
	}
	if !evalJS[bool](t, ctx, `document.getElementById('loading').hidden`) {
		t.Error("the loading line is still shown after synced")
	}

	// The mass failure.
	f.fail()
	waitJS(t, ctx, "40 failing", `document.getElementById('n-unhealthy').textContent === '40' && document.getElementById('n-healthy').textContent === '20' && document.title.includes('40 failing')`, 20*time.Second)

	// Grouping: exact counts, the group with the most failing URLs first.
	for _, c := range []struct {
		by   string
		want []group
	}{
		{"host", []group{{f.hostA, 30, 25}, {f.hostB, 30, 15}}},
		{"error", []group{{"HTTP 503", 25, 25}, {"HTTP 500", 15, 15}, {"healthy", 20, 0}}},
		{"label:team", []group{{"team=search", 30, 25}, {"team=ads", 30, 15}}},
	} {
		if !evalJS[bool](t, ctx, selectJS("group", c.by)) {
			t.Fatalf("group by %s: the menu has no such option", c.by)
		}
		want, _ := json.Marshal(c.want)
		waitJS(t, ctx, "groups by "+c.by, fmt.Sprintf(`JSON.stringify(spo2.items()) === %s`, jsString(string(want))), 5*time.Second)
		first := fmt.Sprintf("%s — %d URLs · %d failing", c.want[0].Key, c.want[0].N, c.want[0].Failing)
		waitJS(t, ctx, "group header painted", fmt.Sprintf(`(document.querySelector('tr.g .gbtn')?.textContent || '').endsWith(%s)`, jsString(first)), 5*time.Second)
		if c.by == "host" {
			// Expand the biggest group by keyboard: its 30 rows follow it,
			// failing first.
			run(t, ctx, "expand a group", 10*time.Second, chromedp.Focus(chromedp.CSS(`tr.g .gbtn`)), chromedp.KeyEvent(kb.Enter))
			waitJS(t, ctx, "group expanded", `(() => { const it = spo2.items(); return it.length === 32 && typeof it[1] === 'string' && it[31].key !== undefined &&
			  document.querySelector('tr.g .gbtn')?.getAttribute('aria-expanded') === 'true' })()`, 5*time.Second)
			items := evalJS[[]any](t, ctx, `spo2.items(27)`)
			for i, it := range items[1:26] {
				if u, _ := it.(string); !slices.Contains(f.urlsA[:f.failA], u) {
					t.Errorf("expanded group, row %d: %v, want a failing URL of host A", i+1, it)
				}
			}
			if u, _ := items[26].(string); !slices.Contains(f.urlsA[f.failA:], u) {
				t.Errorf("expanded group, row 26: %v, want a healthy URL of host A after the failing ones", items[26])
			}
			shot := screenshot(t, ctx, "grouped.png")
			if os.Getenv("SPO2_UPDATE_SCREENSHOT") == "1" {
				copyFile(t, shot, filepath.Join("..", "..", "docs", "dashboard-incident.png"))
			}
		}
	}
	evalJS[bool](t, ctx, selectJS("group", ""))
	waitJS(t, ctx, "ungrouped", `spo2.items().length === 60 && location.hash === ''`, 5*time.Second)

	// Stable reading: with the pointer in the table, rows keep their places
	// while states change; the paused control counts the changes and
	// applies them.
	run(t, ctx, "pointer into the table", 10*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 600, 400))
	waitJS(t, ctx, "order held", `spo2.held`, 5*time.Second)
	before := evalJS[[]string](t, ctx, renderedURLs)
	for i := f.failA; i < 30; i++ {
		f.a.SetPathCode(fmt.Sprintf(longPath, "a", i), http.StatusServiceUnavailable)
	}
	moved := f.urlsA[f.failA:]
	var allFailing []string
	for _, u := range moved {
		allFailing = append(allFailing, fmt.Sprintf(`spo2.state(%s) === 'unhealthy'`, jsString(u)))
	}
	waitJS(t, ctx, "the changes arrived and are counted", strings.Join(allFailing, " && ")+
		` && spo2.pending >= 5 && !document.getElementById('held').hidden && /paused.*\d+ changes/.test(document.getElementById('held').textContent)`, 15*time.Second)
	if after := evalJS[[]string](t, ctx, renderedURLs); !slices.Equal(before, after) {
		t.Errorf("rows moved while the pointer was in the table:\nbefore %v\nafter  %v", before, after)
	}
	screenshot(t, ctx, "held.png")
	run(t, ctx, "apply", 10*time.Second, chromedp.Click(chromedp.CSS(`#held`)))
	top := evalJS[[]string](t, ctx, `spo2.order(5)`)
	waitJS(t, ctx, "changes applied: the new failures on top", fmt.Sprintf(`(() => { const top = spo2.order(5), moved = %s; return top.every(u => moved.includes(u)) && spo2.pending === 0 && document.getElementById('held').hidden })()`, mustJSON(moved)), 5*time.Second)
	_ = top

	// Details from the keyboard: Enter on a row opens the panel with the
	// record; the history is shown or said to be unavailable.
	first := evalJS[string](t, ctx, `document.querySelector('tr.r').dataset.url`)
	run(t, ctx, "open details by keyboard", 10*time.Second, chromedp.Focus(chromedp.CSS(`tr.r button.open`)), chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "details open", fmt.Sprintf(`document.getElementById('details').open && document.getElementById('d-url').textContent === %s &&
	  document.getElementById('d-fields').textContent.includes('unhealthy') && document.getElementById('d-fields').textContent.includes('HTTP 503') &&
	  document.getElementById('d-fields').textContent.includes('team=search') && document.getElementById('d-data').textContent.includes('"customer"') &&
	  document.getElementById('d-history').textContent !== 'Loading…'`, jsString(first)), 10*time.Second)
	t.Logf("details history: %s", evalJS[string](t, ctx, `document.getElementById('d-history').textContent`))
	checkAxe(t, ctx, "details panel")
	screenshot(t, ctx, "details.png")
	run(t, ctx, "close details", 10*time.Second, chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, "details closed", `!document.getElementById('details').open`, 5*time.Second)

	// axe-core on the page, light and dark.
	run(t, ctx, "pointer out", 10*time.Second, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 5, 5))
	for _, scheme := range []string{"light", "dark"} {
		run(t, ctx, "emulate "+scheme, 10*time.Second, colorScheme(scheme))
		waitJS(t, ctx, scheme+" scheme applied", fmt.Sprintf(`matchMedia('(prefers-color-scheme: %s)').matches`, scheme), 5*time.Second)
		checkAxe(t, ctx, scheme)
		c := evalJS[contrast](t, ctx, contrastJS)
		if c.Min < 4.5 {
			t.Errorf("%s scheme: contrast %.2f:1 below 4.5:1 for %s", scheme, c.Min, c.Which)
		}
		screenshot(t, ctx, "incident-"+scheme+".png")
	}
	run(t, ctx, "reset scheme", 10*time.Second, colorScheme(""))

	// Phone: every failing row shows its state, the end of its URL, its
	// code and its time in state, without horizontal scrolling.
	run(t, ctx, "phone viewport", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetDeviceMetricsOverride, emulation.SetDeviceMetricsOverrideParams{Width: 390, Height: 844, DeviceScaleFactor: 2, Mobile: true})
		return err
	}))
	waitJS(t, ctx, "phone layout", `innerWidth === 390 && getComputedStyle(document.querySelector('tr.r')).display === 'grid'`, 10*time.Second)
	type phoneRow struct {
		URL, State, Result, Since string
		TailInside, AllInside     bool
	}
	rows := evalJS[[]phoneRow](t, ctx, phoneRowsJS)
	failing := 0
	for _, r := range rows {
		if r.State != "unhealthy" {
			continue
		}
		failing++
		if !r.TailInside || !r.AllInside || !strings.HasPrefix(r.Result, "HTTP 5") || !strings.HasPrefix(r.Since, "for ") {
			t.Errorf("phone row %s: state %q, result %q, since %q, URL tail visible %t, every part inside the screen %t", r.URL, r.State, r.Result, r.Since, r.TailInside, r.AllInside)
		}
	}
	if failing < 5 {
		t.Errorf("phone: %d failing rows on screen, want at least 5: %+v", failing, rows)
	}
	if w := evalJS[[]int](t, ctx, `[document.documentElement.scrollWidth, document.documentElement.clientWidth, document.getElementById('scroller').scrollWidth, document.getElementById('scroller').clientWidth]`); w[0] > w[1] || w[2] > w[3] {
		t.Errorf("phone: horizontal scrolling: page %d > %d or table %d > %d", w[0], w[1], w[2], w[3])
	}
	head := evalJS[float64](t, ctx, `document.querySelector('header.top').getBoundingClientRect().height`)
	t.Logf("phone: header %.0f px of 844 (%.0f %%)", head, head*100/844)
	if head > 844*0.2 {
		t.Errorf("phone: the header takes %.0f px of 844", head)
	}
	shot := screenshot(t, ctx, "phone.png")
	if os.Getenv("SPO2_UPDATE_SCREENSHOT") == "1" {
		copyFile(t, shot, filepath.Join("..", "..", "docs", "dashboard-phone.png"))
	}

	// A finger on the table holds the order, and for a while after it
	// lifts.
	run(t, ctx, "touch the table", 10*time.Second,
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 1})
			return err
		}),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: 200, Y: 500}}})
			return err
		}))
	waitJS(t, ctx, "held by a finger", `spo2.held`, 5*time.Second)
	run(t, ctx, "lift the finger", 10*time.Second, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, input.DispatchTouchEvent, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
		return err
	}))
	if !evalJS[bool](t, ctx, `spo2.held`) {
		t.Error("the order was released as soon as the finger lifted")
	}
	waitJS(t, ctx, "released after a while", `!spo2.held`, 10*time.Second)

	// Grouped, and with the details panel open, the phone still does not
	// scroll sideways.
	evalJS[bool](t, ctx, selectJS("group", "error"))
	waitJS(t, ctx, "grouped on the phone", `document.querySelectorAll('tr.g').length === 3`, 5*time.Second)
	noSideways := `(() => { const d = document.documentElement, s = document.getElementById('scroller');
	  return d.scrollWidth <= d.clientWidth && s.scrollWidth <= s.clientWidth &&
	    Array.from(document.querySelectorAll('tr.g .gbtn')).every(b => b.getBoundingClientRect().right <= innerWidth + 0.5) })()`
	if !evalJS[bool](t, ctx, noSideways) {
		t.Error("phone, grouped by error: something is wider than the screen")
	}
	screenshot(t, ctx, "phone-grouped.png")
	evalJS[bool](t, ctx, selectJS("group", ""))
	run(t, ctx, "open details on the phone", 10*time.Second, chromedp.Click(chromedp.CSS(`tr.r td.result`)))
	waitJS(t, ctx, "details on the phone", `document.getElementById('details').open`, 5*time.Second)
	if w := evalJS[[]float64](t, ctx, `(() => { const d = document.getElementById('details'); return [d.getBoundingClientRect().left, d.getBoundingClientRect().right, d.scrollWidth, d.clientWidth] })()`); w[0] < 0 || w[1] > 390 || w[2] > w[3] {
		t.Errorf("phone: the details panel (left %.0f, right %.0f, scrollWidth %.0f, clientWidth %.0f) does not fit 390 px", w[0], w[1], w[2], w[3])
	}
	screenshot(t, ctx, "phone-details.png")
	_ = url.QueryEscape
}

// phoneRowsJS describes every rendered row: its texts, whether the last
// characters of its URL are inside the URL cell (the end tells URLs apart),
// and whether state, URL, result and time sit inside the 390 px screen.
const phoneRowsJS = `Array.from(document.querySelectorAll('tr.r')).filter(tr => { const b = tr.getBoundingClientRect(); return b.top >= 0 && b.bottom <= innerHeight; }).map(tr => {
  const cell = tr.querySelector('td.url'), u = tr.querySelector('.u'), text = u.firstChild;
  const range = document.createRange();
  range.setStart(text, Math.max(0, text.length - 6)); range.setEnd(text, text.length);
  const t = range.getBoundingClientRect(), c = cell.getBoundingClientRect();
  const inside = (el) => { const b = el.getBoundingClientRect(); return b.width > 0 && b.left >= 0 && b.right <= innerWidth + 0.5; };
  return {URL: tr.dataset.url, State: tr.querySelector('.badge').textContent, Result: tr.querySelector('td.result').textContent,
    Since: getComputedStyle(tr.querySelector('td.since'), '::before').content.replace(/"/g, '') + tr.querySelector('td.since').textContent,
    TailInside: t.width > 0 && t.left >= c.left - 0.5 && t.right <= c.right + 0.5,
    AllInside: ['.badge', 'td.url', 'td.result', 'td.since'].every(s => inside(tr.querySelector(s)))};
})`

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
