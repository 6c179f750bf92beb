package engine

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// labelsTarget is a URL nobody answers at: these tests look at
// registrations, not probes.
func labelsTarget(path string) string { return "http://127.0.0.1:9" + path }

// putLabels sends PUT /?url=u with each label as a label parameter
// ("key=value", or "" for label=), and returns the answer.
func putLabels(t *testing.T, p interface{ URL(string) string }, u string, data []byte, labels ...string) response {
	t.Helper()
	path := q("/", u)
	for _, l := range labels {
		path += "&label=" + url.QueryEscape(l)
	}
	return do(t, http.MethodPut, p.URL(path), data)
}

func decodeRecord(t *testing.T, what string, r response) record {
	t.Helper()
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("%s: %d %q is not a record: %v", what, r.Code, r.Body, err)
	}
	return rec
}

// TestLabelsRoundTrip: labels given by PUT and bulk show on every record
// (PUT answers, /status, /all, the WebSocket snapshot and registered events);
// a PUT without labels keeps them, label= clears them, bad ones change
// nothing, and the same labels again are not a change.
func TestLabelsRoundTrip(t *testing.T) {
	p := startSpo2(t)
	defer stopAndCheck(t, p)
	a, b, c := labelsTarget("/a"), labelsTarget("/b"), labelsTarget("/c")
	gold := map[string]string{"team": "search", "tier": "gold"}

	r := putLabels(t, p, a, []byte(`{"k":1}`), "team=search", "tier=gold")
	if r.Code != http.StatusCreated || !strings.Contains(string(r.Body), `"labels":{"team":"search","tier":"gold"}`) {
		t.Fatalf("PUT with labels: %d %s", r.Code, r.Body)
	}
	first := decodeRecord(t, "PUT", r)
	// Without label: kept; data changes.
	rec := decodeRecord(t, "PUT without label", putLabels(t, p, a, []byte(`{"k":2}`)))
	if !maps.Equal(rec.Labels, gold) || string(rec.Data) != `{"k":2}` {
		t.Fatalf("PUT without label: labels %v data %s", rec.Labels, rec.Data)
	}
	// The same labels (in another order) are no change: updated_at stays.
	again := decodeRecord(t, "PUT same labels", putLabels(t, p, a, nil, "tier=gold", "team=search"))
	if !again.UpdatedAt.Equal(rec.UpdatedAt) {
		t.Fatalf("identical labels moved updated_at from %v to %v", rec.UpdatedAt, again.UpdatedAt)
	}
	// Bad labels: 400 naming the label, nothing changes.
	for _, bad := range [][]string{{"Team=x"}, {"team"}, {"a=1", "a=2"}, {"k=" + strings.Repeat("v", 256)}, {"team=search", ""}} {
		r := putLabels(t, p, a, []byte(`{"k":3}`), bad...)
		if r.Code != http.StatusBadRequest {
			t.Fatalf("PUT label %q: %d %s, want 400", bad, r.Code, r.Body)
		}
		wantErrorJSON(t, fmt.Sprintf("PUT label %q", bad), r)
	}
	if st := getStatus(t, p, a); !maps.Equal(st.Labels, gold) || string(st.Data) != `{"k":2}` || !st.UpdatedAt.Equal(rec.UpdatedAt) {
		t.Fatalf("a bad label changed the record: %+v", st)
	}
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("k%d=v", i)
	}
	if r := putLabels(t, p, a, nil, many...); r.Code != http.StatusBadRequest {
		t.Fatalf("33 labels: %d %s", r.Code, r.Body)
	}
	if r := putLabels(t, p, a, nil, many[:32]...); r.Code != http.StatusOK || len(decodeRecord(t, "32 labels", r).Labels) != 32 {
		t.Fatalf("32 labels: %d %s", r.Code, r.Body)
	}
	putLabels(t, p, a, nil, "team=search", "tier=gold")

	// Bulk: labels set, an item without labels keeps them, {} clears.
	putLabels(t, p, b, nil, "team=ads")
	body := fmt.Sprintf(`[{"url":%q,"labels":{"team":"search","tier":"gold"}},{"url":%q,"data":{"x":1}},{"url":%q,"labels":{"Bad":"x"}}]`, c, b, a)
	r = do(t, http.MethodPost, p.URL("/bulk"), []byte(body))
	if r.Code != http.StatusOK || !strings.Contains(string(r.Body), `"created":1,"updated":1`) || !strings.Contains(string(r.Body), `label \"Bad=x\"`) {
		t.Fatalf("bulk with labels: %d %s", r.Code, r.Body)
	}
	want := map[string]map[string]string{a: gold, b: {"team": "ads"}, c: gold}
	for _, rec := range getAll(t, p) {
		if !maps.Equal(rec.Labels, want[rec.URL]) || rec.Labels == nil {
			t.Fatalf("/all: %s labels %v, want %v", rec.URL, rec.Labels, want[rec.URL])
		}
	}
	// The snapshot carries them.
	ws := connectWS(t, "ws://"+p.WSAddr+"/")
	snap := ws.waitSynced(t)
	for u, l := range want {
		if !maps.Equal(snap[u].Labels, l) {
			t.Fatalf("snapshot: %s labels %v, want %v", u, snap[u].Labels, l)
		}
	}
	// A labels-only change is a registered event; label= clears them, and a
	// record without labels shows {}.
	r = putLabels(t, p, b, nil, "")
	if r.Code != http.StatusOK || !strings.Contains(string(r.Body), `"labels":{}`) {
		t.Fatalf("PUT label=: %d %s", r.Code, r.Body)
	}
	ev := ws.next(t, 10*time.Second, "registered b", func(e event) bool { return e.Type == "registered" && e.Record != nil && e.Record.URL == b })
	if ev.Record.Labels == nil || len(ev.Record.Labels) != 0 || string(ev.Record.Data) != `{"x":1}` {
		t.Fatalf("registered after label=: %+v", ev.Record)
	}
	putLabels(t, p, c, nil, "team=search", "tier=silver")
	ev = ws.next(t, 10*time.Second, "registered c", func(e event) bool { return e.Type == "registered" && e.Record != nil && e.Record.URL == c })
	if ev.Record.Labels["tier"] != "silver" {
		t.Fatalf("registered after a labels change: %+v", ev.Record)
	}
	if first.CreatedAt.IsZero() || getStatus(t, p, c).Labels["tier"] != "silver" {
		t.Fatal("labels change not in /status")
	}
}

// fleetLabels are the overlapping labels of URL i of the 1,000.
func fleetLabels(i int) map[string]string {
	return map[string]string{
		"team":  []string{"search", "ads", "db", "web"}[i%4],
		"tier":  []string{"gold", "silver", "bronze"}[i%3],
		"shard": fmt.Sprint(i % 10),
	}
}

func selectURLs(base string, n int, match func(map[string]string) bool) []string {
	var out []string
	for i := range n {
		if match(fleetLabels(i)) {
			out = append(out, fmt.Sprintf("%s/%04d", base, i))
		}
	}
	slices.Sort(out)
	return out
}

type removedAnswer struct {
	Removed int      `json:"removed"`
	URLs    []string `json:"urls"`
}

func deleteAll(t *testing.T, p interface{ URL(string) string }, selector string) removedAnswer {
	t.Helper()
	r := do(t, http.MethodDelete, p.URL("/all?labels="+url.QueryEscape(selector)), nil)
	var a removedAnswer
	if r.Code != http.StatusOK || json.Unmarshal(r.Body, &a) != nil || a.URLs == nil {
		t.Fatalf("DELETE /all?labels=%s: %d %.300s", selector, r.Code, r.Body)
	}
	return a
}

// TestLabelSelectorsOnAThousandURLs: on 1,000 URLs with overlapping labels
// a selector answers exactly its matches, a group delete removes exactly
// them (a removed event each), and a group delete acknowledged right before
// a kill -9 is still done after the restart.
func TestLabelSelectorsOnAThousandURLs(t *testing.T) {
	p := startSpo2(t)
	defer stopAndCheck(t, p)
	const n = 1000
	base := labelsTarget("/fleet")
	items := make([]map[string]any, n)
	for i := range n {
		items[i] = map[string]any{"url": fmt.Sprintf("%s/%04d", base, i), "labels": fleetLabels(i)}
	}
	body, _ := json.Marshal(items)
	if r := do(t, http.MethodPost, p.URL("/bulk"), body); r.Code != http.StatusOK || !strings.Contains(string(r.Body), `"created":1000`) {
		t.Fatalf("bulk: %d %.300s", r.Code, r.Body)
	}

	// A selector: AND of its terms.
	r := do(t, http.MethodGet, p.URL("/all?labels="+url.QueryEscape("team=search,tier=gold")), nil)
	var recs []record
	if r.Code != http.StatusOK || json.Unmarshal(r.Body, &recs) != nil {
		t.Fatalf("GET /all?labels=…: %d %.300s", r.Code, r.Body)
	}
	var got []string
	for _, rec := range recs {
		got = append(got, rec.URL)
	}
	want := selectURLs(base, n, func(l map[string]string) bool { return l["team"] == "search" && l["tier"] == "gold" })
	if !slices.Equal(got, want) || len(want) != 84 {
		t.Fatalf("selector answered %d URLs, want %d exactly", len(got), len(want))
	}
	for _, bad := range []string{"/all?labels=team", "/all?labels=", "/all?labels=team%3Da,", "/all?label=team%3Da"} {
		if r := do(t, http.MethodGet, p.URL(bad), nil); r.Code != http.StatusBadRequest {
			t.Fatalf("GET %s: %d, want 400", bad, r.Code)
		}
		if r := do(t, http.MethodDelete, p.URL(bad), nil); r.Code != http.StatusBadRequest {
			t.Fatalf("DELETE %s: %d, want 400", bad, r.Code)
		}
	}
	if r := do(t, http.MethodDelete, p.URL("/all"), nil); r.Code != http.StatusBadRequest {
		t.Fatalf("DELETE /all without a selector: %d %s, want 400", r.Code, r.Body)
	}
	if got := len(getAll(t, p)); got != n {
		t.Fatalf("%d URLs after refused deletes, want %d", got, n)
	}

	// A group delete: exactly the matches, a removed event each.
	ws := connectWS(t, "ws://"+p.WSAddr+"/")
	ws.waitSynced(t)
	want = selectURLs(base, n, func(l map[string]string) bool { return l["tier"] == "bronze" && l["shard"] == "3" })
	a := deleteAll(t, p, "tier=bronze,shard=3")
	if a.Removed != len(want) || !slices.Equal(a.URLs, want) {
		t.Fatalf("DELETE removed %d %v, want %d %v", a.Removed, a.URLs, len(want), want)
	}
	gone := map[string]bool{}
	for len(gone) < len(want) {
		ev := ws.next(t, 10*time.Second, "removed", func(e event) bool { return e.Type == "removed" })
		if ev.Reason != "deleted" || !slices.Contains(want, ev.URL) || gone[ev.URL] {
			t.Fatalf("unexpected removed event %v", ev)
		}
		gone[ev.URL] = true
	}
	if a := deleteAll(t, p, "tier=bronze,shard=3"); a.Removed != 0 || len(a.URLs) != 0 {
		t.Fatalf("second DELETE removed %+v", a)
	}

	// A group delete acknowledged, then kill -9: still done after restart.
	// (Some ads URLs went with the group above: the groups overlap.)
	wantGone := selectURLs(base, n, func(l map[string]string) bool {
		return l["team"] == "ads" && (l["tier"] != "bronze" || l["shard"] != "3")
	})
	a = deleteAll(t, p, "team=ads")
	p.Kill()
	checkNoRace(t, p)
	if a.Removed != len(wantGone) || !slices.Equal(a.URLs, wantGone) || len(wantGone) >= 250 {
		t.Fatalf("DELETE team=ads removed %d, want %d exactly", a.Removed, len(wantGone))
	}
	restart(t, p)
	left := getAll(t, p)
	if len(left) != n-len(wantGone)-len(want) {
		t.Fatalf("%d URLs after restart, want %d", len(left), n-len(wantGone)-len(want))
	}
	for _, rec := range left {
		var i int
		fmt.Sscanf(strings.TrimPrefix(rec.URL, base+"/"), "%d", &i)
		if l := fleetLabels(i); !maps.Equal(rec.Labels, l) || l["team"] == "ads" || slices.Contains(want, rec.URL) {
			t.Fatalf("after restart: %s labels %v (want %v), should be gone or differ", rec.URL, rec.Labels, l)
		}
	}
}
