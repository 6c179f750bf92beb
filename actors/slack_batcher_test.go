package actors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/slack"
	"github.com/spo2/spo2/persistence"
)

// fakeSlack stands in for a Slack incoming webhook: it records every body and
// answers 200, 500, 429 with Retry-After, or hangs, as the test sets.
type fakeSlack struct {
	t   *testing.T
	srv *httptest.Server

	mu         sync.Mutex
	mode       string // "ok", "500", "429", "hang"
	retryAfter string
	attempts   []attempt
	delivered  []slack.Message
	release    chan struct{}
}

type attempt struct {
	at     time.Time
	status int // 0 when the request hung
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{t: t, mode: "ok", release: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(func() {
		close(f.release)
		f.srv.Close()
	})
	return f
}

func (f *fakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var msg slack.Message
	if r.Method != http.MethodPost || !json.Valid(body) {
		f.t.Errorf("bad request: %s, body %q", r.Method, body)
	} else if err := json.Unmarshal(body, &msg); err != nil {
		f.t.Errorf("body is not a message: %v", err)
	} else if err := slack.Validate(msg); err != nil {
		f.t.Errorf("message breaks Slack's limits: %v\n%s", err, body)
	}
	f.mu.Lock()
	mode, retry := f.mode, f.retryAfter
	a := attempt{at: time.Now()}
	switch mode {
	case "ok":
		a.status = http.StatusOK
		f.delivered = append(f.delivered, msg)
	case "500":
		a.status = http.StatusInternalServerError
	case "429":
		a.status = http.StatusTooManyRequests
	}
	f.attempts = append(f.attempts, a)
	f.mu.Unlock()
	switch mode {
	case "ok":
		_, _ = io.WriteString(w, "ok")
	case "500":
		http.Error(w, "internal_error", http.StatusInternalServerError)
	case "429":
		w.Header().Set("Retry-After", retry)
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
	case "hang":
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
	}
}

func (f *fakeSlack) setMode(mode, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode, f.retryAfter = mode, retryAfter
}

func (f *fakeSlack) messages() []slack.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slack.Message(nil), f.delivered...)
}

func (f *fakeSlack) attemptList() []attempt {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]attempt(nil), f.attempts...)
}

// harness is one batcher wired to a real actor system, broadcaster, read
// model and store.
type harness struct {
	t      *testing.T
	system *actor.ActorSystem
	bcast  *actor.PID
	model  *readmodel.Model
	store  *persistence.Store
	m      *metrics.Metrics
	slack  *fakeSlack
	cfg    actors.SlackConfig
	pid    *actor.PID
	logs   *syncBuffer // the batcher's log
}

// syncBuffer is a log destination safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newHarness registers n URLs (testURL(0…n-1)) and starts a batcher.
func newHarness(t *testing.T, n int, tune func(*actors.SlackConfig)) *harness {
	t.Helper()
	log := quietLogger()
	store, err := persistence.Open(t.TempDir(), log, nil)
	if err != nil {
		t.Fatal(err)
	}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log }))
	h := &harness{t: t, system: system, model: readmodel.New(), store: store, m: metrics.New(), slack: newFakeSlack(t),
		logs: &syncBuffer{}}
	t.Cleanup(func() {
		system.Shutdown()
		_ = store.Close()
	})
	h.register(n)
	h.bcast = system.Root.Spawn(actors.NewBroadcasterProps(h.model, h.m, log))
	h.cfg = actors.SlackConfig{HookURL: h.slack.srv.URL + "/services/T0/B0/" + hookSecret, BatchWindow: 200 * time.Millisecond,
		MinInterval: 5 * time.Millisecond, RetryBase: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond}
	if tune != nil {
		tune(&h.cfg)
	}
	h.start()
	return h
}

func testURL(i int) string { return fmt.Sprintf("http://10.0.%d.%d:7700/health", i/250, i%250) }

func (h *harness) register(n int) {
	ops := make([]persistence.Op, n)
	for i := range n {
		h.registerURL(testURL(i), json.RawMessage(fmt.Sprintf(`{"customer":%d}`, i)))
		ops[i] = persistence.Op{URL: testURL(i), Reg: h.model.Get(testURL(i)).Registration()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.store.Write(ctx, ops); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) registerURL(url string, data json.RawMessage) {
	h.model.Put(&health.Registration{URL: url, Data: data}, &health.Status{State: health.Pending})
}

// start spawns a batcher and waits until it has subscribed.
func (h *harness) start() {
	h.pid = h.system.Root.Spawn(actors.NewSlackBatcherProps(h.cfg, h.bcast, h.model, h.store, h.m,
		slog.New(slog.NewTextHandler(h.logs, nil))))
	h.flush() // answered after Started, which subscribed first
}

func (h *harness) stop() {
	if err := h.system.Root.StopFuture(h.pid).Wait(); err != nil {
		h.t.Fatal(err)
	}
}

// publish sends a state change through the broadcaster, as a URL actor does.
func (h *harness) publish(url string, prev, state health.State, code int, errText string) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	h.system.Root.Send(h.bcast, actors.StatusChanged{URL: url, State: state, Previous: prev, Code: code, Error: errText,
		At: at, PreviousSince: at.Add(-2*time.Hour - 3*time.Minute)})
}

// flush waits until every event published so far has reached the batcher and
// everything pending is delivered.
func (h *harness) flush() {
	h.t.Helper()
	// The broadcaster answers CloseStreams after forwarding every earlier
	// event, so the flush below queues behind them.
	if _, err := h.system.Root.RequestFuture(h.bcast, actors.CloseStreams{}, 5*time.Second).Result(); err != nil {
		h.t.Fatalf("broadcaster: %v", err)
	}
	res, err := h.system.Root.RequestFuture(h.pid, actors.SlackFlush{}, 10*time.Second).Result()
	if err != nil {
		h.t.Fatalf("flush: %v", err)
	}
	if _, ok := res.(actors.SlackFlushed); !ok {
		h.t.Fatalf("flush answered %T", res)
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

func counter(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 16)
	c.Collect(ch)
	close(ch)
	total := 0.0
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		switch {
		case d.Counter != nil:
			total += d.Counter.GetValue()
		case d.Gauge != nil:
			total += d.Gauge.GetValue()
		}
	}
	return total
}

func TestSlackHundredFailuresOutOfThousand(t *testing.T) {
	h := newHarness(t, 1000, nil)
	for i := range 100 {
		if i%2 == 0 {
			h.publish(testURL(i), health.Healthy, health.Unhealthy, 503, "")
		} else {
			h.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection refused")
		}
	}
	await(t, "100 events on Slack", func() bool {
		seen, _ := announcedURLs(t, h.slack.messages(), 40)
		return len(seen) == 100
	})
	h.flush()
	msgs := h.slack.messages()
	seen, _ := announcedURLs(t, msgs, 40)
	for i := range 100 {
		if seen[testURL(i)] != 1 {
			t.Errorf("%s announced %d times", testURL(i), seen[testURL(i)])
		}
	}
	if len(msgs) < 3 || len(msgs) > 4 {
		t.Errorf("%d messages, want 3 (40+40+20; 4 if a slow machine split the window)", len(msgs))
	}
	if got := counter(t, h.m.SlackEvents); got != 100 {
		t.Errorf("events delivered metric %v, want 100", got)
	}
	await(t, "announced states persisted", func() bool {
		a, err := h.store.LoadAnnounced()
		return err == nil && len(a) == 100 && a[testURL(0)] == health.Unhealthy && a[testURL(1)] == health.Unreachable
	})
}

func TestSlackMassFailureAndRecovery(t *testing.T) {
	h := newHarness(t, 120, nil)
	for i := range 100 {
		if i < 70 {
			h.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
		} else {
			h.publish(testURL(i), health.Healthy, health.Unhealthy, 502, "")
		}
	}
	await(t, "the mass-failure notice", func() bool { return len(h.slack.messages()) >= 1 })
	h.flush()
	msgs := h.slack.messages()
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
		h.publish(testURL(i), prev, health.Healthy, 200, "")
	}
	await(t, "the recovery notice", func() bool { return len(h.slack.messages()) >= 2 })
	h.flush()
	msgs = h.slack.messages()
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want 2", len(msgs))
	}
	t.Logf("mass-recovery fallback text:\n%s", msgs[1].Text)
	if !strings.Contains(msgs[1].Text, "mass failure over, 100 of 100 URLs healthy again") {
		t.Errorf("recovery notice:\n%s", msgs[1].Text)
	}
	if got := counter(t, h.m.SlackMessages); got != 2 {
		t.Errorf("messages metric %v, want 2", got)
	}
	await(t, "recovered states persisted", func() bool {
		a, err := h.store.LoadAnnounced()
		return err == nil && len(a) == 100 && a[testURL(0)] == health.Healthy
	})
}

func TestSlackDownThenBack(t *testing.T) {
	tests := []struct {
		mode, retryAfter string
		reason           string
		failures         int
		tune             func(*actors.SlackConfig)
	}{
		{mode: "500", reason: "5xx", failures: 4},
		{mode: "429", retryAfter: "1", reason: "429", failures: 1},
		{mode: "hang", reason: "timeout", failures: 2, tune: func(c *actors.SlackConfig) { c.Client = &http.Client{Timeout: 100 * time.Millisecond} }},
	}
	for _, tc := range tests {
		t.Run(tc.mode, func(t *testing.T) {
			h := newHarness(t, 1000, tc.tune)
			h.slack.setMode(tc.mode, tc.retryAfter)
			for i := range 60 {
				h.publish(testURL(i), health.Healthy, health.Unhealthy, 500, "")
			}
			await(t, "refused attempts", func() bool { return len(h.slack.attemptList()) >= tc.failures })
			h.slack.setMode("ok", "")
			await(t, "every event delivered", func() bool {
				seen, _ := announcedURLs(t, h.slack.messages(), 40)
				return len(seen) == 60
			})
			h.flush()
			if a := h.slack.attemptList(); tc.mode == "429" {
				if gap := a[1].at.Sub(a[0].at); gap < 900*time.Millisecond {
					t.Errorf("retried %v after a 429 with Retry-After: 1", gap)
				}
			}
			seen, _ := announcedURLs(t, h.slack.messages(), 40)
			for u, n := range seen {
				if n != 1 {
					t.Errorf("%s delivered %d times", u, n)
				}
			}
			if got := counter(t, h.m.SlackRetries.WithLabelValues(tc.reason)); got < 1 {
				t.Errorf("retries{%s} = %v", tc.reason, got)
			}
			if got := counter(t, h.m.SlackBacklog); got != 0 {
				t.Errorf("backlog gauge %v after delivery", got)
			}
			logs := h.logs.String()
			if !strings.Contains(logs, "slack delivery failed; will retry") || strings.Contains(logs, hookSecret) {
				t.Errorf("retry not logged, or webhook URL leaked into the log:\n%s", logs)
			}
		})
	}
}

func TestSlackBacklogFolds(t *testing.T) {
	h := newHarness(t, 1000, func(c *actors.SlackConfig) { c.MaxBacklog = 10 })
	h.slack.setMode("500", "")
	h.publish(testURL(0), health.Healthy, health.Unhealthy, 500, "")
	await(t, "a refused attempt", func() bool { return len(h.slack.attemptList()) >= 1 })
	for i := 1; i < 25; i++ {
		h.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection reset")
	}
	h.slack.setMode("ok", "")
	h.flush()
	seen, folded := announcedURLs(t, h.slack.messages(), 40)
	if len(seen)+folded != 25 || folded != 15 {
		t.Errorf("%d lines + %d folded, want 10 + 15", len(seen), folded)
	}
	if got := counter(t, h.m.SlackFolded); got != 15 {
		t.Errorf("folded metric %v, want 15", got)
	}
	if !strings.Contains(h.logs.String(), "slack backlog full") {
		t.Error("folding not logged")
	}
	a, err := h.store.LoadAnnounced()
	if err != nil || len(a) != 25 {
		t.Errorf("announced persisted for %d URLs (%v), want 25 (folded ones too)", len(a), err)
	}
}

func TestSlackSteadyHealthySendsNothing(t *testing.T) {
	h := newHarness(t, 50, nil)
	for i := range 50 {
		h.publish(testURL(i), health.Pending, health.Healthy, 200, "") // first verdicts
	}
	for i := range 50 {
		h.system.Root.Send(h.bcast, actors.Registered{Record: h.model.Get(testURL(i)).Record()})
	}
	h.flush()
	if a := h.slack.attemptList(); len(a) != 0 {
		t.Errorf("%d posts for a healthy fleet", len(a))
	}
}

func TestSlackFirstVerdictAndRemoval(t *testing.T) {
	h := newHarness(t, 3, func(c *actors.SlackConfig) { c.BatchWindow = time.Hour })
	h.publish(testURL(0), health.Pending, health.Unhealthy, 404, "") // announced
	h.publish(testURL(1), health.Pending, health.Healthy, 200, "")   // not
	h.publish(testURL(2), health.Pending, health.Unreachable, 0, "dns: no such host")
	h.model.Remove(testURL(2)) // removed while its alert waits: dropped
	h.system.Root.Send(h.bcast, actors.Removed{URL: testURL(2), Reason: actors.RemovalReasonDeleted})
	h.publish(testURL(2), health.Unreachable, health.Unhealthy, 500, "") // late event of a removed URL
	h.flush()
	seen, _ := announcedURLs(t, h.slack.messages(), 40)
	if len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Errorf("announced %v, want only %s", seen, testURL(0))
	}
	if m := h.slack.messages(); len(m) == 1 && !strings.Contains(m[0].Text, "HTTP 404 · first verdict") {
		t.Errorf("line: %s", m[0].Text)
	}
}

func TestSlackRestartReannouncesNothingUnchanged(t *testing.T) {
	h := newHarness(t, 10, nil)
	for i := range 5 {
		h.publish(testURL(i), health.Healthy, health.Unhealthy, 503, "")
	}
	h.flush()
	await(t, "announced states persisted", func() bool {
		a, err := h.store.LoadAnnounced()
		return err == nil && len(a) == 5
	})
	h.stop()
	before := len(h.slack.messages())

	h.start() // a new batcher on the same store, as after a restart
	for i := range 10 {
		// First verdicts after the restart: URLs 0–3 still unhealthy, 4
		// recovered while SpO₂ was down, 5–9 healthy as before, 9 now down.
		switch {
		case i < 4:
			h.publish(testURL(i), health.Unhealthy, health.Unhealthy, 503, "")
		case i == 4:
			h.publish(testURL(i), health.Unhealthy, health.Healthy, 200, "")
		case i < 9:
			h.publish(testURL(i), health.Pending, health.Healthy, 200, "")
		default:
			h.publish(testURL(i), health.Healthy, health.Unreachable, 0, "connection refused")
		}
	}
	h.flush()
	msgs := h.slack.messages()[before:]
	seen, _ := announcedURLs(t, msgs, 40)
	if len(seen) != 2 || seen[testURL(4)] != 1 || seen[testURL(9)] != 1 {
		t.Errorf("after restart announced %v, want only %s and %s", seen, testURL(4), testURL(9))
	}
}

func TestSlackPasswordMasking(t *testing.T) {
	h := newHarness(t, 0, nil)
	secret := "https://admin:s3cr3t-Pa55@db.example.com:8443/health?token=tok-123&region=eu"
	h.registerURL(secret, json.RawMessage(`{"customer":"acme"}`))
	h.publish(secret, health.Healthy, health.Unreachable, 0, "tls: certificate expired")
	h.flush()
	msgs := h.slack.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	body, _ := json.Marshal(msgs[0])
	for _, leak := range []string{"s3cr3t", "Pa55", "tok-123"} {
		if bytes.Contains(body, []byte(leak)) {
			t.Errorf("body leaks %q: %s", leak, body)
		}
	}
	if line := msgs[0].Blocks[1].Text.Text; !strings.Contains(line, "`https://admin:****@db.example.com:8443/health?token=****&amp;region=eu`") {
		t.Errorf("masked URL missing: %s", line)
	}
}

func TestSlackSampleMessage(t *testing.T) {
	h := newHarness(t, 0, func(c *actors.SlackConfig) { c.BatchWindow = time.Hour })
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	// 10.0.4.2 was announced unreachable earlier; the sample shows its recovery.
	h.registerURL("http://10.0.4.2:7700/health", json.RawMessage(`{"index":"songs","customer":12}`))
	h.publish("http://10.0.4.2:7700/health", health.Healthy, health.Unreachable, 0, "timeout after 5s")
	h.flush()
	before := len(h.slack.messages())
	for _, e := range []struct {
		url  string
		data string
		ev   actors.StatusChanged
	}{
		{"http://10.0.3.7:7700/health", `{"index":"movies","customer":42}`,
			actors.StatusChanged{State: health.Unhealthy, Previous: health.Healthy, Code: 503, PreviousSince: at.Add(-26 * time.Hour)}},
		{"https://search:hunter2@10.0.3.9:7700/health", `{"index":"books","customer":7}`,
			actors.StatusChanged{State: health.Unreachable, Previous: health.Healthy, Error: "dial tcp 10.0.3.9:7700: connect: connection refused",
				ErrorKind: health.KindRefused, PreviousSince: at.Add(-3 * time.Hour)}},
		{"http://10.0.4.2:7700/health", `{"index":"songs","customer":12}`,
			actors.StatusChanged{State: health.Healthy, Previous: health.Unreachable, PreviousSince: at.Add(-4*time.Minute - 10*time.Second)}},
	} {
		h.registerURL(e.url, json.RawMessage(e.data))
		e.ev.URL, e.ev.At = e.url, at
		h.system.Root.Send(h.bcast, e.ev)
	}
	h.flush()
	msgs := h.slack.messages()[before:]
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	out, _ := json.MarshalIndent(msgs[0], "", "  ")
	t.Logf("sample message body:\n%s", out)
	if !strings.Contains(msgs[0].Text, "SpO₂: 1 unreachable, 1 unhealthy, 1 healthy") {
		t.Errorf("header: %s", msgs[0].Text)
	}
}

func TestSlackBacklogBoundUnderFlood(t *testing.T) {
	const maxBacklog, flood = 2000, 30000
	h := newHarness(t, 1000, func(c *actors.SlackConfig) { c.MaxBacklog, c.MassMinURLs = maxBacklog, 1<<30 })
	h.slack.setMode("500", "")
	for i := range flood {
		state, prev := health.Unhealthy, health.Unreachable
		if (i/1000)%2 == 1 {
			state, prev = prev, state
		}
		h.publish(testURL(i%1000), prev, state, 500, "connection refused")
	}
	if _, err := h.system.Root.RequestFuture(h.bcast, actors.CloseStreams{}, 10*time.Second).Result(); err != nil {
		t.Fatal(err)
	}
	await(t, "the backlog bounded", func() bool { return counter(t, h.m.SlackFolded) >= flood-maxBacklog-40 })
	h.slack.setMode("ok", "")
	h.flush()
	seen, folded := announcedURLs(t, h.slack.messages(), 40)
	lines := 0
	for _, n := range seen {
		lines += n
	}
	if lines+folded != flood {
		t.Errorf("%d lines + %d folded = %d, want %d", lines, folded, lines+folded, flood)
	}
	if got := counter(t, h.m.SlackFolded); int(got) != folded {
		t.Errorf("folded metric %v, folded lines say %d", got, folded)
	}
}

func TestSlackMassFailurePartialRecovery(t *testing.T) {
	h := newHarness(t, 120, nil)
	for i := range 100 {
		h.publish(testURL(i), health.Healthy, health.Unreachable, 0, "timeout after 5s")
	}
	await(t, "the mass-failure notice", func() bool { return len(h.slack.messages()) >= 1 })
	h.publish(testURL(110), health.Healthy, health.Unhealthy, 500, "") // fails during the incident: absorbed
	for i := 5; i < 100; i++ {
		h.publish(testURL(i), health.Unreachable, health.Healthy, 200, "")
	}
	await(t, "the recovery notice", func() bool { return len(h.slack.messages()) >= 2 })
	h.flush()
	rec := h.slack.messages()[1]
	for _, want := range []string{"95 of 101 URLs healthy again", "Still failing: 6 (5 unreachable, 1 unhealthy)",
		"UNREACHABLE " + testURL(0), "UNHEALTHY " + testURL(110)} {
		if !strings.Contains(rec.Text, want) {
			t.Errorf("recovery notice lacks %q:\n%s", want, rec.Text)
		}
	}
	// After the incident, a still-failing URL's recovery is a normal event.
	h.publish(testURL(0), health.Unreachable, health.Healthy, 200, "")
	await(t, "the recovery of one URL", func() bool { return len(h.slack.messages()) >= 3 })
	h.flush()
	msgs := h.slack.messages()
	if seen, _ := announcedURLs(t, msgs[2:], 40); len(msgs) != 3 || len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Errorf("after the incident: %d messages, lines %v", len(msgs), seen)
	}
}

func TestSlackAnnouncesRestoredStateNeverDelivered(t *testing.T) {
	h := newHarness(t, 3, nil)
	h.stop()
	// As after a crash: the store restored url 0 unhealthy and url 2
	// unreachable, but only url 2's state had reached Slack before the crash.
	if err := h.store.SaveAnnounced(map[string]health.State{testURL(2): health.Unreachable}); err != nil {
		t.Fatal(err)
	}
	h.model.Get(testURL(0)).SetStatus(&health.Status{State: health.Unhealthy, Code: 503})
	h.model.Get(testURL(1)).SetStatus(&health.Status{State: health.Healthy, Code: 200})
	h.model.Get(testURL(2)).SetStatus(&health.Status{State: health.Unreachable, Error: "connection refused"})
	before := len(h.slack.messages())

	h.start()
	h.flush()
	seen, _ := announcedURLs(t, h.slack.messages()[before:], 40)
	if len(seen) != 1 || seen[testURL(0)] != 1 {
		t.Fatalf("after restart announced %v, want only the undelivered %s", seen, testURL(0))
	}
}
