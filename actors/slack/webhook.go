package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// Defaults of WebhookConfig.
const (
	DefaultMinInterval = time.Second
	DefaultRetryBase   = time.Second
	DefaultRetryMax    = 2 * time.Minute
	DefaultPostTimeout = 10 * time.Second
	// MaxRetryAfter caps the wait a 429's Retry-After can impose.
	MaxRetryAfter = time.Hour
)

// WebhookConfig configures a Webhook. Zero values take the defaults.
type WebhookConfig struct {
	// URL is the incoming-webhook URL. It is a secret: it never appears in
	// errors or logs.
	URL string
	// MinInterval is the least time between two posts (Slack's rate for
	// incoming webhooks is one per second).
	MinInterval time.Duration
	// RetryBase and RetryMax bound the exponential backoff after 5xx, 4xx,
	// timeouts and network errors.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Client posts the messages; default a client with a 10 s timeout.
	Client *http.Client
}

// Webhook posts messages to a Slack incoming webhook, one attempt at a time,
// and says when the next attempt may go: never sooner than MinInterval after
// the last, after a 429 not before its Retry-After (seconds or an HTTP date;
// 1 s when missing, at most an hour), after other failures with capped
// exponential backoff and jitter. After a 400 (Slack refusing the blocks) the
// next message goes as plain text only. Posts run in their own goroutine;
// Close cancels them and waits for them.
//
// Post, ReadyAt, Delivered, Failed and Close are for one goroutine (the
// batcher).
type Webhook struct {
	cfg WebhookConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	attempt  int // failed attempts in a row
	textOnly bool
	lastSend time.Time
	retryAt  time.Time
}

// Result is the outcome of one post.
type Result struct {
	Status     int           // HTTP status; 0 when no answer came
	Err        error         // no answer: timeout, refused, reset, cancelled
	RetryAfter time.Duration // a 429's Retry-After
	Body       string        // the start of Slack's answer
}

// OK reports whether Slack accepted the message.
func (r Result) OK() bool { return r.Err == nil && r.Status/100 == 2 }

// NewWebhook returns a webhook poster; log receives its warnings.
func NewWebhook(cfg WebhookConfig, log *slog.Logger) *Webhook {
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = DefaultMinInterval
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax < cfg.RetryBase {
		cfg.RetryMax = max(DefaultRetryMax, cfg.RetryBase)
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: DefaultPostTimeout}
	}
	w := &Webhook{cfg: cfg, log: log}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	return w
}

// ReadyAt returns the earliest moment the next post may start.
func (w *Webhook) ReadyAt() time.Time {
	t := w.lastSend.Add(w.cfg.MinInterval)
	if w.retryAt.After(t) {
		t = w.retryAt
	}
	return t
}

// Post starts one attempt at delivering msg at now and returns at once; done
// is called with the result from the post's goroutine. timeout, when
// positive, bounds this attempt more tightly than the client does. After
// Close, the attempt fails at once.
func (w *Webhook) Post(now time.Time, msg Message, timeout time.Duration, done func(Result)) {
	w.lastSend = now
	body := w.encode(msg)
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		ctx := w.ctx
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		done(w.post(ctx, body))
	}()
}

// Delivered records a success: the next failure backs off from the start.
func (w *Webhook) Delivered() {
	w.attempt = 0
	w.textOnly = false
}

// Failed records a failure at now and returns why, as a short reason ("429",
// "5xx", "4xx", "timeout", "network"), and how long the next attempt waits.
func (w *Webhook) Failed(res Result, now time.Time) (reason string, wait time.Duration) {
	w.attempt++
	switch {
	case res.Err != nil:
		reason = "network"
		var ne net.Error
		if errors.Is(res.Err, context.DeadlineExceeded) || (errors.As(res.Err, &ne) && ne.Timeout()) {
			reason = "timeout"
		}
		wait = w.backoff()
	case res.Status == http.StatusTooManyRequests:
		reason, wait = "429", res.RetryAfter
	case res.Status >= 500:
		reason, wait = "5xx", w.backoff()
	default:
		reason, wait = "4xx", w.backoff()
		if res.Status == http.StatusBadRequest {
			w.textOnly = true // Slack refused the blocks: the text alone goes next
		}
	}
	w.retryAt = now.Add(wait)
	return reason, wait
}

// Attempts returns the failed attempts in a row.
func (w *Webhook) Attempts() int { return w.attempt }

// Close cancels the posts in flight and waits until their done has returned.
func (w *Webhook) Close() {
	w.cancel()
	w.wg.Wait()
}

// encode marshals msg, as text only after Slack refused blocks or when the
// blocks break Slack's limits.
func (w *Webhook) encode(msg Message) []byte {
	if err := Validate(msg); err != nil {
		w.log.Error("rendered Slack message breaks Slack's limits; sending text only", "err", err)
		msg = msg.TextOnly()
	}
	if w.textOnly {
		msg = msg.TextOnly()
	}
	b, err := json.Marshal(msg)
	if err != nil { // cannot happen: strings and slices only
		w.log.Error("encoding Slack message failed", "err", err)
		b = []byte(`{"text":"SpO₂: a message could not be encoded; see the logs"}`)
	}
	return b
}

// post makes one attempt.
func (w *Webhook) post(ctx context.Context, body []byte) Result {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the webhook URL, a secret
		}
		return Result{Err: fmt.Errorf("build slack request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := w.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the webhook URL, a secret
		}
		return Result{Err: fmt.Errorf("post to slack webhook: %w", err)}
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	res := Result{Status: resp.StatusCode, Body: string(text)}
	if resp.StatusCode == http.StatusTooManyRequests {
		res.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	return res
}

// ParseRetryAfter reads a Retry-After value, seconds or an HTTP date, at now:
// 1 s when absent or invalid, never negative, at most MaxRetryAfter.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	d := time.Second
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), MaxRetryAfter)
}

// backoff is the delay before the next attempt after w.attempt failures in a
// row: between half and all of min(RetryMax, RetryBase·2^(attempt-1)).
func (w *Webhook) backoff() time.Duration {
	d := w.cfg.RetryBase
	for i := 1; i < w.attempt && d < w.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, w.cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
}
