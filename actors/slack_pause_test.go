package actors_test

import (
	"testing"
	"time"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
)

// TestSlackPauseAndResume: pausing is never announced; after a resume, a
// verdict equal to the last state announced is not announced, one that
// differs is.
func TestSlackPauseAndResume(t *testing.T) {
	b := newBatcher(t, 3, func(c *actors.SlackConfig) { c.BatchWindow = time.Hour })
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 503, "")
	b.publish(testURL(2), health.Healthy, health.Unhealthy, 503, "")
	b.flush()
	if n := len(b.slack.Messages()); n != 1 {
		t.Fatalf("%d messages before the pause, want 1", n)
	}
	for i := range 3 {
		prev := health.Unhealthy
		if i == 1 {
			prev = health.Healthy
		}
		b.publish(testURL(i), prev, health.Paused, 0, "")
	}
	b.flush()
	if n := len(b.slack.Messages()); n != 1 {
		t.Fatalf("pausing was announced: %d messages", n)
	}
	b.publish(testURL(0), health.Paused, health.Unhealthy, 503, "") // as announced: not again
	b.publish(testURL(1), health.Paused, health.Unhealthy, 500, "") // announced healthy: differs
	b.publish(testURL(2), health.Paused, health.Healthy, 200, "")   // announced unhealthy: differs
	b.flush()
	msgs := b.slack.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	seen, _ := announcedURLs(t, msgs[1:], 40)
	if len(seen) != 2 || seen[testURL(1)] != 1 || seen[testURL(2)] != 1 {
		t.Errorf("after resume announced %v, want %s and %s once each", seen, testURL(1), testURL(2))
	}
}

// TestSlackPausedURLsDoNotMakeAMassFailure: URLs paused after they failed
// within the window are not counted as failing, so 20 failures of which 5
// were paused are not a mass failure among 30 URLs.
func TestSlackPausedURLsDoNotMakeAMassFailure(t *testing.T) {
	b := newBatcher(t, 30, func(c *actors.SlackConfig) { c.BatchWindow = 300 * time.Millisecond })
	for i := range 20 {
		b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection refused")
	}
	for i := range 5 {
		b.publish(testURL(i), health.Unreachable, health.Paused, 0, "")
	}
	b.flush()
	msgs := b.slack.Messages()
	if len(msgs) == 0 {
		t.Fatal("no message for 15 failures")
	}
	for _, m := range msgs {
		if isMass(m) {
			t.Fatalf("mass failure announced with 5 of its 20 URLs paused: %s", m.Text)
		}
	}
}
