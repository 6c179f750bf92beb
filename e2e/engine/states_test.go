package engine

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestStates checks each state and its fields, through the WebSocket status
// event of the first verdict and through GET /status.
func TestStates(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	fast := []string{"interval", "1s", "timeout", "300ms"}

	cases := []struct {
		name     string
		setup    func(t *testing.T) string // returns the watched URL
		settings []string
		state    string
		code     int
		kind     string
		errWord  string // the error must contain it
		check    func(t *testing.T, rec record)
	}{
		{
			name:  "healthy 200",
			setup: func(t *testing.T) string { return newTarget(t, modeOK).URL("/ok") },
			state: "healthy", code: 200,
		},
		{
			name:  "unhealthy 503",
			setup: func(t *testing.T) string { return newTarget(t, modeFail).URL("/fail") },
			state: "unhealthy", code: 503,
		},
		{
			name:  "unreachable refused",
			setup: func(t *testing.T) string { return closedPortURL(t, "/refused") },
			state: "unreachable", kind: "refused", errWord: "refused",
		},
		{
			name: "unreachable timeout",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeHang)
				t.Cleanup(func() { wantHeldAtMost(t, tg, 300*time.Millisecond) })
				return tg.URL("/hang")
			},
			state: "unreachable", kind: "timeout", errWord: "timeout",
			check: func(t *testing.T, rec record) {
				if rec.Status.LatencyMS < 250 || rec.Status.LatencyMS > 1000 {
					t.Errorf("timeout latency_ms = %v, want about the 300ms timeout", rec.Status.LatencyMS)
				}
			},
		},
		{
			name:  "unreachable reset",
			setup: func(t *testing.T) string { return newTarget(t, modeClose).URL("/close") },
			state: "unreachable", kind: "reset", errWord: "reset",
		},
		{
			name: "unreachable tls (self-signed certificate)",
			setup: func(t *testing.T) string {
				srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
				srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
				srv.StartTLS()
				t.Cleanup(srv.Close)
				return srv.URL + "/tls"
			},
			state: "unreachable", kind: "tls", errWord: "tls",
		},
		{
			name:  "unreachable protocol",
			setup: func(t *testing.T) string { return garbageServer(t) },
			state: "unreachable", kind: "protocol", errWord: "protocol",
		},
		{
			name: "redirect is an answer, not followed",
			setup: func(t *testing.T) string {
				dest := newTarget(t, modeOK)
				tg := newTarget(t, modeRedirect)
				to := dest.URL("/elsewhere")
				tg.redirectTo.Store(&to)
				t.Cleanup(func() {
					if n := dest.count(); n != 0 {
						t.Errorf("redirect destination got %d requests, want 0 (redirects are not followed)", n)
					}
				})
				return tg.URL("/redirect")
			},
			state: "healthy", code: 302,
		},
		{
			name: "redirect loop costs one request per probe",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeRedirect) // redirects to itself
				start := time.Now()
				t.Cleanup(func() {
					max := int64(time.Since(start).Seconds()) + 2
					if n := tg.count(); n > max {
						t.Errorf("self-redirecting target got %d requests in %s, want at most %d (one per probe)", n, time.Since(start).Round(time.Millisecond), max)
					}
				})
				return tg.URL("/loop")
			},
			state: "healthy", code: 302,
		},
		{
			name: "redirect outside expect is unhealthy",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeRedirect)
				return tg.URL("/loop-strict")
			},
			settings: []string{"expect", "200-299"},
			state:    "unhealthy", code: 302,
		},
		{
			name: "expect=200 makes 204 unhealthy",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeCode)
				tg.code.Store(http.StatusNoContent)
				return tg.URL("/nocontent")
			},
			settings: []string{"expect", "200"},
			state:    "unhealthy", code: 204,
			check: func(t *testing.T, rec record) {
				if rec.Probe.Expect != "200" {
					t.Errorf("probe.expect = %q, want 200", rec.Probe.Expect)
				}
			},
		},
		{
			name: "expect list makes 204 healthy",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeCode)
				tg.code.Store(http.StatusNoContent)
				return tg.URL("/nocontent-ok")
			},
			settings: []string{"expect", "200,204,300-399"},
			state:    "healthy", code: 204,
		},
		{
			name: "default expect makes 404 unhealthy",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeCode)
				tg.code.Store(http.StatusNotFound)
				return tg.URL("/missing")
			},
			state: "unhealthy", code: 404,
		},
		{
			name: "huge body is read only in part",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeHuge)
				t.Cleanup(func() {
					if w := tg.written.Load(); w > 64<<20 {
						t.Errorf("huge-body target wrote %d bytes before the probe closed, want a few KiB plus buffers", w)
					}
					wantHeldAtMost(t, tg, 300*time.Millisecond)
				})
				return tg.URL("/huge")
			},
			state: "healthy", code: 200,
			check: func(t *testing.T, rec record) {
				if rec.Status.LatencyMS > 1000 {
					t.Errorf("huge body probe latency_ms = %v, want under the 300ms timeout plus slack", rec.Status.LatencyMS)
				}
			},
		},
		{
			name: "trickling body costs at most the timeout",
			setup: func(t *testing.T) string {
				tg := newTarget(t, modeTrickle)
				t.Cleanup(func() { wantHeldAtMost(t, tg, 300*time.Millisecond) })
				return tg.URL("/trickle")
			},
			state: "", // only the cost is bounded, not the verdict
			check: func(t *testing.T, rec record) {
				if rec.Status.LatencyMS > 1000 {
					t.Errorf("trickle probe latency_ms = %v, want at most the 300ms timeout plus slack", rec.Status.LatencyMS)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			u := c.setup(t)
			ws := connectWS(t, "ws://"+p.WSAddr+"/")
			ws.waitSynced(t)
			settings := append(append([]string(nil), fast...), c.settings...)
			put(t, p, u, []byte(`{"case":"`+c.name+`"}`), http.StatusCreated, settings...)
			ev := ws.next(t, 10*time.Second, "status event of "+u, func(e event) bool {
				return e.Type == "status" && e.URL == u
			})
			if ev.Previous != "pending" {
				t.Errorf("first status event previous = %q, want pending", ev.Previous)
			}
			if ev.At.IsZero() {
				t.Errorf("status event has no at time")
			}
			if c.state == "" {
				if ev.State == "pending" {
					t.Errorf("status event state pending, want a verdict")
				}
			} else {
				checkStatusFields(t, "status event", status{State: ev.State, Code: ev.Code, Error: ev.Error, ErrorKind: ev.ErrorKind},
					c.state, c.code, c.kind, c.errWord)
			}
			rec := getStatus(t, p, u)
			if c.state != "" {
				checkStatusFields(t, "GET /status", rec.Status, c.state, c.code, c.kind, c.errWord)
			}
			if rec.Status.CheckedAt == nil || rec.Status.CheckedAt.IsZero() || rec.Status.Since.IsZero() {
				t.Errorf("GET /status: checked_at=%v since=%v, want both set after a verdict", rec.Status.CheckedAt, rec.Status.Since)
			}
			if rec.Status.LatencyMS < 0 {
				t.Errorf("GET /status: latency_ms = %v, want ≥ 0", rec.Status.LatencyMS)
			}
			if c.check != nil {
				c.check(t, rec)
			}
			// One more probe interval, so that redirect and body checks at
			// cleanup see more than one probe.
			at := *rec.Status.CheckedAt
			waitStatus(t, p, u, 5*time.Second, "a second probe", func(r record) bool {
				return r.Status.CheckedAt != nil && r.Status.CheckedAt.After(at)
			})
		})
	}
}

// wantHeldAtMost checks that no probe kept a request to tg open much longer
// than the probe timeout.
func wantHeldAtMost(t *testing.T, tg *target, timeout time.Duration) {
	t.Helper()
	if held := time.Duration(tg.maxHold.Load()); held > timeout+400*time.Millisecond {
		t.Errorf("a probe held the target's request open for %s, want at most about the %s timeout", held, timeout)
	}
}

func checkStatusFields(t *testing.T, where string, s status, state string, code int, kind, errWord string) {
	t.Helper()
	if s.State != state {
		t.Errorf("%s: state = %q, want %q (code=%d kind=%q error=%q)", where, s.State, state, s.Code, s.ErrorKind, s.Error)
	}
	if s.Code != code {
		t.Errorf("%s: code = %d, want %d", where, s.Code, code)
	}
	if s.ErrorKind != kind {
		t.Errorf("%s: error_kind = %q, want %q (error %q)", where, s.ErrorKind, kind, s.Error)
	}
	if errWord == "" && s.Error != "" {
		t.Errorf("%s: error = %q, want empty for an answer", where, s.Error)
	}
	if errWord != "" && !strings.Contains(strings.ToLower(s.Error), errWord) {
		t.Errorf("%s: error = %q, want it to contain %q", where, s.Error, errWord)
	}
}

// TestThresholds: with failure_threshold=2 the first failure of a healthy
// URL does not change its state, the second does; with success_threshold=2
// recovery needs two successes.
func TestThresholds(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	tg := newTarget(t, modeOK)
	u := tg.URL("/thresholds")
	ws := connectWS(t, "ws://"+p.HTTPAddr+"/ws")
	ws.waitSynced(t)
	put(t, p, u, nil, http.StatusCreated, "interval", "1s", "timeout", "300ms", "failure_threshold", "2", "success_threshold", "2")
	ev := ws.next(t, 10*time.Second, "healthy status event", func(e event) bool { return e.Type == "status" && e.URL == u })
	if ev.State != "healthy" || ev.Previous != "pending" {
		t.Fatalf("first verdict %v, want healthy from pending", ev)
	}

	// Failing: the first failure is recorded (code 503) but the state stays.
	tg.set(modeFail)
	rec := waitStatus(t, p, u, 5*time.Second, "a first failed probe", func(r record) bool { return r.Status.Code == 503 })
	if rec.Status.State != "healthy" {
		t.Errorf("after one failure with failure_threshold=2: state %q, want still healthy", rec.Status.State)
	}
	ev = ws.next(t, 5*time.Second, "unhealthy status event", func(e event) bool { return e.Type == "status" && e.URL == u })
	if ev.State != "unhealthy" || ev.Previous != "healthy" || ev.Code != 503 {
		t.Errorf("status event %v, want unhealthy from healthy with code 503", ev)
	}
	if n := tg.failures.Load(); n < 2 {
		t.Errorf("turned unhealthy after %d failed requests, want at least 2", n)
	}

	// Recovering: the first success is recorded but the state stays.
	tg.set(modeOK)
	rec = waitStatus(t, p, u, 5*time.Second, "a first good probe", func(r record) bool { return r.Status.Code == 200 })
	if rec.Status.State != "unhealthy" {
		t.Errorf("after one success with success_threshold=2: state %q, want still unhealthy", rec.Status.State)
	}
	ev = ws.next(t, 5*time.Second, "healthy status event", func(e event) bool { return e.Type == "status" && e.URL == u })
	if ev.State != "healthy" || ev.Previous != "unhealthy" || ev.Code != 200 {
		t.Errorf("status event %v, want healthy from unhealthy with code 200", ev)
	}
	for _, e := range ws.all() {
		if e.Type == "status" && e.URL == u && e.State == e.Previous {
			t.Errorf("status event %v does not change the state", e)
		}
	}
}

// TestProbeSlotsBoundedByTimeout: with MAX_PROBES_IN_FLIGHT=1, hanging
// targets hold the only slot for at most their timeout each, so a healthy
// URL is still probed.
func TestProbeSlotsBoundedByTimeout(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "MAX_PROBES_IN_FLIGHT=1", "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=200ms")
	var hangs []*target
	for i := range 2 {
		tg := newTarget(t, modeHang)
		hangs = append(hangs, tg)
		put(t, p, tg.URL("/hang/"+string(rune('a'+i))), nil, http.StatusCreated, "interval", "1s", "timeout", "200ms")
	}
	ok := newTarget(t, modeOK)
	u := ok.URL("/fine")
	put(t, p, u, nil, http.StatusCreated, "interval", "1s", "timeout", "200ms")
	waitStatus(t, p, u, 5*time.Second, "healthy despite hanging neighbours", func(r record) bool { return r.Status.State == "healthy" })
	n := ok.count()
	eventually(t, 5*time.Second, "two more probes of the healthy URL", func() bool { return ok.count() >= n+2 })
	for _, tg := range hangs {
		if tg.count() == 0 {
			t.Errorf("a hanging target was never probed")
		}
		wantHeldAtMost(t, tg, 200*time.Millisecond)
	}
}
