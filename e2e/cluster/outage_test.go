package cluster

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// testEtcdOutage: with etcd stopped, every member keeps probing its URLs
// and answering reads, and refuses writes with 503 "registry unavailable";
// with etcd back, writes work again and every member holds every
// acknowledged write.
func testEtcdOutage(t *testing.T, s *scene) {
	s.c.whole(t)
	for _, name := range s.c.names {
		u := s.farm.url("/e/before-" + name)
		harness.Put(t, client, s.c.member(name), u, json.RawMessage(`{"before":"outage"}`), http.StatusCreated)
		s.ack(u, json.RawMessage(`{"before":"outage"}`))
	}

	s.etcd.Stop()
	stopped := time.Now()
	for _, name := range s.c.names {
		checkAcked(t, s, name)
		harness.GetStatus(t, client, s.c.member(name), s.farm.url(s.fleet[0]))
	}

	// A write on every member at once: each is refused, in a few seconds.
	var wg sync.WaitGroup
	for _, name := range s.c.names {
		wg.Go(func() {
			start := time.Now()
			u := s.farm.url("/e/during-" + name)
			r, err := harness.Send(client, http.MethodPut, s.c.member(name).URL(harness.Query("/", u)), []byte(`{"during":"outage"}`))
			took := time.Since(start)
			var e struct {
				Error string `json:"error"`
			}
			switch {
			case err != nil:
				t.Errorf("PUT on %s with etcd down: %v after %s", name, err, took)
			case r.Code != http.StatusServiceUnavailable || json.Unmarshal(r.Body, &e) != nil || !strings.HasPrefix(e.Error, "registry unavailable: "):
				t.Errorf("PUT on %s with etcd down: %d %s after %s, want 503 {\"error\":\"registry unavailable: …\"}", name, r.Code, r.Body, took)
			case took > 15*time.Second:
				t.Errorf("PUT on %s with etcd down answered 503 after %s, want a few seconds", name, took)
			default:
				t.Logf("PUT on %s with etcd down: 503 after %s: %s", name, took.Round(time.Millisecond), e.Error)
			}
		})
	}
	wg.Wait()

	// Probing goes on, each URL by one member, also once the members'
	// leases in etcd would have run out.
	from := time.Now()
	if after := stopped.Add(leaseTTL + interval); from.Before(after) {
		from = after
	}
	to := from.Add(2 * interval)
	time.Sleep(time.Until(to)) // the counting window itself
	got := s.farm.tally(s.fleet, from, to)
	t.Logf("etcd down for %s, then for %s: %s", from.Sub(stopped).Round(time.Millisecond), to.Sub(from), got)
	if len(got.unprobed) > 0 || len(got.shared) > 0 {
		t.Errorf("with etcd down, want every URL probed by exactly one member; %d unprobed %v, %d probed by several %v",
			len(got.unprobed), first(got.unprobed, 5), len(got.shared), first(got.shared, 5))
	}
	for _, name := range s.c.names {
		if got.owned[name] == 0 {
			t.Errorf("with etcd down, %s probed nothing", name)
		}
	}

	s.etcd.Restart(t)
	back := time.Now()
	for _, name := range s.c.names {
		u := s.farm.url("/e/after-" + name)
		var last string
		ok := harness.Poll(30*time.Second, func() bool {
			r, err := harness.Send(client, http.MethodPut, s.c.member(name).URL(harness.Query("/", u)), []byte(`{"after":"outage"}`))
			if err != nil {
				last = err.Error()
				return false
			}
			last = fmt.Sprintf("%d %s", r.Code, r.Body)
			return r.Code == http.StatusCreated || r.Code == http.StatusOK
		})
		if !ok {
			t.Fatalf("PUT on %s after etcd came back: still %s after 30 s", name, last)
		}
		s.ack(u, json.RawMessage(`{"after":"outage"}`))
		t.Logf("PUT on %s accepted %s after etcd came back", name, time.Since(back).Round(time.Millisecond))
	}
	for _, name := range s.c.names {
		harness.Eventually(t, 10*time.Second, "every acknowledged write on "+name, func() bool { return missing(t, s, name) == "" })
	}
	s.c.awaitMembers(t)
}

// checkAcked fails the test when member's GET /all lacks an acknowledged
// write or shows other data for it.
func checkAcked(t *testing.T, s *scene, member string) {
	t.Helper()
	if m := missing(t, s, member); m != "" {
		t.Errorf("%s: %s", member, m)
	}
}

// missing says which acknowledged writes member's GET /all lacks or shows
// with other data ("" when none).
func missing(t *testing.T, s *scene, member string) string {
	t.Helper()
	have := map[string]json.RawMessage{}
	for _, r := range harness.GetAll(t, client, s.c.member(member)) {
		have[r.URL] = r.Data
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var lost []string
	for u, data := range s.acked {
		if got, ok := have[u]; !ok || !harness.JSONEqual(got, data) {
			lost = append(lost, fmt.Sprintf("%s (data %s, want %s)", u, got, data))
		}
	}
	if len(lost) == 0 {
		return ""
	}
	slices.Sort(lost)
	return fmt.Sprintf("%d acknowledged writes missing from GET /all: %v", len(lost), first(lost, 5))
}
