package health

import (
	"testing"
	"time"
)

var (
	ok200   = Outcome{Answered: true, Code: 200, ExpectHit: true}
	bad503  = Outcome{Answered: true, Code: 503}
	refused = Outcome{Kind: KindRefused, Err: "connection refused"}
	// doubt is a timeout while SpO₂ was overloaded.
	doubt = Outcome{Kind: KindTimeout, Err: "timeout after 1s", Inconclusive: true}
)

func TestTrackerTransitions(t *testing.T) {
	tests := []struct {
		name     string
		start    State
		fail     int
		succ     int
		outcomes []Outcome
		want     []State // state after each outcome
	}{
		{"first verdict healthy", Pending, 3, 1, []Outcome{ok200}, []State{Healthy}},
		{"first verdict unhealthy at once", Pending, 3, 1, []Outcome{bad503}, []State{Unhealthy}},
		{"first verdict unreachable at once", Pending, 3, 1, []Outcome{refused}, []State{Unreachable}},
		{"healthy needs three failures", Pending, 3, 1,
			[]Outcome{ok200, bad503, bad503, bad503}, []State{Healthy, Healthy, Healthy, Unhealthy}},
		{"a success resets the failure streak", Pending, 2, 1,
			[]Outcome{ok200, bad503, ok200, bad503, bad503}, []State{Healthy, Healthy, Healthy, Healthy, Unhealthy}},
		{"mixed failures count together; last kind wins", Pending, 3, 1,
			[]Outcome{ok200, bad503, refused, refused}, []State{Healthy, Healthy, Healthy, Unreachable}},
		{"recovery needs success threshold", Pending, 1, 2,
			[]Outcome{bad503, ok200, ok200}, []State{Unhealthy, Unhealthy, Healthy}},
		{"failing kind changes at once", Pending, 3, 1,
			[]Outcome{bad503, refused, bad503}, []State{Unhealthy, Unreachable, Unhealthy}},
		{"restored state: first fresh verdict sets at once", Healthy, 3, 1,
			[]Outcome{bad503}, []State{Unhealthy}},
		{"restored state: same verdict is no change", Unreachable, 3, 1,
			[]Outcome{refused, ok200}, []State{Unreachable, Healthy}},
		{"inconclusive outcomes neither count nor break a streak", Pending, 2, 2,
			[]Outcome{ok200, doubt, doubt, bad503, doubt, bad503, doubt, ok200, doubt, ok200},
			[]State{Healthy, Healthy, Healthy, Healthy, Healthy, Unhealthy, Unhealthy, Unhealthy, Unhealthy, Healthy}},
		{"an inconclusive first outcome is no verdict", Pending, 3, 1,
			[]Outcome{doubt, doubt}, []State{Pending, Pending}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var tr Tracker
			st := Status{State: tc.start}
			for i, o := range tc.outcomes {
				o.At = time.Unix(int64(i+1), 0)
				before := st.State
				next, changed := tr.Observe(st, o, tc.fail, tc.succ)
				if o.Inconclusive {
					if changed || next != st {
						t.Fatalf("inconclusive outcome %d changed the status: %+v → %+v", i, st, next)
					}
					continue
				}
				got := next.State
				if got != tc.want[i] {
					t.Fatalf("after outcome %d: state %s, want %s", i, got, tc.want[i])
				}
				if changed != (before != got) {
					t.Fatalf("after outcome %d: changed=%v, state went %s→%s", i, changed, before, got)
				}
				if changed && !next.Since.Equal(o.At) {
					t.Fatalf("after outcome %d: since %v, want %v", i, next.Since, o.At)
				}
				if next.CheckedAt == nil || !next.CheckedAt.Equal(o.At) {
					t.Fatalf("after outcome %d: checked_at not updated", i)
				}
				st = next
			}
		})
	}
}

func TestTrackerRecordsOutcomeDetails(t *testing.T) {
	var tr Tracker
	st, _ := tr.Observe(Status{State: Pending}, Outcome{Kind: KindTimeout, Err: "timeout after 5s", Latency: 5 * time.Second, At: time.Unix(9, 0)}, 3, 1)
	if st.ErrorKind != KindTimeout || st.Error != "timeout after 5s" || st.Code != 0 || st.LatencyMS != 5000 {
		t.Fatalf("status %+v does not carry the outcome", st)
	}
}

func TestParseExpect(t *testing.T) {
	tests := []struct {
		in      string
		canon   string
		in200   bool
		in404   bool
		wantErr bool
	}{
		{"200", "200", true, false, false},
		{"200-299", "200-299", true, false, false},
		{" 200 , 204,300-399", "200,204,300-399", true, false, false},
		{"400-404", "400-404", false, true, false},
		{"", "", false, false, true},
		{"abc", "", false, false, true},
		{"299-200", "", false, false, true},
		{"99", "", false, false, true},
		{"200-600", "", false, false, true},
		{"200,", "", false, false, true},
	}
	for _, tc := range tests {
		e, err := ParseExpect(tc.in)
		if (err != nil) != tc.wantErr {
			t.Fatalf("ParseExpect(%q) error %v, wantErr %v", tc.in, err, tc.wantErr)
		}
		if err != nil {
			continue
		}
		if e.String() != tc.canon || e.Contains(200) != tc.in200 || e.Contains(404) != tc.in404 {
			t.Fatalf("ParseExpect(%q) = %q contains200=%v contains404=%v", tc.in, e, e.Contains(200), e.Contains(404))
		}
	}
}

func TestSettingsValidate(t *testing.T) {
	base := Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1, Expect: DefaultExpect}
	tests := []struct {
		name   string
		mutate func(*Settings)
		ok     bool
	}{
		{"defaults", func(*Settings) {}, true},
		{"interval 1s timeout 500ms", func(s *Settings) { s.Interval, s.Timeout = time.Second, 500*time.Millisecond }, true},
		{"interval under 1s", func(s *Settings) { s.Interval, s.Timeout = 500*time.Millisecond, 100*time.Millisecond }, false},
		{"interval over 24h", func(s *Settings) { s.Interval = 25 * time.Hour }, false},
		{"timeout equal interval", func(s *Settings) { s.Timeout = s.Interval }, false},
		{"timeout zero", func(s *Settings) { s.Timeout = 0 }, false},
		{"failure threshold 0", func(s *Settings) { s.FailureThreshold = 0 }, false},
		{"success threshold 101", func(s *Settings) { s.SuccessThreshold = 101 }, false},
		{"no expect", func(s *Settings) { s.Expect = Expect{} }, false},
	}
	for _, tc := range tests {
		s := base
		tc.mutate(&s)
		if err := s.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate() = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

func TestSettingsJSONRoundTrip(t *testing.T) {
	s := Settings{Interval: 90 * time.Second, Timeout: 1500 * time.Millisecond, FailureThreshold: 2, SuccessThreshold: 4, Expect: MustParseExpect("200,204")}
	b, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"interval":"1m30s","timeout":"1.5s","failure_threshold":2,"success_threshold":4,"expect":"200,204"}` {
		t.Fatalf("unexpected JSON %s", b)
	}
	var back Settings
	if err := back.UnmarshalJSON(b); err != nil {
		t.Fatal(err)
	}
	if !back.SameSchedule(s) {
		t.Fatalf("round trip changed settings: %+v vs %+v", back, s)
	}
}

// TestTrackerVerdictAfterPause: once a URL is paused, the next outcome sets
// the state at once, as from pending, even for a tracker that has seen
// outcomes before the pause and whose thresholds would otherwise hold.
func TestTrackerVerdictAfterPause(t *testing.T) {
	for _, o := range []Outcome{ok200, bad503, refused} {
		var tr Tracker
		st, _ := tr.Observe(Status{State: Pending}, ok200, 3, 3)
		st, _ = tr.Observe(st, ok200, 3, 3)
		st.State = Paused
		next, changed := tr.Observe(st, o, 3, 3)
		if want := o.Verdict(); !changed || next.State != want {
			t.Errorf("after pause, outcome %+v: state %s changed=%v, want %s at once", o, next.State, changed, want)
		}
	}
}
