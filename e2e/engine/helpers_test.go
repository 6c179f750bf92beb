// Package engine holds end-to-end tests of the SpO₂ engine: they build the
// real binary (race-enabled), start it on free loopback ports with a temp
// DB_PATH, run real target servers on 127.0.0.1 and check the behaviour of
// SPEC §2–4 and §8 through HTTP and a real WebSocket client.
package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/spo2/spo2/e2e/harness"
)

// bin is the race-enabled spo2 binary built once in TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spo2-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	bin, err = harness.Build(dir, "-race")
	if err != nil {
		fmt.Fprintln(os.Stderr, "building spo2:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ---------------------------------------------------------------- processes

// startSpo2 starts spo2 with extra KEY=VALUE env pairs. At cleanup it is
// stopped with SIGTERM (unless the test already stopped or killed it), and the
// test fails when the server reported a data race or did not exit cleanly.
func startSpo2(t *testing.T, env ...string) *harness.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := harness.Start(ctx, harness.Options{Bin: bin, TempDir: t.TempDir(), Env: env})
	if err != nil {
		t.Fatalf("starting spo2: %v", err)
	}
	t.Cleanup(func() { stopAndCheck(t, p) })
	return p
}

// stopAndCheck stops p if it still runs and fails the test on a data race
// reported by the race-enabled server or an unclean exit.
func stopAndCheck(t *testing.T, p *harness.Process) {
	t.Helper()
	select {
	case <-p.Exited():
	default:
		if d, err := p.Stop(15 * time.Second); err != nil {
			t.Errorf("spo2 shutdown after %s: got %v, want exit status 0\n%s", d.Round(time.Millisecond), err, tail(p.Logs(), 60))
		}
	}
	checkNoRace(t, p)
}

func checkNoRace(t *testing.T, p *harness.Process) {
	t.Helper()
	if logs := p.Logs(); strings.Contains(logs, "WARNING: DATA RACE") {
		t.Errorf("the race-enabled spo2 reported a data race:\n%s", raceReport(logs))
	}
}

// raceReport extracts the race reports from the logs.
func raceReport(logs string) string {
	i := strings.Index(logs, "WARNING: DATA RACE")
	if i > 200 {
		i -= 200
	}
	out := logs[max(i, 0):]
	if len(out) > 12000 {
		out = out[:12000] + "\n…"
	}
	return out
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// restart starts p again on the same ports and store, failing the test on error.
func restart(t *testing.T, p *harness.Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := p.Restart(ctx); err != nil {
		t.Fatalf("restarting spo2: %v", err)
	}
}

// ---------------------------------------------------------------- HTTP client

// client does not follow redirects: the tests look at them.
var client = &http.Client{
	Timeout: 60 * time.Second,
	Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type response struct {
	Code   int
	Header http.Header
	Body   []byte
}

// send performs one request without failing the test (for goroutines).
func send(method, u string, body []byte, header ...string) (response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, u, r)
	if err != nil {
		return response{}, err
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return response{}, err
	}
	return response{Code: resp.StatusCode, Header: resp.Header, Body: b}, nil
}

// do performs one request and fails the test on transport errors.
func do(t *testing.T, method, u string, body []byte, header ...string) response {
	t.Helper()
	r, err := send(method, u, body, header...)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	return r
}

// q builds "/path?url=<escaped u>&k=v…" from a path, the watched URL and
// extra key/value pairs.
func q(path, watched string, kv ...string) string {
	v := url.Values{}
	v.Set("url", watched)
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// put registers watched with data (nil: empty body) and settings, and wants want.
func put(t *testing.T, p *harness.Process, watched string, data []byte, want int, settings ...string) record {
	t.Helper()
	r := do(t, http.MethodPut, p.URL(q("/", watched, settings...)), data)
	if r.Code != want {
		t.Fatalf("PUT %s: got %d %s, want %d", watched, r.Code, r.Body, want)
	}
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("PUT %s: body %q is not a record: %v", watched, r.Body, err)
	}
	if rec.URL != watched {
		t.Fatalf("PUT %s: record url = %q, want %q", watched, rec.URL, watched)
	}
	return rec
}

// getStatus returns the record of watched from GET /status.
func getStatus(t *testing.T, p *harness.Process, watched string) record {
	t.Helper()
	r := do(t, http.MethodGet, p.URL(q("/status", watched)), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /status?url=%s: got %d %s, want 200", watched, r.Code, r.Body)
	}
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("GET /status: body %q is not a record: %v", r.Body, err)
	}
	return rec
}

// getAll returns GET /all as records.
func getAll(t *testing.T, p *harness.Process) []record {
	t.Helper()
	r := do(t, http.MethodGet, p.URL("/all"), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /all: got %d %s, want 200", r.Code, r.Body)
	}
	var recs []record
	if err := json.Unmarshal(r.Body, &recs); err != nil {
		t.Fatalf("GET /all: body is not a JSON array of records: %v\n%.500s", err, r.Body)
	}
	return recs
}

// waitStatus polls /status until cond holds, failing after d.
func waitStatus(t *testing.T, p *harness.Process, watched string, d time.Duration, desc string, cond func(record) bool) record {
	t.Helper()
	deadline := time.Now().Add(d)
	var last record
	for {
		last = getStatus(t, p, watched)
		if cond(last) {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %s not reached within %s; last status %+v", watched, desc, d, last.Status)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// eventually polls cond every 25ms until it holds, failing after d.
func eventually(t *testing.T, d time.Duration, desc string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true within %s", desc, d)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

// ---------------------------------------------------------------- API shapes

type probeSettings struct {
	Interval         string `json:"interval"`
	Timeout          string `json:"timeout"`
	FailureThreshold int    `json:"failure_threshold"`
	SuccessThreshold int    `json:"success_threshold"`
	Expect           string `json:"expect"`
}

type status struct {
	State     string     `json:"state"`
	Code      int        `json:"code"`
	Error     string     `json:"error"`
	ErrorKind string     `json:"error_kind"`
	LatencyMS float64    `json:"latency_ms"`
	CheckedAt *time.Time `json:"checked_at"`
	Since     time.Time  `json:"since"`
}

type record struct {
	URL       string          `json:"url"`
	Data      json.RawMessage `json:"data"`
	Probe     probeSettings   `json:"probe"`
	Status    status          `json:"status"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// event is any WebSocket event; which fields are set depends on Type.
type event struct {
	Type      string    `json:"type"`
	Record    *record   `json:"record"`
	URL       string    `json:"url"`
	State     string    `json:"state"`
	Previous  string    `json:"previous"`
	Code      int       `json:"code"`
	Error     string    `json:"error"`
	ErrorKind string    `json:"error_kind"`
	LatencyMS float64   `json:"latency_ms"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
}

// eventURL is the URL an event is about.
func (e event) eventURL() string {
	if e.Record != nil {
		return e.Record.URL
	}
	return e.URL
}

func (e event) String() string {
	switch e.Type {
	case "snapshot", "registered":
		if e.Record != nil {
			return fmt.Sprintf("%s(%s %s data=%s)", e.Type, e.Record.URL, e.Record.Status.State, e.Record.Data)
		}
	case "status":
		return fmt.Sprintf("status(%s %s←%s code=%d kind=%q err=%q)", e.URL, e.State, e.Previous, e.Code, e.ErrorKind, e.Error)
	case "removed":
		return fmt.Sprintf("removed(%s reason=%q)", e.URL, e.Reason)
	}
	return e.Type
}

// wantErrorJSON checks that r is a JSON {"error": "…"} answer with a non-empty message.
func wantErrorJSON(t *testing.T, what string, r response) {
	t.Helper()
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil || *e.Error == "" {
		t.Errorf("%s: body %q is not a JSON {\"error\": \"…\"} with a message", what, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
}

// ---------------------------------------------------------------- WebSocket

// wsClient reads a WebSocket stream in the background and keeps every event.
type wsClient struct {
	conn net.Conn

	mu      sync.Mutex
	events  []event
	changed chan struct{} // closed and replaced on each new event or on end
	ended   bool
	endErr  error // wsutil.ClosedError for a close frame, else the read error
	cursor  int   // used by next
}

// dialWS opens a WebSocket to addr+path (token: added as ?token= when set,
// headers as extra handshake headers) without reading from it.
func dialWS(ctx context.Context, u string, header http.Header) (net.Conn, io.Reader, error) {
	d := ws.Dialer{Timeout: 10 * time.Second}
	if header != nil {
		d.Header = ws.HandshakeHeaderHTTP(header)
	}
	conn, br, _, err := d.Dial(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = conn
	if br != nil {
		r = br // holds bytes the server sent right after the handshake
	}
	return conn, r, nil
}

// connectWS dials u and starts reading; the connection is closed at cleanup.
func connectWS(t *testing.T, u string, header ...string) *wsClient {
	t.Helper()
	var h http.Header
	if len(header) > 0 {
		h = http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, r, err := dialWS(ctx, u, h)
	if err != nil {
		t.Fatalf("WebSocket dial %s: %v", u, err)
	}
	c := newWSClient(conn, r)
	t.Cleanup(func() { conn.Close() })
	return c
}

func newWSClient(conn net.Conn, r io.Reader) *wsClient {
	c := &wsClient{conn: conn, changed: make(chan struct{})}
	rw := struct {
		io.Reader
		io.Writer
	}{r, conn}
	go func() {
		for {
			b, op, err := wsutil.ReadServerData(rw)
			if err != nil {
				c.end(err)
				return
			}
			if op != ws.OpText {
				c.end(fmt.Errorf("server sent a %v data frame, want text", op))
				return
			}
			if !utf8.Valid(b) {
				// RFC 6455 §8.1: browsers fail the connection on such a frame.
				c.end(fmt.Errorf("text frame is not valid UTF-8: %.200q", b))
				return
			}
			var raw []json.RawMessage
			if err := json.Unmarshal(b, &raw); err != nil {
				c.end(fmt.Errorf("frame is not a JSON array: %v: %.200s", err, b))
				return
			}
			evs := make([]event, 0, len(raw))
			for _, m := range raw {
				var e event
				if err := json.Unmarshal(m, &e); err != nil || e.Type == "" {
					c.end(fmt.Errorf("event %.200s is not an object with a type (%v)", m, err))
					return
				}
				evs = append(evs, e)
			}
			c.add(evs)
		}
	}()
	return c
}

func (c *wsClient) add(evs []event) {
	c.mu.Lock()
	c.events = append(c.events, evs...)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *wsClient) end(err error) {
	c.mu.Lock()
	if !c.ended {
		c.ended, c.endErr = true, err
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
}

// state returns a copy of the events so far, whether the stream ended and why.
func (c *wsClient) state() ([]event, bool, error, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]event(nil), c.events...), c.ended, c.endErr, c.changed
}

// all returns every event received so far.
func (c *wsClient) all() []event {
	evs, _, _, _ := c.state()
	return evs
}

// next returns the first event after the cursor that matches, moving the
// cursor past it; it fails the test after d.
func (c *wsClient) next(t *testing.T, d time.Duration, desc string, match func(event) bool) event {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		evs, ended, endErr, changed := c.state()
		for i := c.cursor; i < len(evs); i++ {
			if match(evs[i]) {
				c.cursor = i + 1
				return evs[i]
			}
		}
		if ended {
			t.Fatalf("WebSocket ended (%v) before %s; events after cursor: %v", endErr, desc, evs[c.cursor:])
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("no %s within %s; events after cursor: %v", desc, d, summarize(evs[c.cursor:]))
		}
	}
}

// waitEnd waits until the stream ends and returns why.
func (c *wsClient) waitEnd(d time.Duration) (error, bool) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		_, ended, err, changed := c.state()
		if ended {
			return err, true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return nil, false
		}
	}
}

// waitSynced waits for the synced event and checks that everything before it
// is a snapshot event; it returns the snapshot records by URL.
func (c *wsClient) waitSynced(t *testing.T) map[string]record {
	t.Helper()
	c.next(t, 15*time.Second, "synced event", func(e event) bool { return e.Type == "synced" })
	evs := c.all()
	snap := map[string]record{}
	for i, e := range evs[:c.cursor-1] {
		if e.Type != "snapshot" || e.Record == nil {
			t.Fatalf("event %d before synced is %v, want only snapshot events with a record", i, e)
		}
		if _, dup := snap[e.Record.URL]; dup {
			t.Errorf("snapshot holds %s twice", e.Record.URL)
		}
		snap[e.Record.URL] = *e.Record
	}
	return snap
}

func summarize(evs []event) string {
	if len(evs) > 20 {
		return fmt.Sprintf("%v … (%d more)", evs[:20], len(evs)-20)
	}
	return fmt.Sprint(evs)
}

// closeCode returns the close frame's code when err reports one.
func closeCode(err error) (ws.StatusCode, bool) {
	var ce wsutil.ClosedError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}

// ---------------------------------------------------------------- targets

// Target behaviours.
const (
	modeOK       int32 = iota // 200 "ok"
	modeFail                  // 503
	modeHang                  // never answers until the request ends
	modeClose                 // closes the connection without an answer
	modeRedirect              // 302 to redirectTo
	modeHuge                  // 200 with an endless body
	modeTrickle               // 200, then one body byte every 50ms
	modeCode                  // answers code
)

// target is an httptest server on 127.0.0.1 whose behaviour can be switched
// at run time; it counts requests.
type target struct {
	srv        *httptest.Server
	mode       atomic.Int32
	code       atomic.Int32
	requests   atomic.Int64
	failures   atomic.Int64 // requests answered while in modeFail/modeCode
	redirectTo atomic.Pointer[string]
	written    atomic.Int64 // body bytes written in modeHuge/modeTrickle
	maxHold    atomic.Int64 // longest a hang/huge/trickle request was held open, in ns
	stop       chan struct{}
}

func newTarget(t *testing.T, mode int32) *target {
	t.Helper()
	tg := &target{stop: make(chan struct{})}
	tg.mode.Store(mode)
	tg.code.Store(http.StatusOK)
	tg.srv = httptest.NewServer(http.HandlerFunc(tg.serve))
	t.Cleanup(func() {
		close(tg.stop)
		tg.srv.CloseClientConnections()
		tg.srv.Close()
	})
	return tg
}

func (tg *target) URL(path string) string { return tg.srv.URL + path }

func (tg *target) set(mode int32) { tg.mode.Store(mode) }

func (tg *target) count() int64 { return tg.requests.Load() }

// hold records how long a hang/huge/trickle request stayed open.
func (tg *target) hold(start time.Time) {
	d := int64(time.Since(start))
	for {
		cur := tg.maxHold.Load()
		if d <= cur || tg.maxHold.CompareAndSwap(cur, d) {
			return
		}
	}
}

func (tg *target) serve(w http.ResponseWriter, r *http.Request) {
	tg.requests.Add(1)
	switch tg.mode.Load() {
	case modeOK:
		_, _ = io.WriteString(w, "ok")
	case modeFail:
		tg.failures.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case modeCode:
		tg.failures.Add(1)
		w.WriteHeader(int(tg.code.Load()))
	case modeHang:
		defer tg.hold(time.Now())
		select {
		case <-r.Context().Done():
		case <-tg.stop:
		}
	case modeClose:
		hj, ok := w.(http.Hijacker)
		if !ok {
			panic("no hijacker")
		}
		conn, _, err := hj.Hijack()
		if err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // a reset, not a polite FIN
			}
			conn.Close()
		}
	case modeRedirect:
		to := tg.URL("/")
		if p := tg.redirectTo.Load(); p != nil {
			to = *p
		}
		http.Redirect(w, r, to, http.StatusFound)
	case modeHuge:
		defer tg.hold(time.Now())
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for tg.written.Load() < 1<<30 {
			n, err := w.Write(chunk)
			tg.written.Add(int64(n))
			if err != nil {
				return
			}
		}
	case modeTrickle:
		defer tg.hold(time.Now())
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			if _, err := w.Write([]byte("x")); err != nil {
				return
			}
			if rc.Flush() != nil {
				return
			}
			tg.written.Add(1)
			select {
			case <-tick.C:
			case <-r.Context().Done():
				return
			case <-tg.stop:
				return
			}
		}
	}
}

// closedPortURL returns an http URL on 127.0.0.1 whose port has no listener.
func closedPortURL(t *testing.T, path string) string {
	t.Helper()
	addr, err := harness.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	return "http://" + addr + path
}

// garbageServer accepts connections on 127.0.0.1 and answers bytes that are
// not HTTP.
func garbageServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(2 * time.Second))
				buf := make([]byte, 4096)
				_, _ = c.Read(buf)
				_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n")
			}()
		}
	}()
	return "http://" + ln.Addr().String() + "/health"
}
