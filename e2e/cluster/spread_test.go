package cluster

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// testDeleteByLabel: DELETE /all?labels=role=load on m2 removes the 2,700
// load URLs: every member's GET /all drops them, and no member probes them
// any more.
func testDeleteByLabel(t *testing.T, s *scene) {
	s.c.whole(t)
	r := harness.Do(t, client, http.MethodDelete, s.c.member("m2").URL("/all?labels=role=load"), nil)
	answered := time.Now()
	var got struct {
		Removed int `json:"removed"`
	}
	if r.Code != http.StatusOK || json.Unmarshal(r.Body, &got) != nil || got.Removed != len(s.load) {
		t.Fatalf("DELETE /all?labels=role=load: %d %.300s, want 200 with removed %d", r.Code, r.Body, len(s.load))
	}
	s.mu.Lock()
	for _, p := range s.load {
		delete(s.acked, s.farm.url(p))
	}
	s.mu.Unlock()
	for _, name := range s.c.names {
		left := -1
		if !harness.Poll(10*time.Second, func() bool {
			r, err := harness.Send(client, http.MethodGet, s.c.member(name).URL("/all?labels=role=load"), nil)
			var recs []json.RawMessage
			if err == nil && r.Code == http.StatusOK && json.Unmarshal(r.Body, &recs) == nil {
				left = len(recs)
			}
			return left == 0
		}) {
			t.Errorf("GET /all?labels=role=load on %s: %d records 10 s after the DELETE answered, want none", name, left)
		}
	}
	// The members stop probing them: wait for two quiet intervals, then
	// see when the last probe came.
	var last time.Time
	harness.Eventually(t, 30*time.Second, "two intervals without a probe of a removed URL", func() bool {
		last = s.farm.lastProbe(s.load)
		return time.Since(last) > 2*interval
	})
	took := last.Sub(answered)
	t.Logf("last probe of a removed URL %s after the DELETE answered", took.Round(time.Millisecond))
	if took > removalBound {
		t.Errorf("removed URLs still probed %s after the DELETE answered, want at most %s", took.Round(time.Millisecond), removalBound)
	}
	checkAcked(t, s, "m3")
}

// removalBound is how long after a DELETE is answered a removed URL may
// still be probed: a probe under way, and the next ticks of a member that
// has not applied the removal yet. Measured for 2,700 URLs: at most 1.0 s
// on a quiet 2-core machine, 2.1 s at load average 30.
const removalBound = 3 * interval

// window is how long the steady probing of the whole fleet is counted.
const window = 10 * time.Second

// testSpread: with the fleet probed every second, every URL is probed, each
// by exactly one member, at the rate the schedule says; every member takes
// a share, and its spo2_cluster_owned_urls says how many.
func testSpread(t *testing.T, s *scene) {
	s.c.whole(t)
	all := append(slices.Clone(s.fleet), s.load...)
	harness.Eventually(t, 60*time.Second, "every URL probed once", func() bool {
		return s.farm.probedSince(all, time.Time{})
	})
	// One interval on, every URL's schedule runs; then count for the window
	// (the sleep is the measurement itself, not a wait for an event).
	from := time.Now().Add(interval)
	to := from.Add(window)
	time.Sleep(time.Until(to))
	got := s.farm.tally(all, from, to)
	var skipped float64
	for _, p := range s.c.members {
		n, _ := harness.MetricValue(t, client, p, "spo2_probes_skipped_total")
		skipped += n
	}
	t.Logf("%s in %s: %.0f probes/s; ticks skipped since the start, all members: %.0f", got, window, float64(got.total)/window.Seconds(), skipped)

	if len(got.unprobed) > 0 || len(got.shared) > 0 {
		t.Errorf("want every URL probed by exactly one member; %d unprobed %v, %d probed by several %v",
			len(got.unprobed), first(got.unprobed, 5), len(got.shared), first(got.shared, 5))
	}
	// The schedule asks for len(all) × window / interval probes (30,000).
	// Above 110 % means URLs probed by two members, or twice by one (that
	// doubles the rate); probes moving across the window's edges add ±1
	// per URL at most, far less on average. The floor is only a sanity
	// check: a member missing its share is caught above, by URL, and on a
	// busy shared 2-core machine members starved of CPU skip ticks
	// (spo2_probes_skipped_total): measured 100 % on a quiet machine, 71 %
	// and 88 % beside other agents' builds and tests.
	want := float64(len(all)) * float64(window/interval)
	if r := float64(got.total) / want; r < 0.5 || r > 1.1 {
		t.Errorf("%d probes in %s, %.0f%% of the %.0f the schedule asks for (want 50-110%%)", got.total, window, 100*r, want)
	}
	// No URL is probed twice per tick (that makes 20): at most
	// window/interval probes, one more at an edge of the window, and a few
	// requests of probes retried once on a fresh connection because their
	// kept-alive one was closed (the target counts both; 13 seen beside a
	// whole `go test ./...` on a 2-core machine at load average 30).
	if limit := int(window/interval) * 3 / 2; got.max > limit {
		t.Errorf("a URL was probed %d times in %s, more than %d", got.max, window, limit)
	}
	for _, name := range s.c.names {
		if got.owned[name] < len(all)/6 {
			t.Errorf("member %s probed %d URLs, want about a third of %d", name, got.owned[name], len(all))
		}
		p := s.c.member(name)
		if n, ok := harness.MetricValue(t, client, p, "spo2_cluster_owned_urls"); !ok || int(n) != got.owned[name] {
			t.Errorf("member %s: spo2_cluster_owned_urls = %v (found %v), want %d, the URLs it probed", name, n, ok, got.owned[name])
		}
		if n, ok := harness.MetricValue(t, client, p, "spo2_cluster_members"); !ok || int(n) != len(s.c.names) {
			t.Errorf("member %s: spo2_cluster_members = %v (found %v), want %d", name, n, ok, len(s.c.names))
		}
	}
}
