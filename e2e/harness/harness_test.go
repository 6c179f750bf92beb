package harness

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/slack"
)

func TestFindStartLine(t *testing.T) {
	tests := []struct {
		name string
		logs string
		want startLine
		ok   bool
	}{
		{"text handler line",
			"time=2026-11-30T12:00:00.000Z level=INFO msg=\"store loaded\" path=/tmp/db\n" +
				"time=2026-11-30T12:00:00.100Z level=INFO msg=\"spo2 started\" http=127.0.0.1:41711 ws=127.0.0.1:36153 urls=0 tls=false slack=false auth=false\n",
			startLine{HTTP: "127.0.0.1:41711", WS: "127.0.0.1:36153"}, true},
		{"tls on, quoted values",
			`time=x level=INFO msg="spo2 started" http="[::1]:8443" ws=127.0.0.1:9 tls=true`,
			startLine{HTTP: "[::1]:8443", WS: "127.0.0.1:9", TLS: true}, true},
		{"another message", `time=x level=INFO msg="spo2 starting" http=127.0.0.1:1 ws=127.0.0.1:2`, startLine{}, false},
		{"no ws address", `time=x level=INFO msg="spo2 started" http=127.0.0.1:1`, startLine{}, false},
		{"a panic", "panic: boom\n\ngoroutine 1 [running]:\n", startLine{}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := findStartLine(tc.logs)
			if got != tc.want || ok != tc.ok {
				t.Fatalf("findStartLine = %+v, %v; want %+v, %v", got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestClosedPortRefuses(t *testing.T) {
	u := ClosedPortURL(t, "/x")
	_, err := http.Get(u)
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET %s: %v, want connection refused", u, err)
	}
}

func TestTargetModes(t *testing.T) {
	tg := NewTarget(t, Healthy)
	client := &http.Client{Timeout: 2 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, error) {
		r, err := Send(client, http.MethodGet, tg.URL(path), nil)
		return r.Code, err
	}
	tests := []struct {
		mode TargetMode
		code int
		fail bool
	}{
		{Healthy, 200, false},
		{Failing, 503, false},
		{AnswerCode, 204, false},
		{Redirect, 302, false},
		{ResetConn, 0, true},
		{Hang, 0, true}, // the client's timeout
	}
	tg.Code.Store(204)
	for _, tc := range tests {
		tg.Set(tc.mode)
		code, err := get("/h")
		if code != tc.code || (err != nil) != tc.fail {
			t.Errorf("mode %d: %d %v, want %d (error %v)", tc.mode, code, err, tc.code, tc.fail)
		}
	}
	tg.Set(Healthy)
	tg.SetPathCode("/t/b", 500)
	if code, _ := get("/t/b"); code != 500 {
		t.Errorf("path code: %d, want 500", code)
	}
	// A GET on a reset kept-alive connection is retried once by the client.
	if n := tg.Requests.Load(); n < int64(len(tests))+1 {
		t.Errorf("Requests = %d, want at least %d", n, len(tests)+1)
	}
	if tg.LongestHold() < time.Second {
		t.Errorf("LongestHold = %s after a request held until the client's 2 s timeout", tg.LongestHold())
	}
}

func TestGarbageURL(t *testing.T) {
	u := GarbageURL(t, "/health")
	addr := strings.TrimSuffix(strings.TrimPrefix(u, "http://"), "/health")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "SSH-2.0") {
		t.Fatalf("garbage server answered %q", b)
	}
}

func TestPoll(t *testing.T) {
	n := 0
	if !Poll(time.Second, func() bool { n++; return n == 3 }) || n != 3 {
		t.Fatalf("Poll stopped after %d calls", n)
	}
	start := time.Now()
	if Poll(50*time.Millisecond, func() bool { return false }) {
		t.Fatal("Poll reported a condition that never held")
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("Poll gave up before its timeout")
	}
}

func TestBufferChanged(t *testing.T) {
	var b Buffer
	changed := b.Changed()
	select {
	case <-changed:
		t.Fatal("Changed closed before any write")
	default:
	}
	_, _ = io.WriteString(&b, "x")
	select {
	case <-changed:
	default:
		t.Fatal("Changed not closed by a write")
	}
	if b.String() != "x" {
		t.Fatalf("String = %q", b.String())
	}
}

func TestSlackLines(t *testing.T) {
	at := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	events := []slack.Event{
		{URL: "http://ops:pw@127.0.0.1:9/a", State: health.Unhealthy, Previous: health.Healthy, Code: 503, At: at, Data: `{"n":1}`},
		{URL: "http://127.0.0.1:9/b", State: health.Unreachable, Previous: health.Pending, Error: "connection refused", At: at},
		{URL: "http://127.0.0.1:9/a", State: health.Healthy, Previous: health.Unhealthy, At: at.Add(time.Minute), PreviousSince: at},
	}
	mass := slack.MassFailure{Failed: 30, Registered: 40, Window: time.Second,
		ByState: map[health.State]int{health.Unhealthy: 30}, Sample: events[:1]}
	msgs := []slack.Message{slack.Batch(events[:2], slack.Folded{}), mass.Message(), slack.Batch(events[2:], slack.Folded{})}
	lines, others := SlackLines(msgs)
	want := []SlackLine{
		{"http://ops:****@127.0.0.1:9/a", "unhealthy"},
		{"http://127.0.0.1:9/b", "unreachable"},
		{"http://127.0.0.1:9/a", "healthy"},
	}
	if fmt.Sprint(lines) != fmt.Sprint(want) || others != 1 {
		t.Fatalf("SlackLines = %v, %d others; want %v, 1 other", lines, others, want)
	}
}

func TestObservedTarget(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	tg := NewObservedTarget(t, Failing, func(r *http.Request) {
		mu.Lock()
		seen = append(seen, r.URL.Path+" "+r.UserAgent())
		mu.Unlock()
	})
	tg.SetPathCode("/t/1", 200)
	client := &http.Client{Timeout: 2 * time.Second}
	for _, tc := range []struct {
		path string
		code int
	}{{"/t/1", 200}, {"/t/2", 503}} {
		r, err := Send(client, http.MethodGet, tg.URL(tc.path), nil, "User-Agent", "probe-"+tc.path)
		if err != nil || r.Code != tc.code {
			t.Fatalf("GET %s: %d %v, want %d", tc.path, r.Code, err, tc.code)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"/t/1 probe-/t/1", "/t/2 probe-/t/2"}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("observed %q, want %q", seen, want)
	}
}
