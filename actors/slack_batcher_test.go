package actors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/slack"
	"github.com/spo2/spo2/actors/slack/slacktest"
	"github.com/spo2/spo2/persistence"
)

// batcher is one Slack batcher wired to a real actor system, broadcaster,
// read model and store, posting to a fake Slack.
type batcher struct {
	t      *testing.T
	system *actor.ActorSystem
	bcast  *actor.PID
	model  *readmodel.Model
	store  *persistence.Store
	m      *metrics.Metrics
	slack  *slacktest.Server
	cfg    actors.SlackConfig
	pid    *actor.PID
	logs   *syncBuffer // the batcher's log
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// hookSecret is the secret part of the test webhook URL; it must never be logged.
const hookSecret = "s3cretHookToken"

// eventAt is the time of every published change; the previous state began
// 2h 3m before it.
var eventAt = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// newBatcher registers n healthy URLs (testURL(0…n-1)) and starts a batcher.
func newBatcher(t *testing.T, n int, tune func(*actors.SlackConfig)) *batcher {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	store, err := persistence.Open(t.TempDir(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log }))
	b := &batcher{t: t, system: system, model: readmodel.New(), store: store, m: metrics.New(),
		slack: slacktest.NewServer(t, "/services/T0/B0/"+hookSecret), logs: &syncBuffer{}}
	t.Cleanup(func() {
		system.Shutdown()
		_ = store.Close()
	})
	b.register(n)
	b.bcast = system.Root.Spawn(actors.NewBroadcasterProps(b.model, b.m, log, 0, 0))
	b.cfg = actors.SlackConfig{HookURL: b.slack.URL, BatchWindow: 200 * time.Millisecond,
		MinInterval: 5 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond}
	if tune != nil {
		tune(&b.cfg)
	}
	b.start()
	return b
}

func testURL(i int) string { return fmt.Sprintf("http://10.0.%d.%d:7700/health", i/250, i%250) }

func (b *batcher) register(n int) {
	ops := make([]persistence.Op, n)
	for i := range n {
		b.registerURL(testURL(i), json.RawMessage(fmt.Sprintf(`{"customer":%d}`, i)))
		ops[i] = persistence.Op{URL: testURL(i), Reg: b.model.Get(testURL(i)).Registration()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := b.store.Write(ctx, ops); err != nil {
		b.t.Fatal(err)
	}
}

func (b *batcher) registerURL(url string, data json.RawMessage) {
	b.model.Put(&health.Registration{URL: url, Data: data}, &health.Status{State: health.Healthy, Code: 200})
}

// start spawns a batcher and waits until it has started.
func (b *batcher) start() {
	b.pid = b.system.Root.Spawn(actors.NewSlackBatcherProps(b.cfg, b.bcast, b.model, b.store, b.m,
		slog.New(slog.NewTextHandler(b.logs, nil))))
	b.flush() // answered after Started
}

func (b *batcher) stop() {
	if err := b.system.Root.StopFuture(b.pid).Wait(); err != nil {
		b.t.Fatal(err)
	}
}

// publish records a state change in the read model and sends it to the
// batcher, as the broadcaster does after a URL actor.
func (b *batcher) publish(url string, prev, state health.State, code int, errText string) {
	b.send(actors.StatusChanged{URL: url, State: state, Previous: prev, Code: code, Error: errText,
		At: eventAt, PreviousSince: eventAt.Add(-2*time.Hour - 3*time.Minute)})
}

func (b *batcher) send(e actors.StatusChanged) {
	if entry := b.model.Get(e.URL); entry != nil {
		entry.SetStatus(&health.Status{State: e.State, Code: e.Code, Error: e.Error, Since: e.At})
	}
	b.system.Root.Send(b.pid, e)
}

// flush waits until everything sent to the batcher so far is delivered: its
// mailbox is first in, first out, so the flush is handled after every
// earlier event.
func (b *batcher) flush() {
	b.t.Helper()
	res, err := b.system.Root.RequestFuture(b.pid, actors.SlackFlush{}, 10*time.Second).Result()
	if err != nil {
		b.t.Fatalf("flush: %v", err)
	}
	if _, ok := res.(actors.SlackFlushed); !ok {
		b.t.Fatalf("flush answered %T", res)
	}
}

// await polls cond until it holds, failing the test after a deadline.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

var lineURL = regexp.MustCompile("`(https?://[^`]+)`")

// eventLines returns the URLs of a batch message's event lines, and the
// number in its "…and N more changes" line.
func eventLines(m slack.Message) (urls []string, folded int) {
	for _, b := range m.Blocks[1:] {
		if b.Type != "section" {
			continue
		}
		if u := lineURL.FindStringSubmatch(b.Text.Text); u != nil {
			urls = append(urls, u[1])
		}
		if _, err := fmt.Sscanf(strings.TrimPrefix(b.Text.Text, "_"), "…and %d more changes", &folded); err != nil {
			folded = max(folded, 0)
		}
	}
	return urls, folded
}

func isMass(m slack.Message) bool {
	h := m.Blocks[0].Text.Text
	return strings.Contains(h, "failed at once") || strings.Contains(h, "mass failure over")
}

// announcedURLs counts each URL's event lines over every batch message.
func announcedURLs(t *testing.T, msgs []slack.Message, batchSize int) (map[string]int, int) {
	t.Helper()
	seen := make(map[string]int)
	folded := 0
	for _, m := range msgs {
		if isMass(m) {
			t.Errorf("unexpected mass notice: %s", m.Text)
			continue
		}
		urls, f := eventLines(m)
		if len(urls) > batchSize {
			t.Errorf("message with %d events, more than %d", len(urls), batchSize)
		}
		folded += f
		for _, u := range urls {
			seen[u]++
		}
	}
	return seen, folded
}

func TestSlackHundredFailuresOutOfThousand(t *testing.T) {
	b := newBatcher(t, 1000, nil)
	for i := range 100 {
		if i%2 == 0 {
			b.publish(testURL(i), health.Healthy, health.Unhealthy, 503, "")
		} else {
			b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection refused")
		}
	}
	await(t, "100 events on Slack", func() bool {
		seen, _ := announcedURLs(t, b.slack.Messages(), 40)
		return len(seen) == 100
	})
	b.flush()
	msgs := b.slack.Messages()
	seen, _ := announcedURLs(t, msgs, 40)
	for i := range 100 {
		if seen[testURL(i)] != 1 {
			t.Errorf("%s announced %d times", testURL(i), seen[testURL(i)])
		}
	}
	if len(msgs) < 3 || len(msgs) > 4 {
		t.Errorf("%d messages, want 3 (40+40+20; 4 if a slow machine split the window)", len(msgs))
	}
	if got := testutil.ToFloat64(b.m.SlackEvents); got != 100 {
		t.Errorf("events delivered metric %v, want 100", got)
	}
	await(t, "announced states persisted", func() bool {
		a, err := b.store.LoadAnnounced()
		return err == nil && len(a) == 100 && a[testURL(0)] == health.Unhealthy && a[testURL(1)] == health.Unreachable
	})
}

func TestSlackMassFailureAndRecovery(t *testing.T) {
	b := newBatcher(t, 120, nil)
	for i := range 100 {
		if i < 70 {
			b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
		} else {
			b.publish(testURL(i), health.Healthy, health.Unhealthy, 502, "")
		}
	}
	await(t, "the mass-failure notice", func() bool { return len(b.slack.Messages()) >= 1 })
	b.flush()
	msgs := b.slack.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want one mass-failure notice", len(msgs))
	}
	m := msgs[0]
	for _, want := range []string{"SpO₂: 100 of 120 URLs failed at once", "network or SpO₂'s own side", "70 unreachable, 30 unhealthy"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("notice lacks %q:\n%s", want, m.Text)
		}
	}
	t.Logf("mass-failure fallback text:\n%s", m.Text)
	if n := strings.Count(m.Text, "UNREACHABLE http://"); n != slack.SampleSize {
		t.Errorf("sample of %d lines, want %d", n, slack.SampleSize)
	}

	for i := range 100 {
		prev := health.Unreachable
		if i >= 70 {
			prev = health.Unhealthy
		}
		b.publish(testURL(i), prev, health.Healthy, 200, "")
	}
	await(t, "the recovery notice", func() bool { return len(b.slack.Messages()) >= 2 })
	b.flush()
	msgs = b.slack.Messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	t.Logf("mass-recovery fallback text:\n%s", msgs[1].Text)
	if !strings.Contains(msgs[1].Text, "mass failure over, 100 of 100 URLs recovered") ||
		!strings.Contains(msgs[1].Text, "All 120 registered URLs are healthy now.") {
		t.Errorf("recovery notice:\n%s", msgs[1].Text)
	}
	if got := testutil.ToFloat64(b.m.SlackMessages.WithLabelValues(slack.KindMassFailure)) +
		testutil.ToFloat64(b.m.SlackMessages.WithLabelValues(slack.KindMassRecovery)); got != 2 {
		t.Errorf("mass messages metric %v, want 2", got)
	}
	await(t, "recovered states persisted", func() bool {
		a, err := b.store.LoadAnnounced()
		return err == nil && len(a) == 100 && a[testURL(0)] == health.Healthy
	})
}

// The recovery notice of a partial recovery says how many URLs are failing
// when it is sent, those left from the mass failure and unrelated ones alike,
// and never that everything is healthy.
func TestSlackMassRecoveryTellsWhatStillFails(t *testing.T) {
	b := newBatcher(t, 40, nil)
	b.publish(testURL(37), health.Healthy, health.Unreachable, 0, "connection refused")
	b.publish(testURL(38), health.Healthy, health.Unreachable, 0, "connection refused")
	b.publish(testURL(39), health.Healthy, health.Unhealthy, 503, "")
	b.flush()
	for i := range 25 {
		b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
	}
	await(t, "the mass-failure notice", func() bool { return len(b.slack.Messages()) >= 2 })
	for i := range 22 {
		b.publish(testURL(i), health.Unreachable, health.Healthy, 200, "")
	}
	await(t, "the recovery notice", func() bool { return len(b.slack.Messages()) >= 3 })
	b.flush()
	msgs := b.slack.Messages()
	if len(msgs) != 3 || !strings.HasPrefix(msgs[1].Text, "SpO₂: 25 of 40 URLs failed at once") {
		t.Fatalf("want a batch, a mass-failure notice and a recovery notice; got %d messages:\n%v", len(msgs), msgs)
	}
	t.Logf("mass-recovery fallback text:\n%s", msgs[2].Text)
	lasted := regexp.MustCompile(`lasted \d+s\.`)
	got := lasted.ReplaceAllString(msgs[2].Text, "lasted Ns.")
	want := "SpO₂: mass failure over, 22 of 25 URLs recovered. The mass failure lasted Ns. " +
		"3 of them had not recovered when it ended (3 unreachable); each will be announced when it recovers. " +
		"Failing now: 6 of 40 registered URLs (5 unreachable, 1 unhealthy).\n" +
		"UNREACHABLE http://10.0.0.22:7700/health timeout after 5s · was healthy for 2h 3m · {\"customer\":22}\n" +
		"UNREACHABLE http://10.0.0.23:7700/health timeout after 5s · was healthy for 2h 3m · {\"customer\":23}\n" +
		"UNREACHABLE http://10.0.0.24:7700/health timeout after 5s · was healthy for 2h 3m · {\"customer\":24}"
	if got != want {
		t.Errorf("recovery notice\n%s\nwant\n%s", got, want)
	}
	if h := msgs[2].Blocks[0].Text.Text; h != "SpO₂: mass failure over, 22 of 25 URLs recovered" {
		t.Errorf("header %q", h)
	}
	if body := msgs[2].Blocks[1].Text.Text; !strings.Contains(body, "*Failing now: 6 of 40 registered URLs* (5 unreachable, 1 unhealthy).") {
		t.Errorf("body %q", body)
	}
}

func TestSlackMassFailurePartialRecovery(t *testing.T) {
	b := newBatcher(t, 120, nil)
	for i := range 100 {
		b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
	}
	await(t, "the mass-failure notice", func() bool { return len(b.slack.Messages()) >= 1 })
	b.publish(testURL(110), health.Healthy, health.Unhealthy, 500, "") // fails during the incident: absorbed
	for i := 5; i < 100; i++ {
		b.publish(testURL(i), health.Unreachable, health.Healthy, 200, "")
	}
	await(t, "the recovery notice", func() bool { return len(b.slack.Messages()) >= 2 })
	b.flush()
	rec := b.slack.Messages()[1]
	for _, want := range []string{"95 of 101 URLs recovered", "6 of them had not recovered when it ended (5 unreachable, 1 unhealthy)",
		"Failing now: 6 of 120 registered URLs (5 unreachable, 1 unhealthy)", "UNREACHABLE " + testURL(0), "UNHEALTHY " + testURL(110)} {
		if !strings.Contains(rec.Text, want) {
			t.Errorf("recovery notice lacks %q:\n%s", want, rec.Text)
		}
	}
	// After the incident, a still-failing URL's recovery is a normal event.
	b.publish(testURL(0), health.Unreachable, health.Healthy, 200, "")
	await(t, "the recovery of one URL", func() bool { return len(b.slack.Messages()) >= 3 })
	b.flush()
	msgs := b.slack.Messages()
	if seen, _ := announcedURLs(t, msgs[2:], 40); len(msgs) != 3 || len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Errorf("after the incident: %d messages, lines %v", len(msgs), seen)
	}
}

func TestSlackDownThenBack(t *testing.T) {
	tests := []struct {
		mode       slacktest.Mode
		retryAfter string
		reason     string
		failures   int
		tune       func(*actors.SlackConfig)
	}{
		{mode: slacktest.Fail, reason: "5xx", failures: 4},
		{mode: slacktest.RateLimited, retryAfter: "1", reason: "429", failures: 1},
		{mode: slacktest.Hang, reason: "timeout", failures: 2,
			tune: func(c *actors.SlackConfig) { c.Client = &http.Client{Timeout: 100 * time.Millisecond} }},
	}
	for _, tc := range tests {
		t.Run(tc.reason, func(t *testing.T) {
			b := newBatcher(t, 1000, tc.tune)
			b.slack.Set(tc.mode)
			b.slack.SetRetryAfter(tc.retryAfter)
			for i := range 60 {
				b.publish(testURL(i), health.Healthy, health.Unhealthy, 500, "")
			}
			await(t, "refused attempts", func() bool { return len(b.slack.Attempts()) >= tc.failures })
			b.slack.Set(slacktest.OK)
			await(t, "every event delivered", func() bool {
				seen, _ := announcedURLs(t, b.slack.Messages(), 40)
				return len(seen) == 60
			})
			b.flush()
			if a := b.slack.Attempts(); tc.mode == slacktest.RateLimited {
				if gap := a[1].At.Sub(a[0].At); gap < 900*time.Millisecond {
					t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
				}
			}
			seen, _ := announcedURLs(t, b.slack.Messages(), 40)
			for u, n := range seen {
				if n != 1 {
					t.Errorf("%s delivered %d times", u, n)
				}
			}
			if got := testutil.ToFloat64(b.m.SlackRetries.WithLabelValues(tc.reason)); got < 1 {
				t.Errorf("retries{%s} = %v", tc.reason, got)
			}
			if got := testutil.ToFloat64(b.m.SlackBacklog); got != 0 {
				t.Errorf("backlog gauge %v after delivery", got)
			}
			logs := b.logs.String()
			if !strings.Contains(logs, "slack delivery failed; will retry") || strings.Contains(logs, hookSecret) {
				t.Errorf("retry not logged, or webhook URL leaked into the log:\n%s", logs)
			}
		})
	}
}

func TestSlackBacklogFolds(t *testing.T) {
	b := newBatcher(t, 1000, func(c *actors.SlackConfig) { c.MaxBacklog = 10 })
	b.slack.Set(slacktest.Fail)
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 500, "")
	await(t, "a refused attempt", func() bool { return len(b.slack.Attempts()) >= 1 })
	for i := 1; i < 25; i++ {
		b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection reset")
	}
	b.slack.Set(slacktest.OK)
	b.flush()
	seen, folded := announcedURLs(t, b.slack.Messages(), 40)
	if len(seen)+folded != 25 || folded != 15 {
		t.Errorf("%d lines + %d folded, want 10 + 15", len(seen), folded)
	}
	if got := testutil.ToFloat64(b.m.SlackFolded); got != 15 {
		t.Errorf("folded metric %v, want 15", got)
	}
	if !strings.Contains(b.logs.String(), "slack backlog full") {
		t.Error("folding not logged")
	}
	a, err := b.store.LoadAnnounced()
	if err != nil || len(a) != 25 {
		t.Errorf("announced persisted for %d URLs (%v), want 25 (folded ones too)", len(a), err)
	}
}

func TestSlackBacklogBoundUnderFlood(t *testing.T) {
	const maxBacklog, flood = 2000, 30000
	b := newBatcher(t, 1000, func(c *actors.SlackConfig) { c.MaxBacklog, c.MassMinURLs = maxBacklog, 1<<30 })
	b.slack.Set(slacktest.Fail)
	for i := range flood {
		state, prev := health.Unhealthy, health.Unreachable
		if (i/1000)%2 == 1 {
			state, prev = prev, state
		}
		b.publish(testURL(i%1000), prev, state, 500, "connection refused")
	}
	await(t, "the backlog bounded", func() bool { return testutil.ToFloat64(b.m.SlackFolded) >= flood-maxBacklog-40 })
	b.slack.Set(slacktest.OK)
	b.flush()
	seen, folded := announcedURLs(t, b.slack.Messages(), 40)
	lines := 0
	for _, n := range seen {
		lines += n
	}
	if lines+folded != flood {
		t.Errorf("%d lines + %d folded = %d, want %d", lines, folded, lines+folded, flood)
	}
	if got := testutil.ToFloat64(b.m.SlackFolded); int(got) != folded {
		t.Errorf("folded metric %v, folded lines say %d", got, folded)
	}
}

func TestSlackSteadyHealthySendsNothing(t *testing.T) {
	b := newBatcher(t, 50, nil)
	for i := range 50 {
		b.publish(testURL(i), health.Pending, health.Healthy, 200, "") // first verdicts
	}
	for i := range 50 {
		b.system.Root.Send(b.pid, actors.Registered{Record: b.model.Get(testURL(i)).Record()})
	}
	b.flush()
	if a := b.slack.Attempts(); len(a) != 0 {
		t.Errorf("%d posts for a healthy fleet", len(a))
	}
}

func TestSlackFirstVerdictAndRemoval(t *testing.T) {
	b := newBatcher(t, 3, func(c *actors.SlackConfig) { c.BatchWindow = time.Hour })
	b.publish(testURL(0), health.Pending, health.Unhealthy, 404, "") // announced
	b.publish(testURL(1), health.Pending, health.Healthy, 200, "")   // not
	b.publish(testURL(2), health.Pending, health.Unreachable, 0, "dns: no such host")
	b.model.Remove(testURL(2)) // removed while its alert waits: dropped
	b.system.Root.Send(b.pid, actors.Removed{URL: testURL(2), Reason: actors.RemovalReasonDeleted})
	b.publish(testURL(2), health.Unreachable, health.Unhealthy, 500, "") // late event of a removed URL
	b.flush()
	seen, _ := announcedURLs(t, b.slack.Messages(), 40)
	if len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Errorf("announced %v, want only %s", seen, testURL(0))
	}
	if m := b.slack.Messages(); len(m) == 1 && !strings.Contains(m[0].Text, "HTTP 404 · first verdict") {
		t.Errorf("line: %s", m[0].Text)
	}
}

// The batcher takes its events from the broadcaster it subscribed to.
func TestSlackFollowsTheBroadcaster(t *testing.T) {
	b := newBatcher(t, 3, nil)
	b.model.Get(testURL(1)).SetStatus(&health.Status{State: health.Unhealthy, Code: 502})
	b.system.Root.Send(b.bcast, actors.StatusChanged{URL: testURL(1), State: health.Unhealthy, Previous: health.Healthy,
		Code: 502, At: eventAt})
	await(t, "the change on Slack", func() bool { return len(b.slack.Messages()) == 1 })
	if seen, _ := announcedURLs(t, b.slack.Messages(), 40); len(seen) != 1 || seen[testURL(1)] != 1 {
		t.Errorf("announced %v, want %s", seen, testURL(1))
	}
}

func TestSlackRestartReannouncesNothingUnchanged(t *testing.T) {
	b := newBatcher(t, 10, nil)
	for i := range 5 {
		b.publish(testURL(i), health.Healthy, health.Unhealthy, 503, "")
	}
	b.flush()
	await(t, "announced states persisted", func() bool {
		a, err := b.store.LoadAnnounced()
		return err == nil && len(a) == 5
	})
	b.stop()
	before := len(b.slack.Messages())

	b.start() // a new batcher on the same store, as after a restart
	for i := range 10 {
		// First verdicts after the restart: URLs 0–3 still unhealthy, 4
		// recovered while SpO₂ was down, 5–8 healthy as before, 9 now down.
		switch {
		case i < 4:
			b.publish(testURL(i), health.Unhealthy, health.Unhealthy, 503, "")
		case i == 4:
			b.publish(testURL(i), health.Unhealthy, health.Healthy, 200, "")
		case i < 9:
			b.publish(testURL(i), health.Pending, health.Healthy, 200, "")
		default:
			b.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection refused")
		}
	}
	b.flush()
	msgs := b.slack.Messages()[before:]
	seen, _ := announcedURLs(t, msgs, 40)
	if len(seen) != 2 || seen[testURL(4)] != 1 || seen[testURL(9)] != 1 {
		t.Errorf("after restart announced %v, want only %s and %s", seen, testURL(4), testURL(9))
	}
}

func TestSlackAnnouncesRestoredStateNeverDelivered(t *testing.T) {
	b := newBatcher(t, 3, nil)
	b.stop()
	// As after a crash: the store restored url 0 unhealthy and url 2
	// unreachable, but only url 2's state had reached Slack before the crash.
	if err := b.store.SaveAnnounced(map[string]health.State{testURL(2): health.Unreachable}); err != nil {
		t.Fatal(err)
	}
	b.model.Get(testURL(0)).SetStatus(&health.Status{State: health.Unhealthy, Code: 503})
	b.model.Get(testURL(1)).SetStatus(&health.Status{State: health.Healthy, Code: 200})
	b.model.Get(testURL(2)).SetStatus(&health.Status{State: health.Unreachable, Error: "connection refused"})
	before := len(b.slack.Messages())

	b.start()
	b.flush()
	msgs := b.slack.Messages()[before:]
	seen, _ := announcedURLs(t, msgs, 40)
	if len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Fatalf("after restart announced %v, want only the undelivered %s", seen, testURL(0))
	}
	// Nothing is known of the state before it: the line does not claim one.
	if !strings.Contains(msgs[0].Text, "UNHEALTHY "+testURL(0)+" HTTP 503 · state found at start-up") {
		t.Errorf("line: %s", msgs[0].Text)
	}
}

// While a flush is under way each post has its own short timeout, whatever
// the client's: a Slack that never answers cannot hold a flush for long.
func TestSlackFlushBoundsEachPost(t *testing.T) {
	b := newBatcher(t, 3, func(c *actors.SlackConfig) {
		c.Client = &http.Client{Timeout: time.Hour}
		c.FlushPostTimeout = 50 * time.Millisecond
	})
	b.slack.Set(slacktest.Hang)
	b.publish(testURL(0), health.Healthy, health.Unhealthy, 503, "")
	flushed := b.system.Root.RequestFuture(b.pid, actors.SlackFlush{}, 30*time.Second)
	await(t, "a post timed out", func() bool { return testutil.ToFloat64(b.m.SlackRetries.WithLabelValues("timeout")) >= 1 })
	b.slack.Set(slacktest.OK)
	if res, err := flushed.Result(); err != nil {
		t.Fatalf("flush: %v", err)
	} else if _, ok := res.(actors.SlackFlushed); !ok {
		t.Fatalf("flush answered %T", res)
	}
	if seen, _ := announcedURLs(t, b.slack.Messages(), 40); seen[testURL(0)] != 1 {
		t.Errorf("announced %v after Slack answered again", seen)
	}
}

// A change Slack never accepted before the batcher stopped is not recorded
// as announced, so the next start announces it.
func TestSlackUndeliveredChangeAnnouncedAfterRestart(t *testing.T) {
	b := newBatcher(t, 3, func(c *actors.SlackConfig) { c.Client = &http.Client{Timeout: time.Hour} })
	b.slack.Set(slacktest.Hang)
	b.publish(testURL(1), health.Healthy, health.Unreachable, 0, "connection refused")
	await(t, "a post held open by Slack", func() bool { return b.slack.Held() >= 1 })
	b.stop() // cancels the post: the stop does not wait for Slack
	if !strings.Contains(b.logs.String(), "slack batcher stopped with undelivered changes") {
		t.Errorf("stop did not log the undelivered change:\n%s", b.logs.String())
	}
	if a, err := b.store.LoadAnnounced(); err != nil || len(a) != 0 {
		t.Fatalf("announced states %v (%v), want none: Slack accepted nothing", a, err)
	}

	b.slack.Set(slacktest.OK)
	b.start()
	b.flush()
	msgs := b.slack.Messages()
	want := "UNREACHABLE " + testURL(1) + " connection refused · since 2026-11-21 10:00:00 UTC, state found at start-up"
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, want) {
		t.Fatalf("after the restart: %v", msgs)
	}
	await(t, "the state persisted as announced", func() bool {
		a, err := b.store.LoadAnnounced()
		return err == nil && a[testURL(1)] == health.Unreachable
	})
}

func TestSlackSampleMessage(t *testing.T) {
	b := newBatcher(t, 0, func(c *actors.SlackConfig) { c.BatchWindow = time.Hour })
	// 10.0.4.2 was announced unreachable earlier; the sample shows its recovery.
	b.registerURL("http://10.0.4.2:7700/health", json.RawMessage(`{"index":"songs","customer":12}`))
	b.publish("http://10.0.4.2:7700/health", health.Healthy, health.Unreachable, 0, "timeout after 5s")
	b.flush()
	before := len(b.slack.Messages())
	for _, e := range []struct {
		url  string
		data string
		ev   actors.StatusChanged
	}{
		{"http://10.0.3.7:7700/health", `{"index":"movies","customer":42}`,
			actors.StatusChanged{State: health.Unhealthy, Previous: health.Healthy, Code: 503, PreviousSince: eventAt.Add(-26 * time.Hour)}},
		{"https://search:hunter2@10.0.3.9:7700/health", `{"index":"books","customer":7}`,
			actors.StatusChanged{State: health.Unreachable, Previous: health.Healthy, Error: "dial tcp 10.0.3.9:7700: connect: connection refused",
				ErrorKind: health.KindRefused, PreviousSince: eventAt.Add(-3 * time.Hour)}},
		{"http://10.0.4.2:7700/health", `{"index":"songs","customer":12}`,
			actors.StatusChanged{State: health.Healthy, Previous: health.Unreachable, PreviousSince: eventAt.Add(-4*time.Minute - 10*time.Second)}},
	} {
		b.registerURL(e.url, json.RawMessage(e.data))
		e.ev.URL, e.ev.At = e.url, eventAt
		b.send(e.ev)
	}
	b.flush()
	msgs := b.slack.Messages()[before:]
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	out, _ := json.MarshalIndent(msgs[0], "", "  ")
	t.Logf("sample message body:\n%s", out)
	if strings.Contains(string(out), "hunter2") {
		t.Errorf("password not masked:\n%s", out)
	}
	if !strings.HasPrefix(msgs[0].Text, "SpO₂: 3 changes: 1 unreachable, 1 unhealthy, 1 healthy\n") {
		t.Errorf("header: %s", msgs[0].Text)
	}
}
