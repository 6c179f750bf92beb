package engine

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

type change = harness.Change

// getHistory returns GET /history?url=watched, failing unless it is 200.
func getHistory(t *testing.T, p *harness.Process, watched string) []change {
	t.Helper()
	r := do(t, http.MethodGet, p.URL(q("/history", watched)), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /history?url=%s: %d %s, want 200", watched, r.Code, r.Body)
	}
	var h []change
	if err := json.Unmarshal(r.Body, &h); err != nil || h == nil {
		t.Fatalf("GET /history: body %q is not a JSON array: %v", r.Body, err)
	}
	return h
}

// sameChanges compares histories by value (times as instants).
func sameChanges(a, b []change) bool {
	return slices.EqualFunc(a, b, func(x, y change) bool {
		return x.State == y.State && x.Previous == y.Previous && x.Code == y.Code && x.ErrorKind == y.ErrorKind && x.At.Equal(y.At)
	})
}

// TestHistoryBoundedNewestFirstAcrossRestartsAndDelete flips a target
// between 200 and 503 (interval 1s, thresholds 1) past HISTORY_LIMIT=5:
// GET /history holds the 5 newest changes, newest first, matching the
// statuses seen; records carry an uptime between 0 and 1. The history
// survives SIGTERM exactly, and kill -9 right after a change keeps every
// change but possibly that last one (saved lazily, every half second).
// After DELETE the URL is unknown; registered again it starts empty, also
// after a restart.
func TestHistoryBoundedNewestFirstAcrossRestartsAndDelete(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "HISTORY_LIMIT=5")
	tg := newTarget(t, modeOK)
	u := tg.URL("/flappy")
	fast := []string{"interval", "1s", "failure_threshold", "1", "success_threshold", "1"}
	rec := put(t, p, u, nil, http.StatusCreated, fast...)
	if rec.Uptime != nil {
		t.Errorf("pending record's uptime %+v, want null", *rec.Uptime)
	}
	if h := getHistory(t, p, u); len(h) != 0 {
		t.Errorf("history before the first verdict: %+v, want []", h)
	}

	// 1 first verdict + 6 flips = 7 changes.
	var seen []record // the record at each change, oldest first
	await := func(state string) {
		t.Helper()
		r := waitStatus(t, p, u, 10*time.Second, state, func(r record) bool { return r.Status.State == state })
		seen = append(seen, r)
	}
	await("healthy")
	for range 3 {
		tg.set(modeFail)
		await("unhealthy")
		tg.set(modeOK)
		await("healthy")
	}
	h := getHistory(t, p, u)
	if len(h) != 5 {
		t.Fatalf("history after %d changes: %d entries, want HISTORY_LIMIT=5: %+v", len(seen), len(h), h)
	}
	for i, c := range h {
		want := seen[len(seen)-1-i].Status // newest first
		if c.State != want.State || !c.At.Equal(want.Since) {
			t.Errorf("history[%d] = %+v, want state %s at %v (the status seen then)", i, c, want.State, want.Since)
		}
		if i+1 < len(h) && (c.Previous != h[i+1].State || !c.At.After(h[i+1].At)) {
			t.Errorf("history[%d] = %+v does not follow history[%d] = %+v", i, c, i+1, h[i+1])
		}
		if (c.State == "unhealthy") != (c.Code == 503) {
			t.Errorf("history[%d] = %+v: code does not match the state", i, c)
		}
	}
	st := getStatus(t, p, u)
	if up := st.Uptime; up == nil || up.Day == nil || up.Week == nil || *up.Day <= 0 || *up.Day >= 1 || *up.Week != *up.Day {
		t.Errorf("uptime after flapping: %+v, want 24h in (0,1) and 7d equal to it (registered within the day)", up)
	}

	// A long interval keeps the URL from being probed right after the
	// restarts below, so the history read then is the stored one.
	put(t, p, u, nil, http.StatusOK, "interval", "1h")
	before := getHistory(t, p, u)
	if d, err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v after %s", err, d)
	}
	checkNoRace(t, p)
	restart(t, p)
	if got := getHistory(t, p, u); !sameChanges(got, before) {
		t.Errorf("history after SIGTERM restart:\n%+v\nwant\n%+v", got, before)
	}

	// kill -9 right after a change: that change may be lost, no other.
	put(t, p, u, nil, http.StatusOK, "interval", "1s")
	tg.set(modeFail)
	await("unhealthy")
	put(t, p, u, nil, http.StatusOK, "interval", "1h")
	p.Kill()
	checkNoRace(t, p)
	restart(t, p)
	got := getHistory(t, p, u)
	newest := seen[len(seen)-1].Status
	switch {
	case len(got) == 5 && got[0].State == "unhealthy" && got[0].At.Equal(newest.Since) && sameChanges(got[1:], before[:4]):
		t.Log("kill -9: the last change was saved")
	case sameChanges(got, before):
		t.Log("kill -9: the last change was lost, as documented")
	default:
		t.Errorf("history after kill -9:\n%+v\nwant the one before the last change\n%+v\nwith or without that change (unhealthy at %v)", got, before, newest.Since)
	}

	// Deleted, the URL has no history; registered again it starts empty.
	if r := do(t, http.MethodDelete, p.URL(q("/", u)), nil); r.Code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.Code, r.Body)
	}
	if r := do(t, http.MethodGet, p.URL(q("/history", u)), nil); r.Code != http.StatusNotFound {
		t.Errorf("GET /history of a deleted URL: %d %s, want 404", r.Code, r.Body)
	}
	put(t, p, u, nil, http.StatusCreated, "interval", "1h")
	if h := getHistory(t, p, u); len(h) != 0 {
		t.Errorf("history of a URL registered again: %+v, want []", h)
	}
	if _, err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	checkNoRace(t, p)
	restart(t, p)
	if h := getHistory(t, p, u); len(h) != 0 {
		t.Errorf("history of a URL registered again, after a restart: %+v, want []", h)
	}
}

// TestHistoryRouteRules: GET /history follows the other routes' rules.
func TestHistoryRouteRules(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "API_TOKEN=s3cret")
	auth := []string{"Authorization", "Bearer s3cret"}
	u := closedPortURL(t, "/h")
	if r := do(t, http.MethodPut, p.URL(q("/", u)), nil, auth...); r.Code != http.StatusCreated {
		t.Fatalf("PUT: %d %s", r.Code, r.Body)
	}
	for _, tc := range []struct {
		method, path string
		header       []string
		code         int
		body         string
	}{
		{http.MethodGet, q("/history", u), auth, 200, "[]\n"},
		{http.MethodHead, q("/history", u), auth, 200, ""},
		{http.MethodGet, q("/history", u), nil, 401, ""},
		{http.MethodGet, "/history", auth, 400, ""},
		{http.MethodGet, q("/history", u, "limit", "5"), auth, 400, ""},
		{http.MethodGet, q("/history", u+"/other"), auth, 404, ""},
		{http.MethodHead, q("/history", u+"/other"), auth, 404, ""},
	} {
		r := do(t, tc.method, p.URL(tc.path), nil, tc.header...)
		if r.Code != tc.code {
			t.Errorf("%s %s: %d %s, want %d", tc.method, tc.path, r.Code, r.Body, tc.code)
		}
		switch {
		case tc.method == http.MethodHead:
			if len(r.Body) != 0 {
				t.Errorf("HEAD %s: body %q, want none", tc.path, r.Body)
			}
		case tc.code != 200:
			wantErrorJSON(t, tc.method+" "+tc.path, r)
		case string(r.Body) != tc.body:
			t.Errorf("%s %s: body %q, want %q", tc.method, tc.path, r.Body, tc.body)
		}
	}
}
