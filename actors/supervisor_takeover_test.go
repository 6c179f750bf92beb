package actors

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/e2e/harness"
)

// panicOnWatch is a keep-alive policy that panics the first time it is told
// to watch url (on the supervisor's goroutine), after counting it.
type panicOnWatch struct {
	url     string
	mu      sync.Mutex
	panics  int
	watched map[string]int // Watch minus Unwatch, per URL
}

func (p *panicOnWatch) Watch(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watched[url]++
	if url == p.url && p.panics == 0 {
		p.panics++
		panic("keep-alive policy failure")
	}
}

func (p *panicOnWatch) Unwatch(url string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.watched[url]--
}

func (p *panicOnWatch) count(url string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watched[url]
}

// TestRestartedSupervisorTakesOver: a supervisor that panics is restarted
// and takes over what its predecessor held: every registration (an
// unchanged one is still unchanged, an update is not a creation), a checker
// per URL that probes again, the leases, and the keep-alive policy's count.
func TestRestartedSupervisorTakesOver(t *testing.T) {
	a, b := newTarget(t), newTarget(t)
	const leased, boom = "http://127.0.0.1:1/leased", "http://127.0.0.1:1/boom"
	policy := &panicOnWatch{url: boom, watched: map[string]int{}}
	e := startEngine(t, nil, "", func(c *SupervisorConfig) { c.KeepAlive = policy })
	lease := 1500 * time.Millisecond
	e.register(t, RegisterItem{URL: a.URL("/"), Data: json.RawMessage(`"a"`)}, RegisterItem{URL: b.URL("/")},
		RegisterItem{URL: leased, TTL: &lease})
	harness.Eventually(t, 5*time.Second, "three checkers", func() bool { return testutil.ToFloat64(e.metrics.URLCheckers) == 3 })

	// boom's checker is spawned after the answer; telling the policy panics.
	if res := e.register(t, RegisterItem{URL: boom}).Results[0]; !res.Created {
		t.Fatalf("boom: %+v", res)
	}
	harness.Eventually(t, 5*time.Second, "boom watched by the new supervisor", func() bool { return policy.count(boom) == 1 })

	again := e.register(t, RegisterItem{URL: a.URL("/")}, RegisterItem{URL: b.URL("/"), Data: json.RawMessage(`"b"`)}).Results
	if again[0].Created || !again[0].Record.UpdatedAt.Equal(again[0].Record.CreatedAt) || string(again[0].Record.Data) != `"a"` {
		t.Fatalf("a after the restart: %+v, want its registration unchanged", again[0])
	}
	if again[1].Created || string(again[1].Record.Data) != `"b"` {
		t.Fatalf("b after the restart: %+v, want an update", again[1])
	}
	if n := testutil.ToFloat64(e.metrics.URLCheckers); n != 4 {
		t.Fatalf("spo2_url_checkers %v after the restart, want 4", n)
	}
	for _, u := range []string{a.URL("/"), b.URL("/"), leased, boom} {
		if n := policy.count(u); n != 1 {
			t.Errorf("keep-alive policy watches %s %d times, want 1", u, n)
		}
	}
	probedA, probedB := a.Requests.Load(), b.Requests.Load()
	harness.Eventually(t, 5*time.Second, "probes by the respawned checkers", func() bool {
		return a.Requests.Load() > probedA && b.Requests.Load() > probedB
	})
	e.waitEvent(t, "the lease taken over to expire", expired(leased))
	if e.model.Get(leased) != nil || e.model.Len() != 3 {
		t.Fatalf("read model holds %d URLs (leased: %v), want 3 without the leased one", e.model.Len(), e.model.Get(leased) != nil)
	}
}
