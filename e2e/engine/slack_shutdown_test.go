package engine

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/slack/slacktest"
)

// TestSlackShutdownWhileSlackHangs stops the real binary with SIGTERM while
// its Slack webhook accepts the post and never answers: spo2 must exit with
// status 0 within its 10 s shutdown budget, and the change Slack never
// acknowledged must be announced by the next start, once Slack answers again.
func TestSlackShutdownWhileSlackHangs(t *testing.T) {
	slack := slacktest.NewServer(t, "/services/T0/B0/secret")
	slack.Set(slacktest.Hang)
	tg := newTarget(t, modeFail)
	p := startSpo2(t, "SLACK_HOOK_URL="+slack.URL,
		"SLACK_BATCH_WINDOW=200ms", "FAILURE_THRESHOLD=1")
	watched := tg.URL("/health")
	put(t, p, watched, []byte(`{"customer":7}`), http.StatusCreated, "interval", "1s", "timeout", "500ms")
	waitStatus(t, p, watched, 10*time.Second, "unhealthy", func(r record) bool { return r.Status.State == "unhealthy" })
	eventually(t, 10*time.Second, "a post to Slack held open", func() bool { return slack.Held() > 0 })

	took, err := p.Stop(10 * time.Second)
	t.Logf("SIGTERM to exit with Slack hanging: %s", took.Round(time.Millisecond))
	if err != nil {
		t.Fatalf("shutdown with Slack hanging: got %v after %s, want exit status 0 within 10s\n%s",
			err, took.Round(time.Millisecond), tail(p.Logs(), 40))
	}
	if bodies := slack.Bodies(); len(bodies) != 0 {
		t.Fatalf("Slack hung, yet %d messages were accepted", len(bodies))
	}
	if logs := p.Logs(); !strings.Contains(logs, "undelivered") {
		t.Errorf("shutdown did not log the undelivered change:\n%s", tail(logs, 40))
	}

	slack.Set(slacktest.OK)
	restart(t, p)
	eventually(t, 15*time.Second, "the change announced after the restart", func() bool {
		return len(slack.Bodies()) > 0
	})
	bodies := slack.Bodies()
	var msg struct {
		Text string `json:"text"`
	}
	if err := json.Unmarshal([]byte(bodies[0]), &msg); err != nil {
		t.Fatalf("Slack body is not JSON: %v\n%s", err, bodies[0])
	}
	if !strings.Contains(msg.Text, "UNHEALTHY "+watched+" HTTP 503 · since ") || !strings.Contains(msg.Text, "state found at start-up") {
		t.Errorf("first message after the restart does not announce %s unhealthy:\n%s", watched, msg.Text)
	}
}
