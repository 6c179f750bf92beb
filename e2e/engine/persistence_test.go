package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
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
			for _, b := range before {
				if b.URL == rec.URL && !b.Status.Since.Equal(s.Since) {
					t.Errorf("%s: since %v after restart, want the persisted %v", rec.URL, s.Since, b.Status.Since)
				}
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
		c.Rewind() // events of different URLs may come in any order
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

// TestShutdownWithStuckClients: SIGTERM ends the process with status 0 in
// under 10 s even while a client holds a request open (headers sent, body
// never) and a WebSocket client has stopped reading with its socket full.
func TestShutdownWithStuckClients(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	u := closedPortURL(t, "/stuck")
	put(t, p, u, nil, http.StatusCreated)

	// A WebSocket client that never reads, with a few MiB of events queued.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, _, err := dialWS(ctx, "ws://"+p.WSAddr+"/", nil)
	cancel()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	pad := strings.Repeat("x", 60<<10)
	for i := range 150 {
		put(t, p, u, fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, i, pad), http.StatusOK)
	}

	// A request whose body never comes.
	raw, err := net.Dial("tcp", p.HTTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	fmt.Fprintf(raw, "PUT %s HTTP/1.1\r\nHost: %s\r\nContent-Length: 100\r\n\r\n{", q("/", u+"/never"), p.HTTPAddr)
	time.Sleep(200 * time.Millisecond) // let the server start reading that request

	d, err := p.Stop(20 * time.Second)
	if err != nil {
		t.Fatalf("SIGTERM with stuck clients: %v after %s, want exit status 0\n%s", err, d.Round(time.Millisecond), tail(p.Logs(), 30))
	}
	if d >= 10*time.Second {
		t.Errorf("SIGTERM with stuck clients: shutdown took %s, want under 10s", d.Round(time.Millisecond))
	}
}

// TestDataKeptExactly: custom data comes back as stored (key order, numbers
// beyond float64, unicode, nesting), through GET, /all and a restart.
func TestDataKeptExactly(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	cases := map[string]string{
		"/object":  `{"z":1,"a":{"big":123456789012345678901234567890,"f":1.50,"e":1e400},"s":"ü\u00e9\"<>&","arr":[null,true,false,[]]}`,
		"/string":  `"just a string"`,
		"/number":  `-0.000000000000000000001`,
		"/null":    `null`,
		"/array":   `[1,"two",{"three":3}]`,
		"/spaces":  " {\n  \"pretty\" : [ 1 , 2 ]\n}\n",
		"/boolean": `true`,
	}
	base := closedPortURL(t, "")
	for path, data := range cases {
		put(t, p, base+path, []byte(data), http.StatusCreated)
	}
	check := func(when string) {
		t.Helper()
		all := map[string]string{}
		for _, rec := range getAll(t, p) {
			all[rec.URL] = string(rec.Data)
		}
		for path, want := range cases {
			r := do(t, http.MethodGet, p.URL(q("/", base+path)), nil)
			if got := string(r.Body); !sameJSON(got, want) {
				t.Errorf("%s GET %s: data %s, want %s", when, path, got, want)
			}
			if got := all[base+path]; !sameJSON(got, want) {
				t.Errorf("%s GET /all %s: data %s, want %s", when, path, got, want)
			}
		}
	}
	check("before restart")
	if _, err := p.Stop(15 * time.Second); err != nil {
		t.Fatalf("SIGTERM: %v", err)
	}
	restart(t, p)
	check("after restart")
}

// sameJSON compares two JSON texts as values, keeping numbers as written and
// the order of object keys.
func sameJSON(a, b string) bool {
	canon := func(s string) (string, bool) {
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var out strings.Builder
		for {
			tok, err := dec.Token()
			if err != nil {
				return out.String(), err == io.EOF
			}
			switch v := tok.(type) {
			case json.Delim:
				out.WriteString(v.String())
			case string:
				b, _ := json.Marshal(v)
				out.Write(b)
			default:
				fmt.Fprint(&out, v)
			}
			out.WriteByte(' ')
		}
	}
	x, ok1 := canon(a)
	y, ok2 := canon(b)
	return ok1 && ok2 && x == y
}
