package actors

import (
	"testing"

	"github.com/spo2/spo2/actors/health"
)

// TestJudge: a client with a label selector sees the events of matching
// URLs, a removal when a URL's labels stop matching, and a registered event
// when they start matching.
func TestJudge(t *testing.T) {
	sel := health.Selector{{Key: "team", Value: "search"}}
	search := health.Labels{"team": "search", "tier": "gold"}
	other := health.Labels{"team": "ads"}
	rec := func(l health.Labels) health.Record { return health.Record{URL: "http://127.0.0.1:9/a", Labels: l} }
	tests := []struct {
		name string
		sel  health.Selector
		ev   Event
		want verdict
	}{
		{"no selector, any event", nil, StatusChanged{Labels: other}, pass},
		{"status of a match", sel, StatusChanged{Labels: search}, pass},
		{"status of another", sel, StatusChanged{Labels: other}, skip},
		{"status without labels", sel, StatusChanged{}, skip},
		{"removal of a match", sel, Removed{Labels: search}, pass},
		{"removal of another", sel, Removed{Labels: other}, skip},
		{"new match", sel, Registered{Record: rec(search), New: true}, pass},
		{"new other", sel, Registered{Record: rec(other), New: true}, skip},
		{"update of a match", sel, Registered{Record: rec(search), Previous: search}, pass},
		{"starts matching", sel, Registered{Record: rec(search), Previous: other}, pass},
		{"stops matching", sel, Registered{Record: rec(other), Previous: search}, unmatched},
		{"labels cleared", sel, Registered{Record: rec(health.Labels{}), Previous: search}, unmatched},
		{"update of another", sel, Registered{Record: rec(other), Previous: other}, skip},
		{"new URL whose previous labels match", sel, Registered{Record: rec(other), New: true, Previous: search}, skip},
		{"an unknown event", sel, Synced{}, skip},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := judge(tc.sel, tc.ev); got != tc.want {
				t.Fatalf("judge = %d, want %d", got, tc.want)
			}
		})
	}
	r := unmatchedRemoval(Registered{Record: rec(other), Previous: search})
	if got := string(r.AppendJSON(nil, 7)); got != `{"type":"removed","seq":7,"url":"http://127.0.0.1:9/a","reason":"unmatched"}` {
		t.Fatalf("unmatched removal %s", got)
	}
}
