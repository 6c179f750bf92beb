package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/spo2/spo2/e2e/harness"
)

// spo2 is the binary under test, built on first use.
var spo2 harness.Binary

func TestMain(m *testing.M) {
	code := m.Run()
	spo2.Remove()
	removeAxe()
	os.Exit(code)
}

// startSpo2 runs the real binary with a temp store; it is stopped and
// checked at the end. See harness.StartT.
func startSpo2(t *testing.T, env ...string) *harness.Process {
	t.Helper()
	return harness.StartT(t, spo2.Path(t), env...)
}

// newTargets starts a farm of health endpoints on loopback: /t/NAME answers
// 200 until tg.SetPathCode("/t/NAME", code) says otherwise.
func newTargets(t *testing.T) *harness.Target { return harness.NewTarget(t, harness.Healthy) }

// api sends one request to spo2 and returns the status code and body.
func api(t *testing.T, p *harness.Process, method, pathAndQuery, body string, header ...string) (int, string) {
	t.Helper()
	r := harness.Do(t, http.DefaultClient, method, p.URL(pathAndQuery), []byte(body), header...)
	return r.Code, string(r.Body)
}

// register PUTs u with fast probe settings and data as its custom data.
func register(t *testing.T, p *harness.Process, u string, data any, header ...string) {
	t.Helper()
	b, _ := json.Marshal(data)
	code, body := api(t, p, http.MethodPut, "/?url="+url.QueryEscape(u)+"&interval=1s&timeout=500ms&failure_threshold=1", string(b), header...)
	if code != http.StatusCreated && code != http.StatusOK {
		t.Fatalf("PUT %s: %d %s", u, code, body)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// rowState is a JS expression: the data-state of the rendered row for u, or
// undefined when no row is rendered for it.
func rowState(u string) string {
	return fmt.Sprintf(`document.querySelector('tr.r[data-url=' + CSS.escape(%s) + ']')?.dataset.state`, jsString(u))
}

// renderedURLs is a JS expression: the URLs of the rendered rows, in order.
const renderedURLs = `Array.from(document.querySelectorAll('tr.r')).map(r => r.dataset.url)`

func renderedAre(urls ...string) string {
	b, _ := json.Marshal(urls)
	return fmt.Sprintf(`JSON.stringify(%s.slice().sort()) === JSON.stringify(%s.slice().sort())`, renderedURLs, string(b))
}

// TestDashboardLive drives the dashboard of a real spo2 against real
// targets: snapshot, live state change, filters, removal, and a server
// restart, all without reloading the page.
func TestDashboardLive(t *testing.T) {
	ctx := newBrowser(t)
	tg := newTargets(t)
	p := startSpo2(t)

	names := []string{"alpha", "bravo", "charlie", "delta", "echo", "foxtrot"}
	var all []string
	for i, n := range names {
		register(t, p, tg.URL("/t/"+n), map[string]any{"customer": "cust-" + n, "index": i})
		all = append(all, tg.URL("/t/"+n))
	}

	// GET / (no url) leads to the dashboard.
	run(t, ctx, "open dashboard", 30*time.Second, chromedp.Navigate(p.URL("/")))
	waitJS(t, ctx, "the snapshot with every URL", `window.spo2 && spo2.synced && spo2.rows() === 6 && `+renderedAre(all...), 15*time.Second)
	waitJS(t, ctx, "every URL healthy", `document.querySelectorAll('tr.r[data-state="healthy"]').length === 6`, 15*time.Second)
	var loc string
	loc = evalJS[string](t, ctx, `location.pathname`)
	if loc != "/ui/" {
		t.Errorf("GET / landed on %q, want /ui/", loc)
	}
	waitJS(t, ctx, "custom data and code shown",
		fmt.Sprintf(`(() => { const r = document.querySelector('tr.r[data-url=' + CSS.escape(%s) + ']');
		  return r && r.querySelector('td.data').textContent.includes('customer=cust-alpha') &&
		    r.querySelector('td.result').textContent === 'HTTP 200' && /ms$/.test(r.querySelector('td.lat').textContent) })()`, jsString(tg.URL("/t/alpha"))),
		5*time.Second)
	waitJS(t, ctx, "count buttons", `document.getElementById('n-healthy').textContent === '6' && document.getElementById('n-all').textContent === '6'`, 5*time.Second)

	// A target turning 503 turns its row unhealthy, first in the table, and
	// the title counts it; no reload.
	tg.SetPathCode("/t/bravo", http.StatusServiceUnavailable)
	bravo := tg.URL("/t/bravo")
	waitJS(t, ctx, "bravo unhealthy", rowState(bravo)+` === 'unhealthy'`, 10*time.Second)
	waitJS(t, ctx, "bravo first with its code, title counting it",
		fmt.Sprintf(`(() => { const r = document.querySelector('tr.r');
		  return r.dataset.url === %s && r.querySelector('td.result').textContent === 'HTTP 503' &&
		    r.querySelector('.badge').textContent === 'unhealthy' && document.title.includes('1 failing') })()`, jsString(bravo)),
		5*time.Second)

	// State filter, by keyboard: focus the "Unhealthy" count and press Enter.
	run(t, ctx, "filter unhealthy", 10*time.Second,
		chromedp.Focus(chromedp.CSS(`button[data-filter="unhealthy"]`)),
		chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "only bravo shown", renderedAre(bravo)+` && document.querySelector('button[data-filter="unhealthy"]').getAttribute('aria-pressed') === 'true'`, 5*time.Second)
	run(t, ctx, "filter healthy too", 10*time.Second, chromedp.Click(chromedp.CSS(`button[data-filter="healthy"]`)))
	waitJS(t, ctx, "every URL shown with two states selected", `spo2.visible() === 6`, 5*time.Second)
	run(t, ctx, "clear state filter", 10*time.Second, chromedp.Click(chromedp.CSS(`button[data-filter="all"]`)))
	waitJS(t, ctx, "every URL shown", renderedAre(all...), 5*time.Second)

	// Text filter over data and URL, by keyboard; Escape clears it.
	run(t, ctx, "text filter", 10*time.Second,
		chromedp.Focus(chromedp.CSS(`#q`)),
		chromedp.KeyEvent("cust-delta"))
	waitJS(t, ctx, "only delta shown", renderedAre(tg.URL("/t/delta"))+` && document.activeElement.id === 'q'`, 5*time.Second)
	run(t, ctx, "text filter on URL", 10*time.Second, chromedp.KeyEvent(kb.Escape), chromedp.KeyEvent("/t/ech"))
	waitJS(t, ctx, "only echo shown", renderedAre(tg.URL("/t/echo")), 5*time.Second)
	run(t, ctx, "clear text filter", 10*time.Second, chromedp.KeyEvent(kb.Escape))
	waitJS(t, ctx, "every URL shown again", renderedAre(all...)+` && document.getElementById('q').value === ''`, 5*time.Second)

	// A removed URL disappears.
	charlie := tg.URL("/t/charlie")
	if code, body := api(t, p, http.MethodDelete, "/?url="+url.QueryEscape(charlie), ""); code != http.StatusOK {
		t.Fatalf("DELETE charlie: %d %s", code, body)
	}
	waitJS(t, ctx, "charlie gone", rowState(charlie)+` === undefined && spo2.rows() === 5`, 10*time.Second)

	// An unreachable URL shows its error kind.
	gone := harness.ClosedPortURL(t, "/t/gone")
	register(t, p, gone, map[string]any{"customer": "cust-gone"})
	waitJS(t, ctx, "unreachable row", rowState(gone)+` === 'unreachable'`, 10*time.Second)
	waitJS(t, ctx, "refused shown", fmt.Sprintf(`document.querySelector('tr.r[data-url=' + CSS.escape(%s) + '] td.result').textContent.includes('refused')`, jsString(gone)), 5*time.Second)

	// Light and dark schemes: screenshots, and every text meets 4.5:1.
	for _, scheme := range []string{"light", "dark"} {
		run(t, ctx, "emulate "+scheme, 10*time.Second, colorScheme(scheme))
		waitJS(t, ctx, scheme+" scheme applied", fmt.Sprintf(`matchMedia('(prefers-color-scheme: %s)').matches`, scheme), 5*time.Second)
		c := evalJS[contrast](t, ctx, contrastJS)
		t.Logf("%s scheme: lowest text contrast %.2f:1 (%s)", scheme, c.Min, c.Which)
		if c.Min < 4.5 {
			t.Errorf("%s scheme: contrast %.2f:1 below 4.5:1 for %s", scheme, c.Min, c.Which)
		}
		name := "dashboard.png"
		if scheme == "dark" {
			name = "dashboard-dark.png"
		}
		shot := screenshot(t, ctx, name)
		if os.Getenv("SPO2_UPDATE_SCREENSHOT") == "1" {
			copyFile(t, shot, filepath.Join("..", "..", "docs", name))
		}
	}
	run(t, ctx, "reset scheme", 10*time.Second, colorScheme(""))

	// Restart: the page shows it is reconnecting, then resyncs and shows the
	// current data (a URL registered after the restart, a state that changed
	// while the server was down).
	if _, err := p.Stop(10 * time.Second); err != nil {
		t.Fatalf("stop spo2: %v", err)
	}
	waitJS(t, ctx, "reconnecting indicator",
		`spo2.conn === 'reconnecting' && !spo2.synced && document.getElementById('conn').offsetParent !== null && document.getElementById('conn-text').textContent.startsWith('Reconnecting') && document.title.startsWith('⟳')`,
		10*time.Second)
	screenshot(t, ctx, "reconnecting.png")
	tg.SetPathCode("/t/bravo", http.StatusOK)
	tg.SetPathCode("/t/echo", http.StatusInternalServerError)
	harness.RestartT(t, p)
	golf := tg.URL("/t/golf")
	register(t, p, golf, map[string]any{"customer": "cust-golf"})
	waitJS(t, ctx, "resynced after restart", `spo2.synced && spo2.connects >= 2 && spo2.conn === 'live' && spo2.rows() === 7`, 20*time.Second)
	waitJS(t, ctx, "current data after restart",
		rowState(golf)+` !== undefined && `+rowState(charlie)+` === undefined && `+
			rowState(bravo)+` === 'healthy' && `+rowState(tg.URL("/t/echo"))+` === 'unhealthy'`, 15*time.Second)
	waitJS(t, ctx, "title after restart", `document.title.includes('2 failing')`, 5*time.Second)
	screenshot(t, ctx, "after-restart.png")
}

// TestDashboardToken checks that with API_TOKEN set the page asks for the
// token once, reports a wrong one, and keeps a right one for the tab.
func TestDashboardToken(t *testing.T) {
	ctx := newBrowser(t)
	tg := newTargets(t)
	const token = "s3cret-token"
	p := startSpo2(t, "API_TOKEN="+token)
	register(t, p, tg.URL("/t/alpha"), map[string]any{"customer": "cust-alpha"}, "Authorization", "Bearer "+token)

	// The page itself holds no data and must load without the token (a
	// browser cannot add an Authorization header to a navigation); the data
	// flows through /ws, which checks ?token=.
	for _, path := range []string{"/ui/", "/ui/app.js", "/ui/style.css"} {
		if code, _ := api(t, p, http.MethodGet, path, ""); code != http.StatusOK {
			t.Fatalf("GET %s without token: %d, want 200: with API_TOKEN set the dashboard's static files must be served without the token", path, code)
		}
	}
	if code, _ := api(t, p, http.MethodGet, "/ws", ""); code != http.StatusUnauthorized {
		t.Fatalf("GET /ws without token: %d, want 401", code)
	}
	tokenFlow(t, ctx, p.URL("/ui/"), token, 1)
}

// tokenFlow opens the page at pageURL on a server that wants token and
// walks through the token form: a wrong token is reported, the right one
// syncs wantRows URLs and survives a reload.
func tokenFlow(t *testing.T, ctx context.Context, pageURL, token string, wantRows int) {
	t.Helper()
	run(t, ctx, "open dashboard", 30*time.Second, chromedp.Navigate(pageURL))
	run(t, ctx, "token form shown", 10*time.Second, chromedp.WaitVisible(chromedp.CSS(`#auth`)))
	if n := evalJS[int](t, ctx, `spo2.rows()`); n != 0 {
		t.Fatalf("rows before the token: %d", n)
	}
	run(t, ctx, "wrong token", 10*time.Second, chromedp.SendKeys(chromedp.CSS(`#token`), "wrong"+kb.Enter))
	waitJS(t, ctx, "wrong token reported", `document.getElementById('auth').open && !document.getElementById('auth-error').hidden && document.getElementById('auth-error').textContent.includes('rejected')`, 10*time.Second)
	run(t, ctx, "right token", 10*time.Second, chromedp.SendKeys(chromedp.CSS(`#token`), token+kb.Enter))
	waitJS(t, ctx, "synced with token", fmt.Sprintf(`spo2.synced && spo2.rows() === %d && !document.getElementById('auth').open`, wantRows), 10*time.Second)

	// Kept for the tab: a reload connects without asking.
	run(t, ctx, "reload", 30*time.Second, chromedp.Reload())
	waitJS(t, ctx, "synced after reload without asking", fmt.Sprintf(`window.spo2 && spo2.synced && spo2.conn === 'live' && spo2.rows() === %d && !document.getElementById('auth').open`, wantRows), 10*time.Second)
	if got := evalJS[string](t, ctx, `sessionStorage.getItem('spo2.token')`); got != token {
		t.Errorf("sessionStorage token %q, want %q", got, token)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("updated %s", to)
}
