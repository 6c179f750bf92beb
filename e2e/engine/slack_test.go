package engine

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/slack/slacktest"
)

// TestSlackThroughTheBinary wires the real binary to a fake Slack: a failing
// target is announced once, with its password masked, after Slack recovers
// from 500s; its recovery is announced; a restart announces nothing again.
func TestSlackThroughTheBinary(t *testing.T) {
	slack := slacktest.NewServer(t, "/services/T0/B0/secret")
	slack.Set(slacktest.Fail)
	tg := newTarget(t, modeFail)
	p := startSpo2(t, "SLACK_HOOK_URL="+slack.URL,
		"SLACK_BATCH_WINDOW=200ms", "FAILURE_THRESHOLD=1")
	watched := strings.Replace(tg.URL("/health"), "http://", "http://ops:hunter2@", 1)
	put(t, p, watched, []byte(`{"customer":42}`), http.StatusCreated, "interval", "1s", "timeout", "500ms")

	eventually(t, 10*time.Second, "Slack refused at least one post", func() bool {
		return len(slack.Attempts()) > 0
	})
	slack.Set(slacktest.OK)
	eventually(t, 15*time.Second, "the unhealthy URL announced after Slack recovered", func() bool {
		return len(slack.Bodies()) >= 1
	})
	first := slack.Bodies()[0]
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(first), &msg); err != nil {
		t.Fatalf("Slack body is not JSON: %v\n%s", err, first)
	}
	if !strings.Contains(msg.Text, "unhealthy") || !strings.Contains(msg.Text, "503") || len(msg.Blocks) == 0 {
		t.Fatalf("message lacks state, code or blocks: %s", first)
	}
	if strings.Contains(first, "hunter2") || !strings.Contains(first, "ops:****@") {
		t.Fatalf("password not masked: %s", first)
	}
	if !strings.Contains(first, "customer") {
		t.Fatalf("custom data missing: %s", first)
	}

	tg.set(modeOK)
	eventually(t, 15*time.Second, "the recovery announced", func() bool {
		bodies := slack.Bodies()
		return len(bodies) >= 2 && strings.Contains(bodies[len(bodies)-1], ":large_green_circle: *healthy*")
	})

	before := slack.Bodies()
	if _, err := p.Stop(10 * time.Second); err != nil {
		t.Fatalf("stopping spo2: %v", err)
	}
	restartedAt := time.Now()
	restart(t, p)
	waitStatus(t, p, watched, 10*time.Second, "probed healthy again after the restart", func(r record) bool {
		return r.Status.State == "healthy" && r.Status.CheckedAt != nil && r.Status.CheckedAt.After(restartedAt)
	})
	// Two more batch windows and probes: still nothing new to say.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if after := slack.Bodies(); len(after) != len(before) {
			t.Fatalf("restart re-announced an unchanged state: %s", after[len(after)-1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("message body: %s", first)
}
