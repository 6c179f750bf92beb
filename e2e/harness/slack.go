package harness

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// SlackAnswer is how a FakeSlack answers the next posts.
type SlackAnswer int

// FakeSlack answers.
const (
	SlackOK          SlackAnswer = iota // 200 "ok"
	SlackError                          // 500 "internal_error"
	SlackRateLimited                    // 429 "rate_limited" with Retry-After
	SlackBadRequest                     // 400 "invalid_blocks"
	SlackHang                           // no answer until the request or the fake ends
)

// SlackPost is one request a FakeSlack received.
type SlackPost struct {
	At     time.Time
	Method string
	Path   string
	Body   []byte
	Status int // what was answered; 0 when the request was held (SlackHang)
}

// FakeSlack is a Slack incoming webhook on 127.0.0.1: it records every
// request it receives, in order, and answers as told (200 "ok" until then):
// 500, 429 with Retry-After, 400, or no answer at all.
// It is closed at the test's cleanup, which also ends held requests.
type FakeSlack struct {
	t       testing.TB
	srv     *httptest.Server
	release chan struct{}

	mu         sync.Mutex
	answer     SlackAnswer
	retryAfter string
	check      func(body []byte) error
	posts      []SlackPost
}

// NewFakeSlack starts a fake Slack answering 200 "ok".
func NewFakeSlack(t testing.TB) *FakeSlack {
	f := &FakeSlack{t: t, release: make(chan struct{})}
	f.srv = serveUntilCleanup(t, http.HandlerFunc(f.serve), f.release)
	return f
}

// URL is the fake's base URL.
func (f *FakeSlack) URL() string { return f.srv.URL }

// HookURL is a webhook URL on the fake whose last part is secret, shaped
// as Slack's: URL()/services/T0/B0/secret.
func (f *FakeSlack) HookURL(secret string) string { return f.srv.URL + "/services/T0/B0/" + secret }

// Answer sets the answer to the next posts; retryAfter is the Retry-After
// header of SlackRateLimited answers (e.g. "1"; "" sends none).
func (f *FakeSlack) Answer(a SlackAnswer, retryAfter string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answer, f.retryAfter = a, retryAfter
}

// Check makes the fake give every body it receives to check; an error fails
// the test (a body Slack would refuse, say). Only POST is ever accepted.
func (f *FakeSlack) Check(check func(body []byte) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.check = check
}

// Posts returns every request received so far, in order.
func (f *FakeSlack) Posts() []SlackPost {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]SlackPost(nil), f.posts...)
}

// Delivered returns the posts answered 200, in order.
func (f *FakeSlack) Delivered() []SlackPost {
	var out []SlackPost
	for _, p := range f.Posts() {
		if p.Status == http.StatusOK {
			out = append(out, p)
		}
	}
	return out
}

// Refused counts the posts answered with an error status (500, 429, 400).
func (f *FakeSlack) Refused() int {
	n := 0
	for _, p := range f.Posts() {
		if p.Status >= 400 {
			n++
		}
	}
	return n
}

func (f *FakeSlack) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	f.mu.Lock()
	answer, retry, check := f.answer, f.retryAfter, f.check
	post := SlackPost{At: time.Now(), Method: r.Method, Path: r.URL.Path, Body: body}
	switch answer {
	case SlackOK:
		post.Status = http.StatusOK
	case SlackError:
		post.Status = http.StatusInternalServerError
	case SlackRateLimited:
		post.Status = http.StatusTooManyRequests
	case SlackBadRequest:
		post.Status = http.StatusBadRequest
	}
	f.posts = append(f.posts, post)
	n := len(f.posts)
	f.mu.Unlock()
	if r.Method != http.MethodPost {
		f.t.Errorf("fake Slack: %s %s, want POST", r.Method, r.URL.Path)
	} else if check != nil {
		if err := check(body); err != nil {
			f.t.Errorf("fake Slack: post %d: %v\n%s", n, err, body)
		}
	}
	switch answer {
	case SlackOK:
		_, _ = io.WriteString(w, "ok")
	case SlackError:
		http.Error(w, "internal_error", http.StatusInternalServerError)
	case SlackRateLimited:
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
	case SlackBadRequest:
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
	case SlackHang:
		select {
		case <-r.Context().Done():
		case <-f.release:
		}
	}
}
