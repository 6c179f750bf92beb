// Package slacktest provides a local stand-in for a Slack incoming webhook,
// for tests: it checks every body against Slack's limits, records what it
// accepts, and answers 200, 500, 429 with Retry-After, 400, or nothing at all
// (it holds the request open), as the test sets.
package slacktest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/slack"
)

// Mode is how the server answers.
type Mode int

// Modes.
const (
	OK          Mode = iota // 200 "ok": the message is delivered
	Fail                    // 500 "internal_error"
	RateLimited             // 429 with the Retry-After set by SetRetryAfter
	BadRequest              // 400 "invalid_blocks"
	Hang                    // accepts the request and never answers
)

// Attempt is one request the server received.
type Attempt struct {
	At     time.Time
	Status int // 0 for a request held open (Hang)
}

// Server is a fake incoming webhook on 127.0.0.1. It is safe for concurrent
// use; it is closed, and held requests released, when the test ends.
type Server struct {
	// URL is the webhook URL to post to.
	URL string

	t    testing.TB
	srv  *httptest.Server
	stop chan struct{}

	mu         sync.Mutex
	mode       Mode
	retryAfter string
	attempts   []Attempt
	delivered  []slack.Message
	bodies     []string
}

// NewServer starts a server answering OK. path is appended to its address to
// make URL (e.g. "/services/T0/B0/secret").
func NewServer(t testing.TB, path string) *Server {
	s := &Server{t: t, stop: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + path
	t.Cleanup(func() {
		close(s.stop)
		s.srv.Close()
	})
	return s
}

// Set makes the server answer in mode from now on.
func (s *Server) Set(mode Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = mode
}

// SetRetryAfter sets the Retry-After header of RateLimited answers.
func (s *Server) SetRetryAfter(v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryAfter = v
}

// Messages returns the messages delivered (answered 200), in order.
func (s *Server) Messages() []slack.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]slack.Message(nil), s.delivered...)
}

// Bodies returns the raw bodies delivered, in order.
func (s *Server) Bodies() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.bodies...)
}

// Attempts returns every request received, in order.
func (s *Server) Attempts() []Attempt {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Attempt(nil), s.attempts...)
}

// Held returns how many requests were held open (Hang).
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.attempts {
		if a.Status == 0 {
			n++
		}
	}
	return n
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var msg slack.Message
	if r.Method != http.MethodPost || !json.Valid(body) {
		s.t.Errorf("slacktest: bad request: %s, body %q", r.Method, body)
	} else if err := json.Unmarshal(body, &msg); err != nil {
		s.t.Errorf("slacktest: body is not a message: %v", err)
	} else if err := slack.Validate(msg); err != nil {
		s.t.Errorf("slacktest: message breaks Slack's limits: %v\n%s", err, body)
	}
	s.mu.Lock()
	mode, retryAfter := s.mode, s.retryAfter
	a := Attempt{At: time.Now()}
	switch mode {
	case OK:
		a.Status = http.StatusOK
		s.delivered = append(s.delivered, msg)
		s.bodies = append(s.bodies, string(body))
	case Fail:
		a.Status = http.StatusInternalServerError
	case RateLimited:
		a.Status = http.StatusTooManyRequests
	case BadRequest:
		a.Status = http.StatusBadRequest
	}
	s.attempts = append(s.attempts, a)
	s.mu.Unlock()

	switch mode {
	case OK:
		_, _ = io.WriteString(w, "ok")
	case Fail:
		http.Error(w, "internal_error", http.StatusInternalServerError)
	case RateLimited:
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, "rate_limited", http.StatusTooManyRequests)
	case BadRequest:
		http.Error(w, "invalid_blocks", http.StatusBadRequest)
	case Hang:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
	}
}
