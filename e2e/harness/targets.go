package harness

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TargetMode is how a Target answers.
type TargetMode int32

// Target behaviours.
const (
	Healthy    TargetMode = iota // 200 "ok"
	Failing                      // 503
	Hang                         // no answer until the request or the target ends
	ResetConn                    // the connection is reset without an answer
	Redirect                     // 302 to RedirectTo (the target's own "/" when unset)
	HugeBody                     // 200 with a body that does not end (1 GiB at most)
	SlowBody                     // 200, then one body byte every 50 ms
	AnswerCode                   // Code, with an empty body
)

// Target is a health endpoint on 127.0.0.1 whose behaviour the test
// switches at run time. Paths given a code with SetPathCode answer that
// code whatever the mode. It is closed at the test's cleanup, which also
// ends every held request.
type Target struct {
	// Code is what AnswerCode mode answers (200 until stored).
	Code atomic.Int32
	// RedirectTo is where Redirect mode points.
	RedirectTo atomic.Pointer[string]
	// Requests counts every request received.
	Requests atomic.Int64
	// Failures counts the requests answered in Failing or AnswerCode mode.
	Failures atomic.Int64
	// BodyBytes counts the body bytes written in HugeBody and SlowBody modes.
	BodyBytes atomic.Int64
	// MaxHold is the longest time, in nanoseconds, that a Hang, HugeBody or
	// SlowBody request stayed open.
	MaxHold atomic.Int64

	srv     *httptest.Server
	mode    atomic.Int32
	stop    chan struct{}
	observe func(*http.Request)
	mu      sync.Mutex
	paths   map[string]int
}

// NewTarget starts a target answering in mode.
func NewTarget(t testing.TB, mode TargetMode) *Target {
	return NewObservedTarget(t, mode, nil)
}

// NewObservedTarget is NewTarget that also hands every request to observe
// (when not nil) before answering it: to see who asked for which path, and
// when. observe is called from the server's goroutines, concurrently.
func NewObservedTarget(t testing.TB, mode TargetMode, observe func(*http.Request)) *Target {
	tg := &Target{stop: make(chan struct{}), observe: observe, paths: map[string]int{}}
	tg.mode.Store(int32(mode))
	tg.Code.Store(http.StatusOK)
	tg.srv = serveUntilCleanup(t, http.HandlerFunc(tg.serve), tg.stop)
	return tg
}

// serveUntilCleanup starts an HTTP server on 127.0.0.1 for h; at the test's
// cleanup it closes stop (for handlers holding requests), cuts the client
// connections and closes the server.
func serveUntilCleanup(t testing.TB, h http.Handler, stop chan struct{}) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		close(stop)
		srv.CloseClientConnections()
		srv.Close()
	})
	return srv
}

// URL returns the target's URL for path ("" or "/health", say).
func (tg *Target) URL(path string) string { return tg.srv.URL + path }

// Set switches the mode for the next requests.
func (tg *Target) Set(mode TargetMode) { tg.mode.Store(int32(mode)) }

// SetPathCode makes requests for path answer code (with a short body naming
// both), whatever the mode.
func (tg *Target) SetPathCode(path string, code int) {
	tg.mu.Lock()
	tg.paths[path] = code
	tg.mu.Unlock()
}

// LongestHold is MaxHold as a duration.
func (tg *Target) LongestHold() time.Duration { return time.Duration(tg.MaxHold.Load()) }

// hold records how long a held request stayed open.
func (tg *Target) hold(start time.Time) {
	d := int64(time.Since(start))
	for {
		cur := tg.MaxHold.Load()
		if d <= cur || tg.MaxHold.CompareAndSwap(cur, d) {
			return
		}
	}
}

func (tg *Target) serve(w http.ResponseWriter, r *http.Request) {
	tg.Requests.Add(1)
	if tg.observe != nil {
		tg.observe(r)
	}
	tg.mu.Lock()
	code, byPath := tg.paths[r.URL.Path]
	tg.mu.Unlock()
	if byPath {
		w.WriteHeader(code)
		_, _ = io.WriteString(w, r.URL.Path+" "+http.StatusText(code)+"\n")
		return
	}
	switch TargetMode(tg.mode.Load()) {
	case Healthy:
		_, _ = io.WriteString(w, "ok")
	case Failing:
		tg.Failures.Add(1)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	case AnswerCode:
		tg.Failures.Add(1)
		w.WriteHeader(int(tg.Code.Load()))
	case Hang:
		defer tg.hold(time.Now())
		select {
		case <-r.Context().Done():
		case <-tg.stop:
		}
	case ResetConn:
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			reset(conn)
		}
	case Redirect:
		to := tg.URL("/")
		if p := tg.RedirectTo.Load(); p != nil {
			to = *p
		}
		http.Redirect(w, r, to, http.StatusFound)
	case HugeBody:
		defer tg.hold(time.Now())
		w.WriteHeader(http.StatusOK)
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for tg.BodyBytes.Load() < 1<<30 {
			n, err := w.Write(chunk)
			tg.BodyBytes.Add(int64(n))
			if err != nil {
				return
			}
		}
	case SlowBody:
		defer tg.hold(time.Now())
		tg.trickle(w, r)
	}
}

// trickle writes one body byte every 50 ms until the request or the target ends.
func (tg *Target) trickle(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := w.Write([]byte("x")); err != nil || rc.Flush() != nil {
			return
		}
		tg.BodyBytes.Add(1)
		select {
		case <-tick.C:
		case <-r.Context().Done():
			return
		case <-tg.stop:
			return
		}
	}
}
