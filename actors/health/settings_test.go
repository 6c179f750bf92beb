package health

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func dur(d time.Duration) *time.Duration { return &d }

func TestTimeoutFor(t *testing.T) {
	builtIn := Settings{Timeout: 5 * time.Second, TimeoutDerived: true}
	configured := Settings{Timeout: 3 * time.Second}
	tests := []struct {
		defaults Settings
		interval time.Duration
		want     time.Duration
	}{
		{builtIn, 10 * time.Second, 5 * time.Second},
		{builtIn, time.Hour, 5 * time.Second},
		{builtIn, 8 * time.Second, 4 * time.Second},
		{builtIn, 2 * time.Second, time.Second},
		{builtIn, time.Second, 500 * time.Millisecond},
		{configured, 10 * time.Second, 3 * time.Second},
		{configured, 4 * time.Second, 3 * time.Second},
		{configured, 3 * time.Second, 1500 * time.Millisecond},
		{configured, time.Second, 500 * time.Millisecond},
	}
	for _, tc := range tests {
		if got := tc.defaults.TimeoutFor(tc.interval); got != tc.want {
			t.Errorf("%+v.TimeoutFor(%s) = %s, want %s", tc.defaults, tc.interval, got, tc.want)
		}
	}
}

func TestResolve(t *testing.T) {
	defaults := Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, TimeoutDerived: true,
		FailureThreshold: 3, SuccessThreshold: 1, Expect: DefaultExpect}
	derived := func(iv, to time.Duration) Settings {
		s := defaults
		s.Interval, s.Timeout, s.TimeoutDerived = iv, to, true
		return s
	}
	explicit := func(iv, to time.Duration) Settings {
		s := derived(iv, to)
		s.TimeoutDerived = false
		return s
	}
	two := 2
	tests := []struct {
		name string
		prev *Settings
		o    Overrides
		want Settings
	}{
		{"new, nothing given", nil, Overrides{}, derived(10*time.Second, 5*time.Second)},
		{"new, interval 1s", nil, Overrides{Interval: dur(time.Second)}, derived(time.Second, 500*time.Millisecond)},
		{"new, timeout given", nil, Overrides{Timeout: dur(2 * time.Second)}, explicit(10*time.Second, 2*time.Second)},
		{"derived follows a new interval", ptr(derived(time.Second, 500*time.Millisecond)),
			Overrides{Interval: dur(time.Hour)}, derived(time.Hour, 5*time.Second)},
		{"explicit is kept through a new interval", ptr(explicit(10*time.Second, 2*time.Second)),
			Overrides{Interval: dur(time.Hour)}, explicit(time.Hour, 2*time.Second)},
		{"explicit kept even when the interval refuses it", ptr(explicit(10*time.Second, 5*time.Second)),
			Overrides{Interval: dur(2 * time.Second)}, explicit(2*time.Second, 5*time.Second)},
		{"same interval keeps a derived timeout", ptr(derived(10*time.Second, 4*time.Second)),
			Overrides{Interval: dur(10 * time.Second)}, derived(10*time.Second, 4*time.Second)},
		{"other settings keep everything else", ptr(derived(time.Second, 500*time.Millisecond)),
			Overrides{FailureThreshold: &two}, func() Settings {
				s := derived(time.Second, 500*time.Millisecond)
				s.FailureThreshold = 2
				return s
			}()},
		{"a timeout turns a derived one explicit", ptr(derived(time.Second, 500*time.Millisecond)),
			Overrides{Timeout: dur(700 * time.Millisecond)}, explicit(time.Second, 700*time.Millisecond)},
	}
	for _, tc := range tests {
		got := tc.o.Resolve(tc.prev, defaults)
		if !got.Equal(tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func ptr(s Settings) *Settings { return &s }

func TestRegistrationJSONKeepsTimeoutDerived(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	for _, derived := range []bool{true, false} {
		in := Registration{URL: "http://h/", Data: json.RawMessage(`{"a":"<b>&"}`), CreatedAt: at, UpdatedAt: at,
			Probe: Settings{Interval: time.Second, Timeout: 500 * time.Millisecond, FailureThreshold: 3,
				SuccessThreshold: 1, Expect: DefaultExpect, TimeoutDerived: derived}}
		b, err := MarshalJSON(in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), `{"a":"<b>&"}`) {
			t.Errorf("stored data %s is not byte for byte", b)
		}
		var out Registration
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatal(err)
		}
		if out.URL != in.URL || string(out.Data) != string(in.Data) || !out.Probe.Equal(in.Probe) || !out.CreatedAt.Equal(at) {
			t.Errorf("derived=%v: round trip %s gave %+v", derived, b, out)
		}
	}
	// A registration stored before the flag existed reads as explicit.
	old := `{"url":"http://h/","data":null,"probe":{"interval":"10s","timeout":"5s","failure_threshold":3,"success_threshold":1,"expect":"200-399"},"created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:00:00Z"}`
	var r Registration
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	if r.Probe.TimeoutDerived || r.Probe.Timeout != 5*time.Second {
		t.Errorf("old record read as %+v, want an explicit 5s timeout", r.Probe)
	}
	// The API's record does not show the flag.
	rec := NewRecord(&r, &Status{State: Pending})
	rec.Probe.TimeoutDerived = true
	if b, _ := MarshalJSON(rec); strings.Contains(string(b), "derived") {
		t.Errorf("record JSON %s shows the flag", b)
	}
}
