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
			StillByState: map[health.State]int{health.Unhealthy: 97}, Still: many}.Message()},
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
	if got, want := m.Blocks[0].Text.Text, "SpO₂: 1 unreachable, 802 unhealthy, 12 healthy"; got != want {
		t.Errorf("header %q, want %q", got, want)
	}
	if n := len(m.Blocks); n != 1+3+1 {
		t.Errorf("%d blocks, want 5", n)
	}
	if last := m.Blocks[len(m.Blocks)-1].Text.Text; !strings.Contains(last, "…and 812 more changes") {
		t.Errorf("fold line %q", last)
	}
	if !strings.HasPrefix(m.Text, "SpO₂: 1 unreachable, 802 unhealthy, 12 healthy\nUNHEALTHY http://a/h HTTP 503") {
		t.Errorf("fallback text %q", m.Text)
	}
}
