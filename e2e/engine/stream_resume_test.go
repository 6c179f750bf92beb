package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// lastSeq is the seq of the last event c received.
func lastSeq(t *testing.T, c *wsClient) uint64 {
	t.Helper()
	evs := c.all()
	if len(evs) == 0 || evs[len(evs)-1].Seq == 0 {
		t.Fatalf("no event with a seq: %v", summarize(evs))
	}
	return evs[len(evs)-1].Seq
}

// opening waits for c's synced event and returns it and the events before it.
func opening(t *testing.T, c *wsClient) ([]event, event) {
	t.Helper()
	synced := c.next(t, 15*time.Second, "synced event", func(e event) bool { return e.Type == "synced" })
	evs := c.all()
	return evs[:slices.IndexFunc(evs, func(e event) bool { return e.Type == "synced" })], synced
}

// checkSeqs fails unless evs are numbered first, first+1, … in order.
func checkSeqs(t *testing.T, what string, evs []event, first uint64) {
	t.Helper()
	for i, e := range evs {
		if e.Seq != first+uint64(i) {
			t.Fatalf("%s: event %d %v has seq %d, want %d (no gap, no repeat); events: %v", what, i, e, e.Seq, first+uint64(i), summarize(evs))
		}
	}
}

// TestStreamResume: a client that reads some events, drops its connection
// while URLs change state, are updated and removed, and reconnects with
// since= gets exactly the events it missed (consecutive seqs, the right
// URLs), then synced, and no snapshot; the live stream continues from there.
func TestStreamResume(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	tg := newTarget(t, modeOK)
	var urls []string
	for i := range 5 {
		urls = append(urls, tg.URL(fmt.Sprintf("/resume-%d", i)))
	}

	first := connectWS(t, "ws://"+p.WSAddr+"/")
	_, synced := opening(t, first)
	for _, u := range urls {
		put(t, p, u, nil, http.StatusCreated, "failure_threshold", "1")
	}
	eventually(t, 10*time.Second, "a healthy status event of each URL", func() bool {
		healthy := map[string]bool{}
		for _, e := range first.all() {
			if e.Type == "status" && e.State == "healthy" {
				healthy[e.URL] = true
			}
		}
		return len(healthy) == len(urls)
	})
	seen := first.all()[slices.IndexFunc(first.all(), func(e event) bool { return e.Type == "synced" })+1:]
	checkSeqs(t, "first client", seen, synced.Seq+1)
	since := lastSeq(t, first)
	first.Conn().Close()

	// While it is away: five state changes, an update, a removal.
	tg.set(modeFail)
	for _, u := range urls {
		waitStatus(t, p, u, 10*time.Second, "unhealthy", func(r record) bool { return r.Status.State == "unhealthy" })
	}
	put(t, p, urls[0], []byte(`{"v":2}`), http.StatusOK)
	if r := do(t, http.MethodDelete, p.URL(q("/", urls[1])), nil); r.Code != http.StatusOK {
		t.Fatalf("DELETE %s: %d %s", urls[1], r.Code, r.Body)
	}

	resumed := connectWS(t, fmt.Sprintf("ws://%s/ws?since=%d", p.HTTPAddr, since))
	missed, synced := opening(t, resumed)
	checkSeqs(t, "replay", missed, since+1)
	if len(missed) != 7 {
		t.Fatalf("replay of %d events, want 7 (5 status, registered, removed): %v", len(missed), summarize(missed))
	}
	var unhealthy []string
	for _, e := range missed[:5] {
		if e.Type != "status" || e.State != "unhealthy" {
			t.Fatalf("replayed %v, want the unhealthy status events first", e)
		}
		unhealthy = append(unhealthy, e.URL)
	}
	slices.Sort(unhealthy)
	if !slices.Equal(unhealthy, urls) {
		t.Fatalf("replayed status events of %v, want each of %v once", unhealthy, urls)
	}
	if e := missed[5]; e.Type != "registered" || e.Record == nil || e.Record.URL != urls[0] || string(e.Record.Data) != `{"v":2}` {
		t.Fatalf("replayed %v, want the update of %s", e, urls[0])
	}
	if e := missed[6]; e.Type != "removed" || e.URL != urls[1] || e.Reason != "deleted" {
		t.Fatalf("replayed %v, want the removal of %s", e, urls[1])
	}
	if synced.Seq != since+7 {
		t.Fatalf("synced seq %d, want the last replayed, %d", synced.Seq, since+7)
	}
	// Live events follow without a gap.
	tg.set(modeOK)
	live := resumed.next(t, 10*time.Second, "a live status event", func(e event) bool { return e.Type == "status" })
	if live.Seq != synced.Seq+1 || live.State != "healthy" {
		t.Fatalf("first live event %v seq %d, want healthy with seq %d", live, live.Seq, synced.Seq+1)
	}
	if v, _ := metricValue(t, p, `spo2_websocket_resumes_total{result="replayed"}`); v != 1 {
		t.Errorf("spo2_websocket_resumes_total{result=\"replayed\"} = %v, want 1", v)
	}
}

// TestStreamResumeSnapshot: with WS_RESUME_BUFFER=3, a client that missed
// more events gets a fresh snapshot; so does a since beyond the last seq. A
// since equal to the last seq gets synced alone; a bad since is refused
// before the upgrade.
func TestStreamResumeSnapshot(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "WS_RESUME_BUFFER=3", "PROBE_INTERVAL=1h", "PROBE_TIMEOUT=1s")
	c := connectWS(t, "ws://"+p.WSAddr+"/")
	_, synced := opening(t, c)
	since := synced.Seq
	c.Conn().Close()
	for i := range 5 {
		put(t, p, labelsTarget(fmt.Sprintf("/old-%d", i)), nil, http.StatusCreated)
	}
	now := connectWS(t, "ws://"+p.WSAddr+"/")
	_, current := opening(t, now)

	for _, tc := range []struct {
		name  string
		since uint64
	}{{"too old", since}, {"beyond the last seq", current.Seq + 1}, {"from another process", 17}} {
		c := connectWS(t, fmt.Sprintf("ws://%s/?since=%d", p.WSAddr, tc.since))
		snap := c.waitSynced(t)
		if len(snap) != 5 {
			t.Errorf("%s: snapshot of %d records, want 5", tc.name, len(snap))
		}
		for _, e := range c.all() {
			if e.Seq < current.Seq {
				t.Errorf("%s: %v has seq %d, want at least %d (the snapshot's)", tc.name, e, e.Seq, current.Seq)
			}
		}
	}
	up := connectWS(t, fmt.Sprintf("ws://%s/?since=%d", p.WSAddr, current.Seq))
	if missed, s := opening(t, up); len(missed) != 0 || s.Seq != current.Seq {
		t.Errorf("since the last seq: %v then synced %d, want synced %d alone", summarize(missed), s.Seq, current.Seq)
	}
	if v, _ := metricValue(t, p, `spo2_websocket_resumes_total{result="snapshot"}`); v != 3 {
		t.Errorf("spo2_websocket_resumes_total{result=\"snapshot\"} = %v, want 3", v)
	}

	for _, bad := range []struct{ query, want string }{
		{"since=abc", `since "abc" is not a seq`},
		{"since=-1", `since "-1" is not a seq`},
		{"since=1&since=2", `query parameter "since" given more than once`},
		{"sinse=1", `unknown query parameter "sinse"`},
		{"labels=team", `label selector term "team": write key=value`},
	} {
		for _, u := range []string{p.URL("/ws?" + bad.query), "http://" + p.WSAddr + "/?" + bad.query} {
			r := do(t, http.MethodGet, u, nil, "Upgrade", "websocket", "Connection", "Upgrade",
				"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
			var answer struct{ Error string }
			_ = json.Unmarshal(r.Body, &answer)
			if r.Code != http.StatusBadRequest || !strings.Contains(answer.Error, bad.want) {
				t.Errorf("%s: %d %s, want 400 naming %s", u, r.Code, r.Body, bad.want)
			}
		}
	}
}

// TestStreamLabels: a client with ?labels= sees only matching URLs in its
// snapshot and events; a URL whose labels stop matching is removed with
// reason "unmatched", one that starts matching is registered.
func TestStreamLabels(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	ta, tb, tc := newTarget(t, modeOK), newTarget(t, modeOK), newTarget(t, modeOK)
	a, b, c := ta.URL("/a"), tb.URL("/b"), tc.URL("/c")
	for u, labels := range map[string][]string{a: {"team=search"}, b: {"team=ads"}, c: {"team=search", "tier=gold"}} {
		if r := putLabels(t, p, u, nil, labels...); r.Code != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", u, r.Code, r.Body)
		}
		do(t, http.MethodPut, p.URL(q("/", u, "failure_threshold", "1")), nil)
	}
	for _, u := range []string{a, b, c} {
		waitStatus(t, p, u, 10*time.Second, "healthy", func(r record) bool { return r.Status.State == "healthy" })
	}

	filtered := connectWS(t, "ws://"+p.WSAddr+"/?labels="+url.QueryEscape("team=search"))
	all := connectWS(t, "ws://"+p.HTTPAddr+"/ws")
	snap := filtered.waitSynced(t)
	all.waitSynced(t)
	if len(snap) != 2 || snap[a].URL != a || snap[c].URL != c {
		t.Fatalf("filtered snapshot %v, want %s and %s", snap, a, c)
	}
	seen := func(desc string, match func(event) bool) { all.next(t, 10*time.Second, desc, match) }

	tb.set(modeFail) // b does not match: not seen
	seen("b unhealthy", func(e event) bool { return e.Type == "status" && e.URL == b })
	putLabels(t, p, b, nil, "team=search") // b starts matching
	seen("b registered", func(e event) bool { return e.Type == "registered" && e.Record.URL == b })
	putLabels(t, p, a, nil, "team=ads") // a stops matching
	seen("a registered", func(e event) bool { return e.Type == "registered" && e.Record.URL == a })
	ta.set(modeFail) // a no longer matches: not seen
	seen("a unhealthy", func(e event) bool { return e.Type == "status" && e.URL == a })
	tc.set(modeFail)
	seen("c unhealthy", func(e event) bool { return e.Type == "status" && e.URL == c })
	do(t, http.MethodDelete, p.URL(q("/", c)), nil)
	seen("c removed", func(e event) bool { return e.Type == "removed" && e.URL == c })

	filtered.next(t, 10*time.Second, "c removed", func(e event) bool { return e.Type == "removed" && e.URL == c })
	evs := filtered.all()
	got := evs[slices.IndexFunc(evs, func(e event) bool { return e.Type == "synced" })+1:]
	want := []string{"registered " + b, "removed " + a + " unmatched", "status " + c + " unhealthy", "removed " + c + " deleted"}
	var shown []string
	for i, e := range got {
		switch e.Type {
		case "registered":
			shown = append(shown, "registered "+e.Record.URL)
		case "removed":
			shown = append(shown, "removed "+e.URL+" "+e.Reason)
		case "status":
			shown = append(shown, "status "+e.URL+" "+e.State)
		}
		if i > 0 && e.Seq <= got[i-1].Seq {
			t.Errorf("seq %d after %d, want increasing", e.Seq, got[i-1].Seq)
		}
	}
	if !slices.Equal(shown, want) {
		t.Fatalf("filtered client saw %q, want %q", shown, want)
	}
}
