package history

import (
	"math"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestUptime(t *testing.T) {
	now := t0.Add(30 * Day)
	h := time.Hour
	type change struct {
		ago             time.Duration
		state, previous health.State
	}
	for _, tc := range []struct {
		name       string
		createdAgo time.Duration
		current    health.State
		changes    []change // oldest first
		day, week  float64  // NaN: null
		unknown    bool
	}{
		{name: "pending: null", createdAgo: h, current: health.Pending, unknown: true},
		{name: "pending again after changes: null", createdAgo: 10 * Day, current: health.Pending,
			changes: []change{{9 * Day, health.Healthy, health.Pending}}, unknown: true},
		{name: "only healthy since registration", createdAgo: 10 * Day, current: health.Healthy,
			changes: []change{{10*Day - time.Second, health.Healthy, health.Pending}}, day: 1, week: 1},
		{name: "registered inside the day: counted from registration", createdAgo: 4 * h, current: health.Healthy,
			changes: []change{{4 * h, health.Unhealthy, health.Pending}, {3 * h, health.Healthy, health.Unhealthy}},
			day:     0.75, week: 0.75},
		{name: "down one hour of the last day, long registered", createdAgo: 20 * Day, current: health.Healthy,
			changes: []change{{20 * Day, health.Healthy, health.Pending}, {3 * h, health.Unreachable, health.Healthy},
				{2 * h, health.Healthy, health.Unreachable}},
			day: 23.0 / 24, week: 1 - 1.0/(7*24)},
		{name: "down a whole day, three days ago", createdAgo: 20 * Day, current: health.Healthy,
			changes: []change{{20 * Day, health.Healthy, health.Pending}, {4 * Day, health.Unhealthy, health.Healthy},
				{3 * Day, health.Healthy, health.Unhealthy}},
			day: 1, week: 6.0 / 7},
		{name: "failing now, since half a day", createdAgo: 2 * Day, current: health.Unhealthy,
			changes: []change{{2 * Day, health.Healthy, health.Pending}, {12 * h, health.Unhealthy, health.Healthy}},
			day:     0.5, week: 0.75},
		{name: "pending time before the first verdict does not count", createdAgo: 2 * h, current: health.Healthy,
			changes: []change{{h, health.Healthy, health.Pending}}, day: 1, week: 1},
		{name: "paused time counts for neither", createdAgo: 10 * h, current: health.Healthy,
			changes: []change{{10 * h, health.Unhealthy, health.Pending}, {8 * h, health.Paused, health.Unhealthy},
				{4 * h, health.Healthy, health.Paused}},
			day: 4.0 / 6, week: 4.0 / 6},
		{name: "paused all window long: null windows", createdAgo: 30 * Day, current: health.Paused,
			changes: []change{{30 * Day, health.Healthy, health.Pending}, {8 * Day, health.Paused, health.Healthy}},
			day:     math.NaN(), week: math.NaN()},
		{name: "paused for the last day only", createdAgo: 30 * Day, current: health.Paused,
			changes: []change{{30 * Day, health.Healthy, health.Pending}, {Day, health.Paused, health.Healthy}},
			day:     math.NaN(), week: 1},
		{name: "no change kept: the current state all along", createdAgo: 10 * Day, current: health.Unreachable,
			day: 0, week: 0},
		{name: "before the oldest change kept: the state it left", createdAgo: 10 * Day, current: health.Healthy,
			changes: []change{{12 * h, health.Healthy, health.Unhealthy}}, day: 0.5, week: 0.5 / 7},
		{name: "nothing counts before registration", createdAgo: 12 * h, current: health.Healthy,
			changes: []change{{6 * h, health.Healthy, health.Unhealthy}}, day: 0.5, week: 0.5},
		{name: "a failure of one second is not rounded up to 1", createdAgo: Day, current: health.Healthy,
			changes: []change{{Day, health.Healthy, health.Pending}, {h, health.Unhealthy, health.Healthy},
				{h - time.Second, health.Healthy, health.Unhealthy}},
			day: 0.999988, week: 0.999988},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := New(0)
			for _, c := range tc.changes {
				l.Add(NewChange(now.Add(-c.ago), c.state, c.previous, 0, ""))
			}
			u := l.Uptime(now.Add(-tc.createdAgo), tc.current, now)
			if tc.unknown {
				if u.Known {
					t.Fatalf("uptime %+v, want unknown (null)", u)
				}
				if got := string(u.AppendJSON(nil)); got != "null" {
					t.Fatalf("JSON %s, want null", got)
				}
				return
			}
			if !u.Known || !near(u.Day, tc.day) || !near(u.Week, tc.week) {
				t.Fatalf("uptime %+v, want 24h %v, 7d %v", u, tc.day, tc.week)
			}
		})
	}
}

// near compares shares rounded down to six decimals.
func near(got, want float64) bool {
	if math.IsNaN(want) {
		return math.IsNaN(got)
	}
	return got <= want+1e-12 && got > want-1.1e-6
}

func TestUptimeOfANilLogIsTheCurrentState(t *testing.T) {
	var l *Log
	u := l.Uptime(t0.Add(-time.Hour), health.Healthy, t0)
	if got := string(u.AppendJSON(nil)); got != `{"24h":1,"7d":1}` {
		t.Fatalf("healthy URL without history: %s, want {\"24h\":1,\"7d\":1}", got)
	}
	u = (&Log{limit: 5}).Uptime(t0.Add(-time.Hour), health.Paused, t0)
	if got := string(u.AppendJSON(nil)); got != `{"24h":null,"7d":null}` {
		t.Fatalf("paused URL without history: %s, want nulls", got)
	}
}

func TestUptimeReadsOnlyTheWindow(t *testing.T) {
	// A full log of old flapping does not weigh on a week of health.
	now := t0.Add(100 * Day)
	l := New(100)
	for i := range 100 {
		st, prev := health.Healthy, health.Unhealthy
		if i%2 == 1 {
			st, prev = prev, st
		}
		l.Add(NewChange(now.Add(-50*Day+time.Duration(i)*time.Minute), st, prev, 0, ""))
	}
	l.Add(NewChange(now.Add(-8*Day), health.Healthy, health.Unhealthy, 200, ""))
	u := l.Uptime(now.Add(-60*Day), health.Healthy, now)
	if u.Day != 1 || u.Week != 1 {
		t.Fatalf("uptime %+v, want 1 and 1", u)
	}
}
