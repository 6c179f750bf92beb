package dashboard

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/spo2/spo2/e2e/harness"
)

// cutter is a TCP proxy on loopback in front of spo2 that can cut every
// open connection at once: a short network drop, with spo2 still running.
type cutter struct {
	ln    net.Listener
	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

func newCutter(t *testing.T, backend string) *cutter {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{ln: ln, conns: map[net.Conn]struct{}{}}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", backend)
			if err != nil {
				in.Close()
				continue
			}
			c.track(in, out)
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); c.cut() })
	return c
}

func (c *cutter) track(conns ...net.Conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, x := range conns {
		c.conns[x] = struct{}{}
	}
}

// cut closes every connection open through the proxy.
func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for x := range c.conns {
		x.Close()
		delete(c.conns, x)
	}
}

func (c *cutter) URL(path string) string { return "http://" + c.ln.Addr().String() + path }

// TestDashboardFleet drives the fleet operations from the page: history in
// the details panel, pause and resume, a silence with its reason, and a
// stream that resumes after a short drop without a new snapshot. It needs
// a server with GET /history, pause=, /silences and "seq"/?since= on the
// stream.
func TestDashboardFleet(t *testing.T) {
	ctx := newBrowser(t)
	tg := newTargets(t)
	p := startSpo2(t)
	cut := newCutter(t, p.HTTPAddr)
	alpha, bravo, charlie := tg.URL("/t/alpha"), tg.URL("/t/bravo"), tg.URL("/t/charlie")
	for _, u := range []string{alpha, bravo, charlie} {
		register(t, p, u, map[string]any{"customer": "cust"})
	}

	run(t, ctx, "open dashboard", 30*time.Second, chromedp.Navigate(cut.URL("/ui/")))
	waitJS(t, ctx, "synced", `window.spo2 && spo2.synced && spo2.rows() === 3 && document.getElementById('n-healthy').textContent === '3'`, 15*time.Second)
	if seq := evalJS[float64](t, ctx, `spo2.lastSeq`); seq <= 0 {
		t.Errorf("no seq seen on the stream (lastSeq %v)", seq)
	}

	// History: a failure and a recovery of bravo show in its details,
	// newest first; its uptime is shown.
	tg.SetPathCode("/t/bravo", http.StatusServiceUnavailable)
	waitJS(t, ctx, "bravo unhealthy", fmt.Sprintf(`spo2.state(%s) === 'unhealthy'`, jsString(bravo)), 10*time.Second)
	tg.SetPathCode("/t/bravo", http.StatusOK)
	waitJS(t, ctx, "bravo healthy", fmt.Sprintf(`spo2.state(%s) === 'healthy'`, jsString(bravo)), 10*time.Second)
	openDetails(t, ctx, bravo)
	waitJS(t, ctx, "history shown", `(() => { const li = document.querySelectorAll('#d-history ol.changes li');
	  return li.length >= 2 && li[0].textContent.startsWith('unhealthy → healthy') && li[1].textContent.startsWith('healthy → unhealthy') })()`, 10*time.Second)

	// Pause and resume from the panel.
	run(t, ctx, "pause", 10*time.Second, chromedp.Click(chromedp.CSS(`#d-pause`)))
	waitJS(t, ctx, "bravo paused", fmt.Sprintf(`spo2.state(%s) === 'paused' && document.getElementById('n-paused').textContent === '1' &&
	  document.getElementById('d-pause').textContent === 'Resume probing'`, jsString(bravo)), 10*time.Second)
	run(t, ctx, "resume", 10*time.Second, chromedp.Click(chromedp.CSS(`#d-pause`)))
	waitJS(t, ctx, "bravo probed again", fmt.Sprintf(`spo2.state(%s) !== 'paused' && document.getElementById('n-paused').textContent === '0'`, jsString(bravo)), 10*time.Second)

	// A silence with its reason: created through the API, marked on the
	// row, its reason in the panel (after a reload the record carries it).
	run(t, ctx, "silence", 10*time.Second,
		chromedp.SendKeys(chromedp.CSS(`#d-reason`), "deploy 42"),
		chromedp.Click(chromedp.CSS(`#d-silence`)))
	waitJS(t, ctx, "silenced", `document.getElementById('d-msg').textContent === 'Silenced for 1 hour.'`, 10*time.Second)
	code, body := api(t, p, http.MethodGet, "/silences", "")
	if code != http.StatusOK || !strings.Contains(body, "deploy 42") || !strings.Contains(body, bravo) {
		t.Errorf("GET /silences: %d %s, want the silence of %s with its reason", code, body, bravo)
	}
	run(t, ctx, "reload", 30*time.Second, chromedp.Reload())
	waitJS(t, ctx, "synced after reload", `window.spo2 && spo2.synced && spo2.rows() === 3`, 15*time.Second)
	waitJS(t, ctx, "silence marker", fmt.Sprintf(`(document.querySelector('tr.r[data-url=' + CSS.escape(%s) + '] .mark')?.textContent || '') !== ''`, jsString(bravo)), 10*time.Second)
	openDetails(t, ctx, bravo)
	waitJS(t, ctx, "silence reason", `document.getElementById('d-fields').textContent.includes('reason: deploy 42')`, 10*time.Second)
	run(t, ctx, "close", 10*time.Second, chromedp.KeyEvent(kb.Escape))

	// A short drop: the page reconnects with ?since= and resumes, without
	// a new snapshot, and applies what changed meanwhile.
	snapshots := evalJS[int](t, ctx, `spo2.snapshots`)
	cut.cut()
	tg.SetPathCode("/t/charlie", http.StatusServiceUnavailable)
	waitJS(t, ctx, "resumed", fmt.Sprintf(`spo2.synced && spo2.resumed === 1 && spo2.snapshots === %d && /[?&]since=\d+/.test(spo2.wsURL)`, snapshots), 20*time.Second)
	waitJS(t, ctx, "the change made during the drop", fmt.Sprintf(`spo2.state(%s) === 'unhealthy' && spo2.rows() === 3`, jsString(charlie)), 15*time.Second)

	// Too old to resume (the server restarted): a fresh snapshot replaces
	// the data.
	if _, err := p.Stop(10 * time.Second); err != nil {
		t.Fatalf("stop spo2: %v", err)
	}
	harness.RestartT(t, p)
	delta := tg.URL("/t/delta")
	register(t, p, delta, nil)
	cut.cut()
	waitJS(t, ctx, "new snapshot after a restart", fmt.Sprintf(`spo2.synced && spo2.snapshots === %d && spo2.rows() === 4 && spo2.state(%s) !== null`, snapshots+1, jsString(delta)), 30*time.Second)
}

// openDetails opens the details panel of u from the keyboard: the row's
// button focused, Enter.
func openDetails(t *testing.T, ctx context.Context, u string) {
	t.Helper()
	run(t, ctx, "open details of "+u, 10*time.Second,
		chromedp.Focus(chromedp.CSS(fmt.Sprintf(`tr.r[data-url="%s"] button.open`, u))),
		chromedp.KeyEvent(kb.Enter))
	waitJS(t, ctx, "details of "+u, fmt.Sprintf(`document.getElementById('details').open && document.getElementById('d-url').textContent === %s`, jsString(u)), 10*time.Second)
}
