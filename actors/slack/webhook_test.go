package slack_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/slack"
	"github.com/spo2/spo2/actors/slack/slacktest"
)

const hookSecret = "s3cretHookToken"

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func testMessage() slack.Message {
	return slack.Batch([]slack.Event{{URL: "http://10.0.0.1/h", State: health.Unhealthy, Previous: health.Healthy, Code: 503}},
		slack.Folded{})
}

// post makes one attempt and waits for its result.
func post(t *testing.T, w *slack.Webhook, timeout time.Duration) slack.Result {
	t.Helper()
	got := make(chan slack.Result, 1)
	w.Post(time.Now(), testMessage(), timeout, func(r slack.Result) { got <- r })
	select {
	case r := <-got:
		return r
	case <-time.After(15 * time.Second):
		t.Fatal("no result within 15s")
		return slack.Result{}
	}
}

func TestWebhookAnswers(t *testing.T) {
	tests := []struct {
		mode       slacktest.Mode
		retryAfter string
		ok         bool
		reason     string
		minWait    time.Duration
		maxWait    time.Duration
	}{
		{mode: slacktest.OK, ok: true},
		{mode: slacktest.Fail, reason: "5xx", minWait: 50 * time.Millisecond, maxWait: 100 * time.Millisecond},
		{mode: slacktest.BadRequest, reason: "4xx", minWait: 50 * time.Millisecond, maxWait: 100 * time.Millisecond},
		{mode: slacktest.RateLimited, retryAfter: "7", reason: "429", minWait: 7 * time.Second, maxWait: 7 * time.Second},
		{mode: slacktest.RateLimited, reason: "429", minWait: time.Second, maxWait: time.Second},
		{mode: slacktest.Hang, reason: "timeout", minWait: 50 * time.Millisecond, maxWait: 100 * time.Millisecond},
	}
	for _, tc := range tests {
		t.Run(tc.reason+tc.retryAfter, func(t *testing.T) {
			srv := slacktest.NewServer(t, "/services/T0/B0/"+hookSecret)
			srv.Set(tc.mode)
			srv.SetRetryAfter(tc.retryAfter)
			w := slack.NewWebhook(slack.WebhookConfig{URL: srv.URL, MinInterval: time.Millisecond, RetryBase: 100 * time.Millisecond}, quietLog())
			defer w.Close()
			res := post(t, w, 200*time.Millisecond)
			if res.OK() != tc.ok {
				t.Fatalf("OK() = %v for %+v", res.OK(), res)
			}
			if tc.ok {
				if len(srv.Messages()) != 1 {
					t.Errorf("%d messages delivered, want 1", len(srv.Messages()))
				}
				return
			}
			if res.Err != nil && strings.Contains(res.Err.Error(), hookSecret) {
				t.Errorf("error reveals the webhook URL: %v", res.Err)
			}
			now := time.Now()
			reason, wait := w.Failed(res, now)
			if reason != tc.reason || wait < tc.minWait || wait > tc.maxWait {
				t.Errorf("Failed = %q, %v; want %q, between %v and %v", reason, wait, tc.reason, tc.minWait, tc.maxWait)
			}
			if got := w.ReadyAt(); !got.Equal(now.Add(wait)) {
				t.Errorf("ReadyAt %v after the failure, want %v", got, now.Add(wait))
			}
		})
	}
}

func TestWebhookBackoffGrowsToItsCap(t *testing.T) {
	w := slack.NewWebhook(slack.WebhookConfig{URL: "http://127.0.0.1:1/", RetryBase: time.Second, RetryMax: 8 * time.Second}, quietLog())
	defer w.Close()
	caps := []time.Duration{1, 2, 4, 8, 8, 8}
	for i, c := range caps {
		_, wait := w.Failed(slack.Result{Status: 503}, time.Now())
		if top := c * time.Second; wait < top/2 || wait > top {
			t.Errorf("attempt %d waits %v, want between %v and %v", i+1, wait, top/2, top)
		}
	}
	w.Delivered()
	if _, wait := w.Failed(slack.Result{Status: 503}, time.Now()); wait > time.Second {
		t.Errorf("after a delivery the backoff starts again at 1s, got %v", wait)
	}
}

func TestWebhookSendsTextOnlyAfter400(t *testing.T) {
	srv := slacktest.NewServer(t, "/hook")
	srv.Set(slacktest.BadRequest)
	w := slack.NewWebhook(slack.WebhookConfig{URL: srv.URL}, quietLog())
	defer w.Close()
	w.Failed(post(t, w, 0), time.Now())
	srv.Set(slacktest.OK)
	if res := post(t, w, 0); !res.OK() {
		t.Fatalf("second post: %+v", res)
	}
	msgs := srv.Messages()
	if len(msgs) != 1 || len(msgs[0].Blocks) != 0 || msgs[0].Text == "" {
		t.Fatalf("after a 400 want one text-only message, got %+v", msgs)
	}
	w.Delivered()
	post(t, w, 0)
	if msgs := srv.Messages(); len(msgs) != 2 || len(msgs[1].Blocks) == 0 {
		t.Errorf("after a delivery blocks are sent again, got %+v", msgs)
	}
}

func TestWebhookMinInterval(t *testing.T) {
	w := slack.NewWebhook(slack.WebhookConfig{URL: "http://127.0.0.1:1/", MinInterval: time.Second}, quietLog())
	defer w.Close()
	now := time.Now()
	w.Post(now, testMessage(), time.Millisecond, func(slack.Result) {})
	if got := w.ReadyAt(); !got.Equal(now.Add(time.Second)) {
		t.Errorf("ReadyAt %v, want one MinInterval after the post", got.Sub(now))
	}
}

// A post to a Slack that never answers ends at its own timeout, and Close
// ends one that would wait for the client's.
func TestWebhookHangingSlack(t *testing.T) {
	srv := slacktest.NewServer(t, "/hook")
	srv.Set(slacktest.Hang)
	w := slack.NewWebhook(slack.WebhookConfig{URL: srv.URL, Client: &http.Client{Timeout: time.Hour}}, quietLog())
	res := post(t, w, 50*time.Millisecond)
	if reason, _ := w.Failed(res, time.Now()); reason != "timeout" {
		t.Errorf("reason %q for %v, want timeout", reason, res.Err)
	}

	got := make(chan slack.Result, 1)
	w.Post(time.Now(), testMessage(), 0, func(r slack.Result) { got <- r })
	for deadline := time.Now().Add(10 * time.Second); srv.Held() < 2; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the second post never reached the server")
		}
	}
	w.Close() // returns once done has been called
	select {
	case res := <-got:
		if res.OK() || res.Err == nil {
			t.Errorf("a cancelled post reported %+v", res)
		}
	default:
		t.Fatal("Close returned before the post's done")
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", time.Second},
		{"junk", time.Second},
		{"0", 0},
		{"30", 30 * time.Second},
		{"-5", time.Second},
		{"999999", time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
	}
	for _, tc := range tests {
		if got := slack.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestWebhookBody(t *testing.T) {
	srv := slacktest.NewServer(t, "/hook")
	w := slack.NewWebhook(slack.WebhookConfig{URL: srv.URL}, quietLog())
	defer w.Close()
	post(t, w, 0)
	bodies := srv.Bodies()
	if len(bodies) != 1 {
		t.Fatalf("%d bodies", len(bodies))
	}
	var m slack.Message
	if err := json.Unmarshal([]byte(bodies[0]), &m); err != nil || m.Text == "" || len(m.Blocks) == 0 {
		t.Errorf("body %s: %v", bodies[0], err)
	}
}
