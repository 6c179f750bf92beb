package engine

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestRestartSIGTERM: data and settings survive a SIGTERM restart, shutdown
// is clean and quick, WebSocket clients get a close frame, and after the
// restart each URL shows its last persisted state (never pending) until its
// first new verdict.
func TestRestartSIGTERM(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	tg := newTarget(t, modeOK)
	var urls []string
	for i := range 5 {
		u := tg.URL("/restart/" + strconv.Itoa(i))
		urls = append(urls, u)
		put(t, p, u, fmt.Appendf(nil, `{"i":%d,"nested":{"k":[1,2,"three"]},"s":"ünïcode"}`, i), http.StatusCreated,
			"interval", "4s", "timeout", "300ms", "failure_threshold", "1", "success_threshold", "2", "expect", "200,204")
	}
	plain := closedPortURL(t, "/plain")
	urls = append(urls, plain)
	put(t, p, plain, nil, http.StatusCreated)
	for _, u := range urls[:5] {
		waitStatus(t, p, u, 8*time.Second, "healthy", func(r record) bool { return r.Status.State == "healthy" })
	}
	waitStatus(t, p, plain, 5*time.Second, "unreachable", func(r record) bool { return r.Status.State == "unreachable" })
	before := getAll(t, p)

	wsA := connectWS(t, "ws://"+p.WSAddr+"/")
	wsB := connectWS(t, "ws://"+p.HTTPAddr+"/ws")
	wsA.waitSynced(t)
	wsB.waitSynced(t)

	d, err := p.Stop(15 * time.Second)
	if err != nil {
		t.Fatalf("SIGTERM: exit %v after %s, want status 0\n%s", err, d, tail(p.Logs(), 40))
	}
	if d >= 10*time.Second {
		t.Errorf("SIGTERM: shutdown took %s, want under 10s", d)
	}
	checkNoRace(t, p)
	for name, c := range map[string]*wsClient{"WS_LISTEN_ADDR": wsA, "/ws": wsB} {
		endErr, ended := c.waitEnd(5 * time.Second)
		if !ended {
			t.Errorf("%s client: stream still open after the server exited", name)
			continue
		}
		if _, ok := closeCode(endErr); !ok {
			t.Errorf("%s client: stream ended with %v, want a close frame", name, endErr)
		}
	}

	tg.set(modeFail)
	stopped := time.Now()
	restart(t, p)
	after := getAll(t, p)
	if got, want := regView(after), regView(before); got != want {
		t.Errorf("registrations changed across restart:\nbefore %s\nafter  %s", want, got)
	}
	persisted := 0
	for _, rec := range after {
		s := rec.Status
		switch {
		case s.State == "pending":
			t.Errorf("%s: pending after restart, want its last persisted state", rec.URL)
		case rec.URL == plain:
			if s.State != "unreachable" {
				t.Errorf("%s: state %q after restart, want unreachable", rec.URL, s.State)
			}
		case s.CheckedAt != nil && s.CheckedAt.Before(stopped):
			persisted++
			if s.State != "healthy" || s.Code != 200 {
				t.Errorf("%s: persisted status %+v, want healthy with code 200", rec.URL, s)
			}
		default:
			if s.State != "unhealthy" || s.Code != 503 {
				t.Errorf("%s: probed after restart, status %+v, want unhealthy 503", rec.URL, s)
			}
		}
	}
	t.Logf("%d of 5 URLs still showed their persisted state right after restart", persisted)

	// The first new verdict changes the state from the persisted one.
	c := connectWS(t, "ws://"+p.WSAddr+"/")
	snap := c.waitSynced(t)
	for _, u := range urls[:5] {
		if snap[u].Status.State == "unhealthy" {
			continue
		}
		if snap[u].Status.State != "healthy" {
			t.Errorf("%s: snapshot state %q after restart, want healthy (persisted)", u, snap[u].Status.State)
			continue
		}
		c.cursor = 0 // events of different URLs may come in any order
		ev := c.next(t, 10*time.Second, "status event of "+u, func(e event) bool { return e.Type == "status" && e.URL == u })
		if ev.State != "unhealthy" || ev.Previous != "healthy" {
			t.Errorf("%s: first status event after restart %v, want unhealthy from healthy", u, ev)
		}
	}
}

// TestKill9AfterAcknowledgedWrites: every PUT, bulk and DELETE answered 2xx
// survives kill -9 right after the answer.
func TestKill9AfterAcknowledgedWrites(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	base := closedPortURL(t, "")

	// Some URLs deleted before the crash: acknowledged deletions stay.
	deleted := map[string]bool{}
	kept := map[string]string{}
	for i := range 20 {
		u := fmt.Sprintf("%s/del/%d", base, i)
		put(t, p, u, fmt.Appendf(nil, `{"del":%d}`, i), http.StatusCreated)
		kept[u] = fmt.Sprintf(`{"del":%d}`, i)
	}
	for i := range 10 {
		u := fmt.Sprintf("%s/del/%d", base, i)
		if r := do(t, http.MethodDelete, p.URL(q("/", u)), nil); r.Code != http.StatusOK {
			t.Fatalf("DELETE %s: %d %s", u, r.Code, r.Body)
		}
		deleted[u] = true
		delete(kept, u)
	}

	var mu sync.Mutex
	acked := map[string]string{}
	ackDeleted := map[string]bool{}
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			u := fmt.Sprintf("%s/put/%d", base, i)
			data := fmt.Sprintf(`{"put":%d,"who":"client-%d"}`, i, i)
			r, err := send(http.MethodPut, p.URL(q("/", u)), []byte(data))
			if err == nil && r.Code/100 == 2 {
				mu.Lock()
				acked[u] = data
				mu.Unlock()
			} else {
				t.Errorf("PUT %s: %v %d %s", u, err, r.Code, r.Body)
			}
		})
	}
	for i := 10; i < 15; i++ {
		wg.Go(func() {
			u := fmt.Sprintf("%s/del/%d", base, i)
			r, err := send(http.MethodDelete, p.URL(q("/", u)), nil)
			if err == nil && r.Code == http.StatusOK {
				mu.Lock()
				ackDeleted[u] = true
				mu.Unlock()
			} else {
				t.Errorf("DELETE %s: %v %d", u, err, r.Code)
			}
		})
	}
	wg.Go(func() {
		r, err := send(http.MethodPost, p.URL("/bulk"), bulkBody(2000, base+"/bulk/"))
		if err != nil || r.Code != http.StatusOK {
			t.Errorf("POST /bulk of 2000: %v %d %.300s", err, r.Code, r.Body)
			return
		}
		mu.Lock()
		for i := range 2000 {
			acked[fmt.Sprintf("%s/bulk/%d", base, i)] = fmt.Sprintf(`{"i":%d}`, i)
		}
		mu.Unlock()
	})
	wg.Wait()
	p.Kill() // right after the last acknowledgement
	checkNoRace(t, p)
	for u := range ackDeleted {
		deleted[u] = true
		delete(kept, u)
	}
	for u, d := range kept {
		acked[u] = d
	}
	if len(acked) != 200+2000+5 {
		t.Errorf("%d writes acknowledged, want %d", len(acked), 2205)
	}

	restart(t, p)
	all := getAll(t, p)
	got := map[string]record{}
	for _, rec := range all {
		got[rec.URL] = rec
	}
	missing, wrong := 0, 0
	for u, data := range acked {
		rec, ok := got[u]
		switch {
		case !ok:
			if missing++; missing <= 5 {
				t.Errorf("acknowledged %s is missing after kill -9", u)
			}
		case !jsonEqual(rec.Data, []byte(data)):
			if wrong++; wrong <= 5 {
				t.Errorf("%s: data %s after kill -9, want %s", u, rec.Data, data)
			}
		}
	}
	if missing+wrong > 0 {
		t.Errorf("after kill -9: %d of %d acknowledged URLs missing, %d with wrong data", missing, len(acked), wrong)
	}
	for u := range deleted {
		if _, ok := got[u]; ok {
			t.Errorf("%s was deleted (200) before kill -9 but is back after restart", u)
		}
	}
	if len(all) != len(acked) {
		t.Errorf("GET /all after kill -9: %d records, want %d", len(all), len(acked))
	}
	// The restarted store is writable and consistent.
	u := base + "/after"
	put(t, p, u, []byte(`"x"`), http.StatusCreated)
	if r := do(t, http.MethodDelete, p.URL(q("/", base+"/put/0")), nil); r.Code != http.StatusOK {
		t.Errorf("DELETE after restart: %d %s, want 200", r.Code, r.Body)
	}
}
