package engine

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestDerivedTimeout: PROBE_INTERVAL=2s alone starts; a URL that gives no
// timeout gets the default capped to half its interval and follows later
// interval changes, across a restart too; a given timeout is kept.
func TestDerivedTimeout(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=2s")
	base := closedPortURL(t, "")
	if rec := put(t, p, base+"/default", nil, http.StatusCreated); rec.Probe.Interval != "2s" || rec.Probe.Timeout != "1s" {
		t.Errorf("URL at PROBE_INTERVAL=2s: probe %+v, want 2s and 1s", rec.Probe)
	}
	u := base + "/derived"
	if rec := put(t, p, u, nil, http.StatusCreated, "interval", "1s"); rec.Probe.Timeout != "500ms" {
		t.Errorf("interval=1s alone: timeout %s, want 500ms", rec.Probe.Timeout)
	}
	e := base + "/explicit"
	put(t, p, e, nil, http.StatusCreated, "interval", "10s", "timeout", "3s")

	if _, err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	restart(t, p)

	if rec := put(t, p, u, nil, http.StatusOK, "interval", "1h"); rec.Probe.Timeout != "5s" {
		t.Errorf("derived timeout after interval=1h (and a restart): %s, want the default 5s", rec.Probe.Timeout)
	}
	if rec := put(t, p, e, nil, http.StatusOK, "interval", "1h"); rec.Probe.Timeout != "3s" {
		t.Errorf("explicit timeout after interval=1h: %s, want 3s kept", rec.Probe.Timeout)
	}
	r := do(t, http.MethodPut, p.URL(q("/", e, "interval", "2s")), nil)
	if r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), "timeout 3s") {
		t.Errorf("interval below the explicit timeout: %d %s, want 400 naming timeout 3s", r.Code, r.Body)
	}
	wantErrorJSON(t, "interval below the explicit timeout", r)
}

// TestPutKeepsDataAndNoOpIsSilent: a PUT without a body changes settings
// and keeps the data; an identical PUT answers 200 with the record and
// changes nothing: no write, no event, same updated_at.
func TestPutKeepsDataAndNoOpIsSilent(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	u := closedPortURL(t, "/keep")
	marker := closedPortURL(t, "/marker")
	first := put(t, p, u, []byte(`{"customer":42}`), http.StatusCreated)
	c := connectWS(t, "ws://"+p.WSAddr+"/")
	c.waitSynced(t)

	rec := put(t, p, u, nil, http.StatusOK, "interval", "30s")
	if string(rec.Data) != `{"customer":42}` || rec.Probe.Interval != "30s" {
		t.Errorf("PUT without body: data %s interval %s, want the data kept and 30s", rec.Data, rec.Probe.Interval)
	}
	if r := do(t, http.MethodGet, p.URL(q("/", u)), nil); string(r.Body) != "{\"customer\":42}\n" {
		t.Errorf("GET after a PUT without body: %s", r.Body)
	}
	c.next(t, 5*time.Second, "registered for the settings change", func(e event) bool { return e.Type == "registered" && e.eventURL() == u })
	if !rec.UpdatedAt.After(first.UpdatedAt) {
		t.Errorf("a change kept updated_at %v", rec.UpdatedAt)
	}

	commits := func() float64 {
		v, _ := metricValue(t, p, `spo2_store_commits_total{kind="durable"}`)
		return v
	}
	before := commits()
	for _, same := range []struct {
		body []byte
		kv   []string
	}{{nil, nil}, {[]byte(`{"customer": 42}`), nil}, {[]byte(`{"customer":42}`), []string{"interval", "30s"}}} {
		again := put(t, p, u, same.body, http.StatusOK, same.kv...)
		if !again.UpdatedAt.Equal(rec.UpdatedAt) || string(again.Data) != `{"customer":42}` {
			t.Errorf("identical PUT %s %v: updated_at %v data %s, want %v and the same data", same.body, same.kv, again.UpdatedAt, again.Data, rec.UpdatedAt)
		}
	}
	if after := commits(); after != before {
		t.Errorf("identical PUTs made %v durable commits, want none", after-before)
	}
	// The next event after the no-ops is the marker's: none was sent for u.
	put(t, p, marker, nil, http.StatusCreated)
	ev := c.next(t, 5*time.Second, "the next registered event", func(e event) bool { return e.Type == "registered" })
	if ev.eventURL() != marker {
		t.Errorf("identical PUT sent %v", ev)
	}

	// Explicit null clears the data.
	if rec := put(t, p, u, []byte(`null`), http.StatusOK); string(rec.Data) != "null" {
		t.Errorf("PUT null: data %s, want null", rec.Data)
	}
}

// TestAPIContract covers what the binary itself decides: strict query
// strings (Go's parser drops "a;b" pairs), HEAD, relative redirects, JSON
// errors for the dashboard, WebSocket endpoints and oversized headers, and
// the bulk body checks.
func TestAPIContract(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	u := closedPortURL(t, "/contract")
	put(t, p, u, []byte(`1`), http.StatusCreated)
	before := regView(getAll(t, p))

	for _, c := range []struct {
		name, method, path string
		want               int
		word               string
	}{
		{"semicolon", "PUT", q("/", u) + "&interval=1h;x=1", 400, "semicolon"},
		{"typo", "PUT", q("/", u, "intervall", "5s"), 400, "intervall"},
		{"repeated", "PUT", q("/", u) + "&interval=5s&interval=1h", 400, "interval"},
		{"unknown on /all", "GET", "/all?x=1", 400, `\"x\"`},
		{"unknown dashboard file", "GET", "/ui/nope", 404, "/ui/nope"},
		{"plain GET /ws", "GET", "/ws", 426, "WebSocket"},
	} {
		r := do(t, c.method, p.URL(c.path), nil)
		if r.Code != c.want || !strings.Contains(string(r.Body), c.word) {
			t.Errorf("%s: %d %s, want %d mentioning %s", c.name, r.Code, r.Body, c.want, c.word)
		}
		wantErrorJSON(t, c.name, r)
	}
	r := do(t, http.MethodGet, "http://"+p.WSAddr+"/", nil)
	if r.Code != http.StatusUpgradeRequired {
		t.Errorf("plain GET on the WebSocket listener: %d %s, want 426", r.Code, r.Body)
	}
	wantErrorJSON(t, "plain GET on the WebSocket listener", r)

	for _, path := range []string{"/", "/ui"} {
		if r := do(t, http.MethodGet, p.URL(path), nil); r.Header.Get("Location") != "ui/" {
			t.Errorf("GET %s: %d Location %q, want ui/", path, r.Code, r.Header.Get("Location"))
		}
	}
	// The dashboard's own URLs are relative too, so it works under a prefix.
	page, script := do(t, http.MethodGet, p.URL("/ui/"), nil), do(t, http.MethodGet, p.URL("/ui/app.js"), nil)
	for _, abs := range []string{`src="/`, `href="/`} {
		if strings.Contains(string(page.Body), abs) {
			t.Errorf("dashboard page has an absolute URL (%s)", abs)
		}
	}
	if !strings.Contains(string(script.Body), "new URL('../ws', location.href)") || strings.Contains(string(script.Body), "'/ws'") {
		t.Errorf("dashboard script does not build its WebSocket URL relative to the page")
	}
	for _, path := range []string{"/all", q("/", u), q("/status", u), "/healthz", "/metrics", "/ui/"} {
		if r := do(t, http.MethodHead, p.URL(path), nil); r.Code != http.StatusOK || len(r.Body) != 0 {
			t.Errorf("HEAD %s: %d with %d body bytes, want 200 and none", path, r.Code, len(r.Body))
		}
	}

	// Headers over the API's 64 KiB: JSON 431.
	r = do(t, http.MethodGet, p.URL("/all"), nil, "X-Big", strings.Repeat("x", 100<<10))
	if r.Code != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("100 KiB header: %d, want 431", r.Code)
	}
	wantErrorJSON(t, "100 KiB header", r)

	// Bulk body checks.
	for _, c := range []struct {
		name, body string
		code       int
		word       string
	}{
		{"null body", `null`, 400, "null"},
		{"raw 0xFF in a URL", "[{\"url\":\"" + u + "\xff\"}]", 200, "UTF-8"},
		{"threshold as a string", `[{"url":"` + u + `","failure_threshold":"3"}]`, 200, "JSON number"},
		{"unknown field", `[{"url":"` + u + `","intervall":"5s"}]`, 200, "intervall"},
		{"empty port", `[{"url":"http://127.0.0.1:/"}]`, 200, "empty port"},
		{"data too deep", `[{"url":"` + u + `","data":` + strings.Repeat("[", 65) + strings.Repeat("]", 65) + `}]`, 200, "64"},
	} {
		r := do(t, http.MethodPost, p.URL("/bulk"), []byte(c.body))
		if r.Code != c.code || !strings.Contains(string(r.Body), c.word) {
			t.Errorf("bulk %s: %d %s, want %d mentioning %s", c.name, r.Code, r.Body, c.code, c.word)
		}
		if c.code == 200 {
			var reply struct{ Created, Updated int }
			if json.Unmarshal(r.Body, &reply) != nil || reply.Created+reply.Updated != 0 {
				t.Errorf("bulk %s: %s, want nothing applied", c.name, r.Body)
			}
		}
	}
	if after := regView(getAll(t, p)); after != before {
		t.Errorf("refused requests changed the registrations:\nbefore %s\nafter  %s", before, after)
	}
}

// TestHeadersPastTheServerLimit documents what stays plain text: headers
// over the server's own 1 MiB, and a duplicate Content-Length, are refused
// by Go's HTTP server before SpO₂ sees them.
func TestHeadersPastTheServerLimit(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	for _, c := range []struct {
		name, request string
		code          int
	}{
		{"2 MiB of headers", "GET /all HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("x", 2<<20) + "\r\n\r\n", 431},
		{"duplicate Content-Length", "PUT /?url=http%3A%2F%2F127.0.0.1%3A9%2F HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n12", 400},
	} {
		conn, err := net.DialTimeout("tcp", p.HTTPAddr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		go func() { _, _ = io.WriteString(conn, c.request) }()
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if res.StatusCode != c.code || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("%s: %d %q, want Go's own plain-text %d", c.name, res.StatusCode, res.Header.Get("Content-Type"), c.code)
		}
		res.Body.Close()
		conn.Close()
	}
}

// TestWebSocketProtocolViolation: an unmasked client frame fails the
// connection with close code 1002, on both WebSocket endpoints. Frames are
// read raw: the server closes the TCP connection right after its close
// frame, so a client that answers the close may fail its write.
func TestWebSocketProtocolViolation(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	for _, u := range []string{"ws://" + p.WSAddr + "/", "ws://" + p.HTTPAddr + "/ws"} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, r, err := dialWS(ctx, u, nil)
		cancel()
		if err != nil {
			t.Fatalf("dial %s: %v", u, err)
		}
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		// A text frame as a server would send it: not masked.
		if err := ws.WriteFrame(conn, ws.NewTextFrame([]byte("hi"))); err != nil {
			t.Fatal(err)
		}
		code, err := readCloseCode(r)
		if err != nil || code != ws.StatusProtocolError {
			t.Errorf("%s: after an unmasked frame: close code %d, err %v; want 1002", u, code, err)
		}
		conn.Close()
	}
}

// readCloseCode reads server frames until a close frame and returns its code.
func readCloseCode(r io.Reader) (ws.StatusCode, error) {
	for {
		h, err := ws.ReadHeader(r)
		if err != nil {
			return 0, err
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(r, payload); err != nil {
			return 0, err
		}
		if h.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(payload)
			return code, nil
		}
	}
}
