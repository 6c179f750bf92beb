package actors

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/persistence"
)

// savedHistories records what checkers hand to their HistorySaver.
type savedHistories struct {
	mu    sync.Mutex
	saves map[string]int
	logs  map[string]*history.Log
}

func (s *savedHistories) SaveHistory(url string, h *history.Log) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.saves[url]++
	s.logs[url] = h
}

func (s *savedHistories) get(url string) (int, *history.Log) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.saves[url], s.logs[url]
}

// TestCheckerAddsEachChangeToTheHistory: a loaded history goes on; each
// state change, and nothing else, is added to the URL's history (newest
// first) and handed to the saver; probes that change nothing add nothing.
func TestCheckerAddsEachChangeToTheHistory(t *testing.T) {
	tg := newTarget(t)
	tg.Code.Store(503)
	u := tg.URL("/")
	created := time.Now().Add(-time.Hour)
	r := health.Registration{URL: u, Data: json.RawMessage(`null`), Probe: fastSettings, CreatedAt: created}
	loaded := history.New(3)
	loaded.Add(history.NewChange(created.Add(time.Minute), health.Unhealthy, health.Pending, 503, ""))
	saver := &savedHistories{saves: map[string]int{}, logs: map[string]*history.Log{}}
	e := startEngine(t, []persistence.Loaded{{Reg: r, History: loaded,
		Status: &health.Status{State: health.Unhealthy, Code: 503, Since: created.Add(time.Minute)}}}, "",
		func(c *SupervisorConfig) { c.Checkers.Histories = saver; c.Checkers.HistoryLimit = 3 })
	entry := e.model.Get(u)
	if entry.History() != loaded {
		t.Fatal("the loaded history is not the entry's")
	}

	tg.Code.Store(200)
	e.waitEvent(t, "healthy", statusOf(u, health.Healthy))
	tg.Code.Store(503)
	e.waitEvent(t, "unhealthy", statusOf(u, health.Unhealthy))
	// Probes go on at 1 s; two more that change nothing.
	checked := *entry.Status().CheckedAt
	deadline := time.Now().Add(5 * time.Second)
	for entry.Status().CheckedAt.Sub(checked) < 1500*time.Millisecond && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}

	var got []string
	for _, c := range entry.History().Newest() {
		got = append(got, string(c.State())+"←"+string(c.Previous()))
	}
	want := []string{"unhealthy←healthy", "healthy←unhealthy", "unhealthy←pending"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("history %v, want %v (newest first)", got, want)
	}
	if newest := entry.History().Newest()[0]; !newest.At().Equal(entry.Status().Since) || newest.Code() != 503 {
		t.Errorf("newest change %v code %d, want the status's since %v and 503", newest.At(), newest.Code(), entry.Status().Since)
	}
	if n, h := saver.get(u); n != 2 || h != entry.History() {
		t.Errorf("saver got %d saves of %p, want 2 of the entry's history %p", n, h, entry.History())
	}
	if u := entry.Record().Uptime; !u.Known || u.Day <= 0 || u.Day >= 1 {
		t.Errorf("uptime %+v, want a share strictly between 0 and 1", u)
	}
}
