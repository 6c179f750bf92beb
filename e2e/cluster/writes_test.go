package cluster

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// testWrites: a PUT acknowledged by m1 is readable on m2 and m3 within 1 s,
// and one acknowledged right before m1 is killed with SIGKILL is there too,
// and on m1 once it is back.
func testWrites(t *testing.T, s *scene) {
	s.c.whole(t)
	const a = "m1"
	readers := []string{"m2", "m3"}
	for _, path := range []string{"/w/replicated", "/w/survives-kill"} {
		u := s.farm.url(path)
		data := json.RawMessage(fmt.Sprintf(`{"written_on":%q,"path":%q}`, a, path))
		harness.Put(t, client, s.c.member(a), u, data, http.StatusCreated)
		answered := time.Now()
		s.ack(u, data)
		if path == "/w/survives-kill" {
			s.c.kill(a)
		}
		for _, name := range readers {
			if !harness.Poll(time.Until(answered.Add(time.Second)), func() bool { return hasData(s.c.member(name), u, data) }) {
				t.Errorf("%s: PUT answered by %s not readable on %s within 1 s", path, a, name)
			} else {
				t.Logf("%s: readable on %s %s after the answer", path, name, time.Since(answered).Round(time.Millisecond))
			}
		}
	}
	// Back, a starts from its Badger copy, which may lack the last write,
	// and catches up with etcd.
	back := s.c.restart(t, a)
	for _, path := range []string{"/w/replicated", "/w/survives-kill"} {
		u := s.farm.url(path)
		if !harness.Poll(5*time.Second, func() bool { return hasData(s.c.member(a), u, s.acked[u]) }) {
			r, err := harness.Send(client, http.MethodGet, s.c.member(a).URL(harness.Query("/status", u)), nil)
			t.Errorf("%s on %s 5 s after its restart: GET /status %d %.200s (%v), want 200 with data %s", path, a, r.Code, r.Body, err, s.acked[u])
		} else {
			t.Logf("%s: readable on %s %s after it was back", path, a, time.Since(back).Round(time.Millisecond))
		}
	}
}

// hasData reports whether p's GET /status of u answers 200 with data.
func hasData(p *harness.Process, u string, data json.RawMessage) bool {
	r, err := harness.Send(client, http.MethodGet, p.URL(harness.Query("/status", u)), nil)
	if err != nil || r.Code != http.StatusOK {
		return false
	}
	var rec harness.Record
	return json.Unmarshal(r.Body, &rec) == nil && harness.JSONEqual(rec.Data, data)
}

// testFanOut: WebSocket clients of every member — m1 restarted last, by
// the write subtest — receive the status events of a URL that m2 probes.
func testFanOut(t *testing.T, s *scene) {
	s.c.whole(t)
	const b = "m2"
	clients := map[string]*harness.WSClient{}
	for _, name := range s.c.names {
		clients[name] = harness.ConnectWS(t, "ws://"+s.c.member(name).WSAddr+"/", nil, nil)
		clients[name].WaitSynced(t)
	}

	// A URL that b has probed, alone, over the last three probes, the last
	// one within the last two intervals (so not one being handed over).
	var path string
	harness.Eventually(t, 10*time.Second, "a URL steadily probed by "+b, func() bool {
		for _, p := range s.fleet {
			h := s.farm.history(p)
			if len(h) >= 3 && time.Since(h[len(h)-1].at) < 2*interval &&
				h[len(h)-1].member == b && h[len(h)-2].member == b && h[len(h)-3].member == b {
				path = p
				return true
			}
		}
		return false
	})
	u := s.farm.url(path)
	for _, state := range []string{"unhealthy", "healthy"} {
		flipped := time.Now()
		if state == "unhealthy" {
			s.farm.fail(path)
		} else {
			s.farm.heal(path)
		}
		got := map[string]bool{}
		harness.Poll(10*time.Second, func() bool {
			for name, c := range clients {
				got[name] = got[name] || slices.ContainsFunc(c.All(), func(e harness.Event) bool {
					return e.Type == "status" && e.URL == u && e.State == state && e.At.After(flipped.Add(-time.Second))
				})
			}
			return len(got) == len(clients) && !slices.Contains(slices.Collect(maps.Values(got)), false)
		})
		for _, name := range s.c.names {
			if !got[name] {
				t.Errorf("no status event %s of %s (probed by %s) on %s's WebSocket within 10 s; got it on %v", state, path, b, name, got)
			}
		}
		for _, pr := range s.farm.history(path) {
			if !pr.at.Before(flipped) && pr.member != b {
				t.Errorf("%s probed by %s after the flip to %s, want only %s", path, pr.member, state, b)
			}
		}
	}

	// Seqs are per member: a client that resumes on another member with the
	// seq of the last event it got gets a snapshot, never that member's
	// events after the same number.
	for _, from := range s.c.names {
		evs := clients[from].All()
		last := evs[len(evs)-1].Seq
		for _, to := range s.c.names {
			if to == from {
				continue
			}
			c := harness.ConnectWS(t, fmt.Sprintf("ws://%s/?since=%d", s.c.member(to).WSAddr, last), nil, nil)
			if first := c.Next(t, 10*time.Second, "the opening on "+to, func(harness.Event) bool { return true }); first.Type != "snapshot" {
				t.Errorf("resuming on %s with %s's seq %d opened with %q, want a snapshot", to, from, last, first.Type)
			}
			_ = c.Conn().Close()
		}
	}
}
