package engine

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// The shortest lease the API accepts is 10s, and no setting lowers it: these
// tests wait for real 10s and 15s leases, in parallel with the others.

// expiredEvent matches the removed event of u with reason "expired".
func expiredEvent(u string) func(event) bool {
	return func(e event) bool { return e.Type == "removed" && e.URL == u && e.Reason == "expired" }
}

// inAll reports whether GET /all lists u.
func inAll(t *testing.T, p *harness.Process, u string) bool {
	t.Helper()
	for _, rec := range getAll(t, p) {
		if rec.URL == u {
			return true
		}
	}
	return false
}

// TestLeaseExpiresUnlessRenewed: a URL with ttl=10s and no PUT since is
// removed by itself (a removed event with reason "expired" on a real
// WebSocket client, gone from GET /all, counted in /metrics); one renewed by
// a PUT every 2s is still there well after its first deadline, with its
// expires_at moved on each time.
func TestLeaseExpiresUnlessRenewed(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	defer stopAndCheck(t, p)
	ws := connectWS(t, "ws://"+p.WSAddr+"/")
	ws.waitSynced(t)
	lapsed, renewed := closedPortURL(t, "/lease/lapsed"), closedPortURL(t, "/lease/renewed")
	first := put(t, p, lapsed, []byte(`{"k":1}`), http.StatusCreated, "ttl", "10s")
	if first.ExpiresAt == nil || first.ExpiresAt.Sub(first.CreatedAt) != 10*time.Second {
		t.Fatalf("expires_at %v, want created_at %v + 10s", first.ExpiresAt, first.CreatedAt)
	}
	due := *put(t, p, renewed, nil, http.StatusCreated, "ttl", "10s").ExpiresAt
	last := due
	for range 7 { // PUTs without ttl renew: 14s, past the first deadline
		time.Sleep(2 * time.Second)
		rec := put(t, p, renewed, nil, http.StatusOK)
		if rec.ExpiresAt == nil || !rec.ExpiresAt.After(last) {
			t.Fatalf("renewal: expires_at %v, want after %v", rec.ExpiresAt, last)
		}
		last = *rec.ExpiresAt
	}
	ws.next(t, 10*time.Second, "lapsed lease removed as expired", expiredEvent(lapsed))
	if time.Now().Before(due.Add(time.Second)) {
		t.Fatal("the renewals ended before the first deadline")
	}
	if inAll(t, p, lapsed) {
		t.Fatal("an expired URL is still in GET /all")
	}
	if !inAll(t, p, renewed) {
		t.Fatal("a renewed lease expired at its first deadline")
	}
	if r := do(t, http.MethodGet, p.URL(q("/", lapsed)), nil); r.Code != http.StatusNotFound {
		t.Fatalf("GET an expired URL: %d %s, want 404", r.Code, r.Body)
	}
	if v, ok := metricValue(t, p, "spo2_leases_expired_total"); !ok || v != 1 {
		t.Fatalf("spo2_leases_expired_total %v (found %v), want 1", v, ok)
	}
	// ttl=0 clears the lease: no expires_at, and it never expires.
	if rec := put(t, p, renewed, nil, http.StatusOK, "ttl", "0"); rec.ExpiresAt != nil {
		t.Fatalf("ttl=0 left expires_at %v", rec.ExpiresAt)
	}
	for _, bad := range []string{"9s", "721h", "-1m", "soon"} {
		r := do(t, http.MethodPut, p.URL(q("/", renewed, "ttl", bad)), nil)
		if r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), "ttl") {
			t.Fatalf("ttl=%s: %d %s, want a 400 naming ttl", bad, r.Code, r.Body)
		}
	}
	if st := getStatus(t, p, renewed); st.ExpiresAt != nil {
		t.Fatalf("a refused ttl changed the record: %+v", st)
	}
}

// TestLeaseExpiryDurableAcrossKill9: a lease that expired before a kill -9
// stays removed after the restart, and one that fell due while SpO₂ was
// down expires as soon as it starts (logged once, with the count).
func TestLeaseExpiryDurableAcrossKill9(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	defer stopAndCheck(t, p)
	ws := connectWS(t, "ws://"+p.WSAddr+"/")
	ws.waitSynced(t)
	early, down, kept := closedPortURL(t, "/kill/early"), closedPortURL(t, "/kill/down"), closedPortURL(t, "/kill/kept")
	put(t, p, early, nil, http.StatusCreated, "ttl", "10s")
	downDue := *put(t, p, down, nil, http.StatusCreated, "ttl", "15s").ExpiresAt
	put(t, p, kept, nil, http.StatusCreated, "ttl", "1h")
	ws.next(t, 20*time.Second, "early lease expired", expiredEvent(early))
	p.Kill()
	checkNoRace(t, p)
	// Stay down until the second lease is past due: the deadline is wall
	// time, there is no event to await while the process is gone.
	time.Sleep(time.Until(downDue.Add(500 * time.Millisecond)))
	restart(t, p)
	eventually(t, 10*time.Second, "the lease that fell due during downtime expires at start", func() bool {
		return !inAll(t, p, down)
	})
	if inAll(t, p, early) {
		t.Fatal("a lease expired before kill -9 is back after the restart")
	}
	if rec := getStatus(t, p, kept); rec.ExpiresAt == nil {
		t.Fatalf("the unexpired lease lost its deadline: %+v", rec)
	}
	if n := strings.Count(p.Logs(), "leases expired while SpO₂ was down"); n != 1 || !strings.Contains(p.Logs(), "count=1") {
		t.Fatalf("start-up expiry logged %d times:\n%s", n, tail(p.Logs(), 20))
	}
}

// TestPauseStopsRequestsAndResumeProbesAtOnce: a paused URL's target sees no
// request, its state is paused (streamed with the previous state), and
// resuming probes at once: with a one-hour interval only the resume can
// cause the probe whose verdict is awaited.
func TestPauseStopsRequestsAndResumeProbesAtOnce(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	defer stopAndCheck(t, p)
	tg := newTarget(t, modeCode)
	u := tg.URL("/pause")
	ws := connectWS(t, "ws://"+p.WSAddr+"/")
	ws.waitSynced(t)
	put(t, p, u, nil, http.StatusCreated, "interval", "1s", "timeout", "200ms")
	ws.next(t, 10*time.Second, "healthy", func(e event) bool { return e.Type == "status" && e.URL == u && e.State == "healthy" })
	eventually(t, 10*time.Second, "probes every second", func() bool { return tg.count() >= 3 })

	rec := put(t, p, u, nil, http.StatusOK, "pause", "true")
	if rec.Status.State != "paused" {
		t.Fatalf("PUT pause=true answered state %q", rec.Status.State)
	}
	ev := ws.next(t, 10*time.Second, "paused", func(e event) bool { return e.Type == "status" && e.URL == u && e.State == "paused" })
	if ev.Previous != "healthy" {
		t.Fatalf("paused event %s, want previous healthy", ev)
	}
	// A probe already in flight at the pause may still reach the target; it
	// ends within its 200ms timeout. Then no request may come for several
	// intervals: nothing happens that an event could announce, so the check
	// is that the count stays put over 3.5 intervals of 1s.
	time.Sleep(300 * time.Millisecond)
	paused := tg.count()
	harness.Holds(t, 3500*time.Millisecond, "no request to a paused URL", func() bool { return tg.count() == paused })
	if st := getStatus(t, p, u); st.Status.State != "paused" {
		t.Fatalf("GET /status of a paused URL: %q", st.Status.State)
	}

	// While paused, a settings change does not probe either; resumed, the
	// first verdict comes at once although the interval is an hour.
	put(t, p, u, nil, http.StatusOK, "interval", "1h", "timeout", "1s")
	tg.code.Store(503)
	put(t, p, u, nil, http.StatusOK, "pause", "false")
	ev = ws.next(t, 10*time.Second, "verdict after resume", func(e event) bool { return e.Type == "status" && e.URL == u && e.State != "paused" })
	if ev.State != "unhealthy" || ev.Previous != "paused" || ev.Code != 503 {
		t.Fatalf("first event after resume %s, want unhealthy←paused 503", ev)
	}
	if tg.count() != paused+1 {
		t.Fatalf("%d requests after resume, want exactly one more than the %d before", tg.count(), paused)
	}
	if r := do(t, http.MethodPut, p.URL(q("/", u, "pause", "yes")), nil); r.Code != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), "pause") {
		t.Fatalf("pause=yes: %d %s, want a 400 naming pause", r.Code, r.Body)
	}
}

// TestPausedSurvivesRestart: URLs paused by a PUT and by a bulk item stay
// paused, unprobed, after a kill -9 and a restart; a resume then probes.
func TestPausedSurvivesRestart(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	defer stopAndCheck(t, p)
	tg := newTarget(t, modeOK)
	byPut, byBulk := tg.URL("/paused/put"), tg.URL("/paused/bulk")
	put(t, p, byPut, nil, http.StatusCreated)
	eventually(t, 10*time.Second, "first probe", func() bool { return tg.count() >= 1 })
	if rec := put(t, p, byPut, nil, http.StatusOK, "pause", "true"); rec.Status.State != "paused" {
		t.Fatalf("PUT pause=true answered %q", rec.Status.State)
	}
	body := fmt.Sprintf(`[{"url":%q,"pause":true,"ttl":"1h"}]`, byBulk)
	if r := do(t, http.MethodPost, p.URL("/bulk"), []byte(body)); r.Code != http.StatusOK ||
		!strings.Contains(string(r.Body), `"created":1`) {
		t.Fatalf("bulk with pause: %d %s", r.Code, r.Body)
	}
	if st := getStatus(t, p, byBulk); st.Status.State != "paused" || st.ExpiresAt == nil {
		t.Fatalf("a URL registered paused shows %q, expires_at %v", st.Status.State, st.ExpiresAt)
	}
	p.Kill()
	checkNoRace(t, p)
	restart(t, p)
	for _, u := range []string{byPut, byBulk} {
		if st := getStatus(t, p, u); st.Status.State != "paused" {
			t.Fatalf("%s after the restart: %q, want paused", u, st.Status.State)
		}
	}
	// Every URL is probed within one interval of a restart, unless paused:
	// the count stays put over three intervals.
	before := tg.count()
	harness.Holds(t, 3*time.Second, "no request to paused URLs after a restart", func() bool { return tg.count() == before })
	put(t, p, byBulk, nil, http.StatusOK, "pause", "false")
	waitStatus(t, p, byBulk, 10*time.Second, "healthy after resume", func(r record) bool { return r.Status.State == "healthy" })
	if st := getStatus(t, p, byPut); st.Status.State != "paused" {
		t.Fatalf("resuming one URL resumed another: %q", st.Status.State)
	}
}
