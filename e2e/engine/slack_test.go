package engine

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSlack is a local HTTP server standing in for a Slack incoming webhook:
// it records every body and answers 500 while failing is set.
type fakeSlack struct {
	srv     *httptest.Server
	mu      sync.Mutex
	bodies  []string
	failing bool
	refused int
}

func newFakeSlack(t *testing.T) *fakeSlack {
	f := &fakeSlack{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.failing {
			f.refused++
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		f.bodies = append(f.bodies, string(b))
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) setFailing(v bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = v
}

func (f *fakeSlack) received() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...), f.refused
}

// TestSlackThroughTheBinary wires the real binary to a fake Slack: a failing
// target is announced once, with its password masked, after Slack recovers
// from 500s; its recovery is announced; a restart announces nothing again.
func TestSlackThroughTheBinary(t *testing.T) {
	slack := newFakeSlack(t)
	slack.setFailing(true)
	tg := newTarget(t, modeFail)
	p := startSpo2(t, "SLACK_HOOK_URL="+slack.srv.URL+"/services/T0/B0/secret",
		"SLACK_BATCH_WINDOW=200ms", "FAILURE_THRESHOLD=1")
	watched := strings.Replace(tg.URL("/health"), "http://", "http://ops:hunter2@", 1)
	put(t, p, watched, []byte(`{"customer":42}`), http.StatusCreated, "interval", "1s", "timeout", "500ms")

	eventually(t, 10*time.Second, "Slack refused at least one post", func() bool {
		_, refused := slack.received()
		return refused > 0
	})
	slack.setFailing(false)
	eventually(t, 15*time.Second, "the unhealthy URL announced after Slack recovered", func() bool {
		bodies, _ := slack.received()
		return len(bodies) >= 1
	})
	bodies, _ := slack.received()
	first := bodies[0]
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(first), &msg); err != nil {
		t.Fatalf("Slack body is not JSON: %v\n%s", err, first)
	}
	if !strings.Contains(msg.Text, "unhealthy") || !strings.Contains(msg.Text, "503") || len(msg.Blocks) == 0 {
		t.Fatalf("message lacks state, code or blocks: %s", first)
	}
	if strings.Contains(first, "hunter2") || !strings.Contains(first, "ops:****@") {
		t.Fatalf("password not masked: %s", first)
	}
	if !strings.Contains(first, "customer") {
		t.Fatalf("custom data missing: %s", first)
	}

	tg.set(modeOK)
	eventually(t, 15*time.Second, "the recovery announced", func() bool {
		bodies, _ := slack.received()
		return len(bodies) >= 2 && strings.Contains(bodies[len(bodies)-1], "healthy")
	})

	before, _ := slack.received()
	if _, err := p.Stop(10 * time.Second); err != nil {
		t.Fatalf("stopping spo2: %v", err)
	}
	restartedAt := time.Now()
	restart(t, p)
	waitStatus(t, p, watched, 10*time.Second, "probed healthy again after the restart", func(r record) bool {
		return r.Status.State == "healthy" && r.Status.CheckedAt != nil && r.Status.CheckedAt.After(restartedAt)
	})
	// Two more batch windows and probes: still nothing new to say.
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if after, _ := slack.received(); len(after) != len(before) {
			t.Fatalf("restart re-announced an unchanged state: %s", after[len(after)-1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("message body: %s", first)
}
