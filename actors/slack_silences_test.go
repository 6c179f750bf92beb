package actors_test

import (
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/persistence"
)

// silencedBatcher is a batcher with a real silence Book (on its own real
// store) that tells the batcher of every change, as main wires them. The
// first `labelled` URLs carry the label team=search.
func silencedBatcher(t *testing.T, n, labelled int, tune func(*actors.SlackConfig)) (*batcher, *silence.Book) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(t.TempDir(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	book, err := silence.Open(store, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		book.Close()
		_ = store.Close()
	})
	b := newBatcher(t, n, func(c *actors.SlackConfig) {
		c.Silences = book
		if tune != nil {
			tune(c)
		}
	})
	b.model.SetSilencer(book)
	for i := range labelled {
		reg := *b.model.Get(testURL(i)).Registration()
		reg.Labels = health.Labels{"team": "search"}
		b.model.Put(&reg, nil)
	}
	book.OnChange(func(c silence.Change) { b.system.Root.Send(b.pid, c) })
	return b, book
}

func addSilence(t *testing.T, book *silence.Book, url, labels string, d time.Duration) silence.Silence {
	t.Helper()
	s := silence.Silence{ID: silence.NewID(), URL: url, Labels: labels, Reason: "deploy",
		StartsAt: time.Now(), EndsAt: time.Now().Add(d)}
	if labels != "" {
		sel, err := health.ParseSelector(labels)
		if err != nil {
			t.Fatal(err)
		}
		s.Selector = sel
	}
	if err := book.Add(s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSlackSilencedChangeIsNotSent(t *testing.T) {
	b, book := silencedBatcher(t, 10, 2, nil)
	addSilence(t, book, "", "team=search", time.Hour)
	addSilence(t, book, testURL(5), "", time.Hour)
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 503, "")                   // silenced by label
	b.publish(testURL(5), health.Healthy, health.Unreachable, 0, "connection refused") // by URL
	b.publish(testURL(3), health.Healthy, health.Unhealthy, 500, "")                   // not silenced
	b.flush()
	seen, _ := announcedURLs(t, b.slack.Messages(), 40)
	if len(seen) != 1 || seen[testURL(3)] != 1 {
		t.Errorf("announced %v, want only %s", seen, testURL(3))
	}
	if got := testutil.ToFloat64(b.m.SlackSuppressed); got != 2 {
		t.Errorf("suppressed metric %v, want 2", got)
	}
}

// When the silence ends, the URL whose state changed meanwhile is announced
// once, in one batch; the one that came back to its announced state is not.
func TestSlackSilenceEndAnnouncesWhatChanged(t *testing.T) {
	b, book := silencedBatcher(t, 10, 3, nil)
	s := addSilence(t, book, "", "team=search", time.Hour)
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 503, "")
	b.publish(testURL(1), health.Healthy, health.Unreachable, 0, "connection refused")
	b.publish(testURL(2), health.Healthy, health.Unhealthy, 502, "")
	b.publish(testURL(2), health.Unhealthy, health.Healthy, 200, "") // back to what Slack knows
	b.flush()
	if n := len(b.slack.Messages()); n != 0 {
		t.Fatalf("%d messages while silenced", n)
	}
	if _, err := book.End(s.ID); err != nil {
		t.Fatal(err)
	}
	await(t, "the end of the silence on Slack", func() bool { return len(b.slack.Messages()) > 0 })
	b.flush()
	msgs := b.slack.Messages()
	seen, _ := announcedURLs(t, msgs, 40)
	if len(msgs) != 1 || len(seen) != 2 || seen[testURL(0)] != 1 || seen[testURL(1)] != 1 {
		t.Errorf("after the silence: %d messages announcing %v, want one announcing %s and %s", len(msgs), seen, testURL(0), testURL(1))
	}
	if len(msgs) > 0 && !strings.Contains(msgs[0].Text, "HTTP 503 · was healthy; since 2026-11-21 10:00:00 UTC, during a silence") {
		t.Errorf("line: %s", msgs[0].Text)
	}
	// Another silence change later announces nothing again.
	other := addSilence(t, book, testURL(9), "", time.Hour)
	if _, err := book.End(other.ID); err != nil {
		t.Fatal(err)
	}
	b.flush()
	if n := len(b.slack.Messages()); n != 1 {
		t.Errorf("%d messages after a second silence ended, want still 1", n)
	}
}

// A silence ends on time, by its timer, and what changed is announced then.
func TestSlackSilenceEndsOnTime(t *testing.T) {
	b, book := silencedBatcher(t, 5, 0, nil)
	addSilence(t, book, testURL(1), "", 400*time.Millisecond)
	b.publish(testURL(1), health.Healthy, health.Unreachable, 0, "connection refused")
	b.flush()
	if n := len(b.slack.Messages()); n != 0 {
		t.Fatalf("%d messages while silenced", n)
	}
	await(t, "the change announced once the silence ended", func() bool { return len(b.slack.Messages()) == 1 })
	if seen, _ := announcedURLs(t, b.slack.Messages(), 40); seen[testURL(1)] != 1 {
		t.Errorf("announced %v", seen)
	}
}

// A silence that begins takes back a change still waiting in its batch
// window; it is announced when the silence ends only if still current.
func TestSlackSilenceWithdrawsQueuedChange(t *testing.T) {
	b, book := silencedBatcher(t, 5, 1, func(c *actors.SlackConfig) { c.BatchWindow = time.Hour })
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 503, "") // queued for an hour
	s := addSilence(t, book, "", "team=search", time.Hour)
	b.flush()
	if n := len(b.slack.Messages()); n != 0 {
		t.Fatalf("%d messages: the queued change of a silenced URL was sent", n)
	}
	b.publish(testURL(0), health.Unhealthy, health.Healthy, 200, "") // recovers while silenced
	if _, err := book.End(s.ID); err != nil {
		t.Fatal(err)
	}
	b.flush()
	if n := len(b.slack.Messages()); n != 0 {
		t.Errorf("%d messages: a URL back to its announced state was announced", n)
	}
}

// A label silence covers a URL registered during the silence.
func TestSlackLabelSilenceCoversNewURL(t *testing.T) {
	b, book := silencedBatcher(t, 3, 0, nil)
	addSilence(t, book, "", "team=search", time.Hour)
	url := "http://10.9.9.9:7700/health"
	b.model.Put(&health.Registration{URL: url, Labels: health.Labels{"team": "search", "tier": "gold"}},
		&health.Status{State: health.Pending})
	b.system.Root.Send(b.pid, actors.Registered{Record: b.model.Get(url).Record(), New: true})
	b.publish(url, health.Pending, health.Unhealthy, 503, "")
	b.flush()
	if n := len(b.slack.Messages()); n != 0 {
		t.Errorf("%d messages about a URL registered into a label silence", n)
	}
	if !b.model.Get(url).Record().Silenced {
		t.Error("its record does not say silenced")
	}
}

// Silenced URLs do not count as failing for a mass failure: 25 silenced and
// 5 other URLs of 40 failing at once are 5 ordinary lines, no notice.
func TestSlackSilencedURLsDoNotMakeAMassFailure(t *testing.T) {
	b, book := silencedBatcher(t, 40, 25, nil)
	addSilence(t, book, "", "team=search", time.Hour)
	for i := range 30 {
		b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
	}
	await(t, "the five unsilenced failures on Slack", func() bool {
		seen, _ := announcedURLs(t, b.slack.Messages(), 40)
		return len(seen) == 5
	})
	b.flush()
	seen, _ := announcedURLs(t, b.slack.Messages(), 40)
	for i := range 30 {
		if want := map[bool]int{true: 0, false: 1}[i < 25]; seen[testURL(i)] != want {
			t.Errorf("%s announced %d times, want %d", testURL(i), seen[testURL(i)], want)
		}
	}
}

// A URL relabelled out of a label silence is no longer held: its change is
// announced at once.
func TestSlackRelabelledOutOfASilence(t *testing.T) {
	b, book := silencedBatcher(t, 3, 1, nil)
	addSilence(t, book, "", "team=search", time.Hour)
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 503, "")
	b.flush()
	if n := len(b.slack.Messages()); n != 0 {
		t.Fatalf("%d messages while silenced", n)
	}
	reg := *b.model.Get(testURL(0)).Registration()
	reg.Labels = health.Labels{"team": "ads"}
	b.model.Put(&reg, nil)
	b.system.Root.Send(b.pid, actors.Registered{Record: b.model.Get(testURL(0)).Record()})
	b.flush()
	if seen, _ := announcedURLs(t, b.slack.Messages(), 40); len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Errorf("announced %v, want %s once", seen, testURL(0))
	}
}

// A silence that begins during a mass failure takes the URLs it covers out
// of it: the mass failure ends once the others no longer make one, its
// recovery notice does not name them, and their recoveries during the
// silence are announced when it ends (Slack was told they failed).
func TestSlackSilenceDuringAMassFailure(t *testing.T) {
	b, book := silencedBatcher(t, 40, 25, nil)
	for i := range 30 {
		b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
	}
	await(t, "the mass-failure notice", func() bool { return len(b.slack.Messages()) == 1 })
	b.flush()
	if m := b.slack.Messages()[0]; !strings.Contains(m.Text, "30 of 40 URLs failed at once") {
		t.Fatalf("first message: %s", m.Text)
	}
	s := addSilence(t, book, "", "team=search", time.Hour)
	for i := range 25 {
		b.publish(testURL(i), health.Unreachable, health.Healthy, 200, "")
	}
	await(t, "the recovery notice", func() bool { return len(b.slack.Messages()) == 2 })
	b.flush()
	rec := b.slack.Messages()[1].Text
	if !strings.Contains(rec, "mass failure over, 0 of 5 URLs recovered") {
		t.Errorf("recovery notice:\n%s", rec)
	}
	for i := range 25 {
		if strings.Contains(rec, testURL(i)+" ") {
			t.Errorf("the recovery notice names silenced %s", testURL(i))
		}
	}
	if _, err := book.End(s.ID); err != nil {
		t.Fatal(err)
	}
	await(t, "the recoveries after the silence", func() bool { return len(b.slack.Messages()) == 3 })
	b.flush()
	msgs := b.slack.Messages()
	seen, _ := announcedURLs(t, msgs[2:], 40)
	if len(msgs) != 3 || len(seen) != 25 || !strings.Contains(msgs[2].Text, "25 changes: 25 healthy") {
		t.Errorf("after the silence: %d messages, %d URLs announced:\n%s", len(msgs), len(seen), msgs[len(msgs)-1].Text)
	}
}
