package actors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors/health"
)

// TestRemoveMatchingIsOneDurableWrite: the matches of a selector are gone
// from the store, the read model and the checkers once the reply comes, each
// with a removed event; the others stay; a labels-only change is a change.
func TestRemoveMatchingIsOneDurableWrite(t *testing.T) {
	e := startEngine(t, nil, "")
	var items []RegisterItem
	var want []string
	for i := range 40 {
		u := fmt.Sprintf("http://127.0.0.1:9/u%02d", i)
		l := health.Labels{"team": []string{"search", "ads"}[i%2], "tier": []string{"gold", "silver", "bronze"}[i%3]}
		if i%2 == 0 && i%3 == 0 {
			want = append(want, u)
		}
		items = append(items, RegisterItem{URL: u, Labels: l})
	}
	if r := e.register(t, items...); r.Err != nil {
		t.Fatal(r.Err)
	}
	// A labels-only change is written and announced; the same labels again
	// are not a change.
	moved := "http://127.0.0.1:9/u01" // team=ads, tier=silver
	r := e.register(t, RegisterItem{URL: moved, Labels: health.Labels{"team": "search", "tier": "gold"}})
	if r.Err != nil || r.Results[0].Created || !r.Results[0].Record.Labels.Equal(health.Labels{"team": "search", "tier": "gold"}) {
		t.Fatalf("labels change: %+v", r)
	}
	e.waitEvent(t, "registered", func(ev Event) bool { g, ok := ev.(Registered); return ok && g.Record.URL == moved && !g.New })
	want = append(want, moved)
	slices.Sort(want)
	before := r.Results[0].Record.UpdatedAt
	r = e.register(t, RegisterItem{URL: moved, Labels: health.Labels{"tier": "gold", "team": "search"}})
	if !r.Results[0].Record.UpdatedAt.Equal(before) {
		t.Fatal("identical labels changed updated_at")
	}
	// No labels given keeps them.
	r = e.register(t, RegisterItem{URL: moved})
	if !r.Results[0].Record.Labels.Equal(health.Labels{"team": "search", "tier": "gold"}) {
		t.Fatalf("labels not kept: %v", r.Results[0].Record.Labels)
	}

	sel, _ := health.ParseSelector("team=search,tier=gold")
	res, err := e.system.Root.RequestFuture(e.supervisor, RemoveMatching{Selector: sel}, 5*time.Second).Result()
	if err != nil {
		t.Fatal(err)
	}
	reply := res.(RemoveMatchingReply)
	if reply.Err != nil || !slices.Equal(reply.URLs, want) {
		t.Fatalf("removed %v (%v), want %v", reply.URLs, reply.Err, want)
	}
	// Durable on reply: the store no longer holds any of them.
	loaded, err := e.store.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 40-len(want) {
		t.Fatalf("store holds %d registrations, want %d", len(loaded), 40-len(want))
	}
	for _, l := range loaded {
		if slices.Contains(want, l.Reg.URL) {
			t.Fatalf("store still holds %s", l.Reg.URL)
		}
		if sel.Matches(l.Reg.Labels) {
			t.Fatalf("store holds a match: %s %v", l.Reg.URL, l.Reg.Labels)
		}
	}
	for _, u := range want {
		if e.model.Get(u) != nil {
			t.Fatalf("%s still in the read model", u)
		}
	}
	removed := map[string]bool{}
	for len(removed) < len(want) {
		ev := e.waitEvent(t, "removed", func(ev Event) bool { r, ok := ev.(Removed); return ok && r.Reason == RemovalReasonDeleted })
		removed[ev.(Removed).URL] = true
	}
	if n := testutil.ToFloat64(e.metrics.URLCheckers); int(n) != 40-len(want) {
		t.Fatalf("spo2_url_checkers %v, want %d", n, 40-len(want))
	}
	// Nothing left to match: an empty answer, nothing written.
	res, _ = e.system.Root.RequestFuture(e.supervisor, RemoveMatching{Selector: sel}, 5*time.Second).Result()
	if r := res.(RemoveMatchingReply); r.Err != nil || len(r.URLs) != 0 {
		t.Fatalf("second removal %+v", r)
	}
}
