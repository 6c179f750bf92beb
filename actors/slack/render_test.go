package slack

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{42 * time.Second, "42s"},
		{5*time.Minute + 3*time.Second, "5m 3s"},
		{2*time.Hour + 3*time.Minute + 59*time.Second, "2h 3m"},
		{76 * time.Hour, "3d 4h"},
	}
	for _, tc := range tests {
		if got := Duration(tc.d); got != tc.want {
			t.Errorf("Duration(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestDataLine(t *testing.T) {
	long := `{"k":"` + strings.Repeat("é", 200) + `"}`
	tests := []struct{ in, want string }{
		{"", ""},
		{"null", ""},
		{" \n{\"index\": \"movies\",\n \"customer\": 42}\n", `{"index":"movies","customer":42}`},
		{`"plain"`, `"plain"`},
		{"not json\nat all", "not json at all"},
		{long, truncate(`{"k":"`+strings.Repeat("é", 200)+`"}`, DataWidth)},
	}
	for _, tc := range tests {
		got := DataLine(json.RawMessage(tc.in))
		if got != tc.want {
			t.Errorf("DataLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if len(got) > DataWidth || strings.Contains(got, "\n") {
			t.Errorf("DataLine(%q) = %q: longer than %d or multi-line", tc.in, got, DataWidth)
		}
	}
}

func TestLine(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		ev     Event
		mrkdwn string
		plain  string
	}{
		{"unhealthy after healthy",
			Event{URL: "http://a:pw@10.0.3.7:7700/health", State: health.Unhealthy, Previous: health.Healthy, Code: 503,
				At: at, PreviousSince: at.Add(-2*time.Hour - 3*time.Minute), Data: `{"customer":42}`},
			":red_circle: *unhealthy* `http://a:****@10.0.3.7:7700/health` HTTP 503 · was healthy for 2h 3m · `{\"customer\":42}`",
			"UNHEALTHY http://a:****@10.0.3.7:7700/health HTTP 503 · was healthy for 2h 3m · {\"customer\":42}"},
		{"unreachable first verdict",
			Event{URL: "http://x/h", State: health.Unreachable, Previous: health.Pending, Error: "dial tcp: connection refused", At: at},
			":black_circle: *unreachable* `http://x/h` dial tcp: connection refused · first verdict",
			"UNREACHABLE http://x/h dial tcp: connection refused · first verdict"},
		{"state found at start-up",
			Event{URL: "http://x/h", State: health.Unhealthy, Code: 502, At: at.Add(-90 * time.Second), Restored: true},
			":red_circle: *unhealthy* `http://x/h` HTTP 502 · since 2026-11-21 09:58:30 UTC, state found at start-up",
			"UNHEALTHY http://x/h HTTP 502 · since 2026-11-21 09:58:30 UTC, state found at start-up"},
		{"state found at start-up, start unknown",
			Event{URL: "http://x/h", State: health.Healthy, Restored: true},
			":large_green_circle: *healthy* `http://x/h` · state found at start-up",
			"HEALTHY http://x/h · state found at start-up"},
		{"changed during a silence",
			Event{URL: "http://x/h", State: health.Unhealthy, Previous: health.Healthy, Code: 503, At: at.Add(-90 * time.Second), AfterSilence: true},
			":red_circle: *unhealthy* `http://x/h` HTTP 503 · was healthy; since 2026-11-21 09:58:30 UTC, during a silence",
			"UNHEALTHY http://x/h HTTP 503 · was healthy; since 2026-11-21 09:58:30 UTC, during a silence"},
		{"recovery with unknown start",
			Event{URL: "http://x/h", State: health.Healthy, Previous: health.Unreachable, At: at},
			":large_green_circle: *healthy* `http://x/h` · was unreachable",
			"HEALTHY http://x/h · was unreachable"},
		{"escaping",
			Event{URL: "http://x/h?a=<b>&c", State: health.Unreachable, Previous: health.Healthy, Error: "bad <tag> & `tick`",
				At: at, PreviousSince: at.Add(-90 * time.Second), Data: "{\"q\":\"`x`\"}"},
			":black_circle: *unreachable* `http://x/h?a=&lt;b&gt;&amp;c` bad &lt;tag&gt; &amp; `tick` · was healthy for 1m 30s · `{\"q\":\"'x'\"}`",
			"UNREACHABLE http://x/h?a=<b>&c bad <tag> & `tick` · was healthy for 1m 30s · {\"q\":\"`x`\"}"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, p := Line(tc.ev)
			if m != tc.mrkdwn {
				t.Errorf("mrkdwn\n got %s\nwant %s", m, tc.mrkdwn)
			}
			if p != tc.plain {
				t.Errorf("plain\n got %s\nwant %s", p, tc.plain)
			}
		})
	}
}

// TestLimits renders the largest messages SpO₂ can produce and checks them
// against Slack's limits.
func TestLimits(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	huge := func(i int, st health.State) Event {
		return Event{URL: "https://user:" + strings.Repeat("p", 50) + "@" + strings.Repeat("h", 2000) + fmt.Sprintf("/%d", i),
			State: st, Previous: health.Healthy, Code: 500, Error: strings.Repeat("timeout ", 1000),
			At: at, PreviousSince: at.Add(-time.Hour), Data: DataLine(json.RawMessage(`"` + strings.Repeat("<&>", 20000) + `"`))}
	}
	var many []Event
	for i := 0; i < 100; i++ {
		many = append(many, huge(i, []health.State{health.Unhealthy, health.Unreachable, health.Healthy}[i%3]))
	}
	tests := []struct {
		name string
		msg  Message
	}{
		{"empty batch with fold", Batch(nil, Folded{Count: 812, ByState: map[health.State]int{health.Unhealthy: 812}})},
		{"full batch", Batch(many[:MaxEvents], Folded{Count: 99999, ByState: map[health.State]int{health.Healthy: 1, health.Unreachable: 99998}})},
		{"over-full batch", Batch(many, Folded{})},
		{"mass failure", MassFailure{Failed: 100000, Registered: 100001, Window: 5 * time.Second,
			ByState: map[health.State]int{health.Unreachable: 100000}, Sample: many}.Message()},
		{"mass recovery", MassRecovery{Total: 100000, Recovered: 99900, Removed: 3, Lasted: time.Hour,
			StillByState: map[health.State]int{health.Unhealthy: 97}, Still: many,
			Now: map[health.State]int{health.Healthy: 99_000, health.Unhealthy: 1_000}}.Message()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(tc.msg); err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(tc.msg)
			if err != nil || !json.Valid(b) {
				t.Fatalf("marshal: %v", err)
			}
			if strings.Contains(string(b), strings.Repeat("p", 50)) {
				t.Error("password leaked")
			}
			if tc.msg.Blocks[0].Type != "header" {
				t.Error("first block is not the header")
			}
		})
	}
}

func TestBatchContent(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	evs := []Event{
		{URL: "http://a/h", State: health.Unhealthy, Previous: health.Healthy, Code: 503, At: at},
		{URL: "http://b/h", State: health.Unreachable, Previous: health.Healthy, Error: "timeout after 5s", At: at},
		{URL: "http://c/h", State: health.Unhealthy, Previous: health.Healthy, Code: 500, At: at},
	}
	m := Batch(evs, Folded{Count: 812, ByState: map[health.State]int{health.Healthy: 12, health.Unhealthy: 800}})
	if got, want := m.Blocks[0].Text.Text, "SpO₂: 815 changes: 1 unreachable, 802 unhealthy, 12 healthy"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if n := len(m.Blocks); n != 1+3+1 {
		t.Errorf("%d blocks, want 5", n)
	}
	want := "SpO₂: 815 changes: 1 unreachable, 802 unhealthy, 12 healthy\n" +
		"UNHEALTHY http://a/h HTTP 503 · was healthy\n" +
		"UNREACHABLE http://b/h timeout after 5s · was healthy\n" +
		"UNHEALTHY http://c/h HTTP 500 · was healthy\n" +
		"…and 812 more changes (800 unhealthy, 12 healthy), not listed because too many changes were waiting for Slack"
	if m.Text != want {
		t.Errorf("fallback text\n%s\nwant\n%s", m.Text, want)
	}
	if one := Batch(evs[:1], Folded{}); one.Text[:strings.IndexByte(one.Text, '\n')] != "SpO₂: 1 change: 1 unhealthy" {
		t.Errorf("one-event header: %q", one.Text)
	}
}

func TestMassFailureWording(t *testing.T) {
	m := MassFailure{Failed: 25, Registered: 40, Window: 5 * time.Second,
		ByState: map[health.State]int{health.Unreachable: 25}}.Message()
	want := "*This is most likely the network or SpO₂'s own side, not 25 endpoints at once.* 25 URLs (62% of 40 registered) " +
		"turned failing within 5s. Check SpO₂'s host, its DNS resolver and the network path to the targets. " +
		"Until the mass failure is over, further failures and the recoveries of these URLs are not announced one by one; " +
		"one message will say when it is over."
	if got := m.Blocks[1].Text.Text; got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}
	if got := m.Text; got != "SpO₂: 25 of 40 URLs failed at once — most likely the network or SpO₂'s own side (25 unreachable)" {
		t.Errorf("fallback %q", got)
	}
}

// A recovery notice says how many registered URLs are failing when it is
// sent, and that all are healthy only when every one is.
func TestMassRecoveryWording(t *testing.T) {
	still := []Event{{URL: "http://10.0.0.22/h", State: health.Unreachable, Previous: health.Healthy, Error: "timeout"}}
	base := MassRecovery{Total: 25, Recovered: 24, Lasted: 42 * time.Second,
		StillByState: map[health.State]int{health.Unreachable: 1}, Still: still}
	tests := []struct {
		name string
		rec  MassRecovery
		want string
	}{
		{"others failing", with(base, func(r *MassRecovery) {
			r.Now = map[health.State]int{health.Healthy: 36, health.Unreachable: 3, health.Unhealthy: 1}
		}),
			"SpO₂: mass failure over, 24 of 25 URLs recovered. The mass failure lasted 42s. 1 of them had not recovered when it ended " +
				"(1 unreachable); each will be announced when it recovers. Failing now: 4 of 40 registered URLs (3 unreachable, 1 unhealthy).\n" +
				"UNREACHABLE http://10.0.0.22/h timeout · was healthy"},
		{"all healthy", MassRecovery{Total: 25, Recovered: 23, Removed: 2, Lasted: 90 * time.Second,
			Now: map[health.State]int{health.Healthy: 38, health.Pending: 0, health.Unhealthy: 0}},
			"SpO₂: mass failure over, 23 of 25 URLs recovered. The mass failure lasted 1m 30s. 2 of its URLs were removed meanwhile. " +
				"All 38 registered URLs are healthy now."},
		{"pending is not healthy", MassRecovery{Total: 20, Recovered: 20, Lasted: time.Second,
			Now: map[health.State]int{health.Healthy: 38, health.Pending: 2}},
			"SpO₂: mass failure over, 20 of 20 URLs recovered. The mass failure lasted 1s. " +
				"None of the 40 registered URLs is failing now (38 healthy, 2 pending)."},
		{"paused is neither healthy nor failing", MassRecovery{Total: 20, Recovered: 18, Lasted: time.Second,
			Now: map[health.State]int{health.Healthy: 38, health.Paused: 2}},
			"SpO₂: mass failure over, 18 of 20 URLs recovered. The mass failure lasted 1s. " +
				"None of the 40 registered URLs is failing now (38 healthy, 2 paused)."},
		{"one removed, nothing left", MassRecovery{Total: 20, Recovered: 19, Removed: 1, Lasted: time.Second,
			Now: map[health.State]int{health.Healthy: 0}},
			"SpO₂: mass failure over, 19 of 20 URLs recovered. The mass failure lasted 1s. 1 of its URLs was removed meanwhile. " +
				"No URL is registered now."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.rec.Message()
			if m.Text != tc.want {
				t.Errorf("fallback\n%s\nwant\n%s", m.Text, tc.want)
			}
			if err := Validate(m); err != nil {
				t.Error(err)
			}
		})
	}
}

func with(r MassRecovery, f func(*MassRecovery)) MassRecovery {
	f(&r)
	return r
}
