package engine

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// TestWebSocketStream: snapshot then synced on connect (both listeners),
// registered on PUT, status on change, removed on DELETE with a reason, and
// only changes are streamed.
func TestWebSocketStream(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	steady := newTarget(t, modeOK)
	a := steady.URL("/steady")
	put(t, p, a, []byte(`{"who":"a"}`), http.StatusCreated, "failure_threshold", "1")
	waitStatus(t, p, a, 5*time.Second, "healthy", func(r record) bool { return r.Status.State == "healthy" })

	clients := map[string]*wsClient{
		"WS_LISTEN_ADDR /":     connectWS(t, "ws://"+p.WSAddr+"/"),
		"WS_LISTEN_ADDR /any":  connectWS(t, "ws://"+p.WSAddr+"/any/path"),
		"HTTP_LISTEN_ADDR /ws": connectWS(t, "ws://"+p.HTTPAddr+"/ws"),
	}
	for name, c := range clients {
		snap := c.waitSynced(t)
		if len(snap) != 1 {
			t.Errorf("%s: snapshot of %d records, want 1", name, len(snap))
		}
		rec, ok := snap[a]
		if !ok || rec.Status.State != "healthy" || !jsonEqual(rec.Data, []byte(`{"who":"a"}`)) || rec.Probe.FailureThreshold != 1 {
			t.Errorf("%s: snapshot record of %s = %+v, want the full record, healthy, data {\"who\":\"a\"}", name, a, rec)
		}
	}

	flaky := newTarget(t, modeOK)
	b := flaky.URL("/flaky")
	put(t, p, b, []byte(`{"who":"b"}`), http.StatusCreated, "interval", "1s", "timeout", "300ms", "failure_threshold", "1")
	for name, c := range clients {
		ev := c.next(t, 5*time.Second, name+": registered event of "+b, func(e event) bool { return e.Type == "registered" })
		if ev.Record == nil || ev.Record.URL != b || !jsonEqual(ev.Record.Data, []byte(`{"who":"b"}`)) ||
			ev.Record.Probe.FailureThreshold != 1 || ev.Record.Probe.Interval != "1s" {
			t.Errorf("%s: registered event %+v, want the full record of %s", name, ev.Record, b)
		}
		ev = c.next(t, 5*time.Second, name+": first status event of "+b, func(e event) bool { return e.Type == "status" && e.URL == b })
		if ev.State != "healthy" || ev.Previous != "pending" || ev.Code != 200 || ev.At.IsZero() {
			t.Errorf("%s: status event %v at %v, want healthy from pending, code 200, with a time", name, ev, ev.At)
		}
	}

	// A data change is a registered event too.
	put(t, p, b, []byte(`{"who":"b2"}`), http.StatusOK)
	for name, c := range clients {
		ev := c.next(t, 5*time.Second, name+": registered event of the update", func(e event) bool { return e.Type == "registered" })
		if ev.Record == nil || ev.Record.URL != b || !jsonEqual(ev.Record.Data, []byte(`{"who":"b2"}`)) || ev.Record.Status.State != "healthy" {
			t.Errorf("%s: registered event after update %+v, want data {\"who\":\"b2\"} and the status kept (healthy)", name, ev.Record)
		}
	}

	// A state change is a status event.
	flaky.set(modeFail)
	for name, c := range clients {
		ev := c.next(t, 5*time.Second, name+": unhealthy status event", func(e event) bool { return e.Type == "status" && e.URL == b })
		if ev.State != "unhealthy" || ev.Previous != "healthy" || ev.Code != 503 {
			t.Errorf("%s: status event %v, want unhealthy from healthy with code 503", name, ev)
		}
	}

	// DELETE is a removed event with a reason.
	if r := do(t, http.MethodDelete, p.URL(q("/", b)), nil); r.Code != http.StatusOK {
		t.Fatalf("DELETE %s: got %d %s", b, r.Code, r.Body)
	}
	for name, c := range clients {
		ev := c.next(t, 5*time.Second, name+": removed event", func(e event) bool { return e.Type == "removed" })
		if ev.URL != b || ev.Reason == "" {
			t.Errorf("%s: removed event %v, want url %s and a reason", name, ev, b)
		}
	}
	n := flaky.count()

	// Only changes: a steady URL sends nothing more over several intervals,
	// and a removed URL is no longer probed.
	start := steady.count()
	marks := map[string]int{}
	for name, c := range clients {
		marks[name] = len(c.all())
	}
	time.Sleep(3500 * time.Millisecond) // the observation window itself
	if got := steady.count() - start; got < 2 {
		t.Errorf("steady target got %d probes in 3.5s, want at least 2", got)
	}
	for name, c := range clients {
		if extra := c.all()[marks[name]:]; len(extra) > 0 {
			t.Errorf("%s: %d events while nothing changed, want none: %v", name, len(extra), summarize(extra))
		}
	}
	if got := flaky.count() - n; got > 1 {
		t.Errorf("deleted URL's target got %d more requests, want at most 1 (a probe already in flight)", got)
	}
}

// TestSlowWebSocketClient: a client that never reads is cut once its queue
// (WS_CLIENT_QUEUE=10) overflows, while a reading client keeps receiving
// every event; the cut client can reconnect for a fresh snapshot.
func TestSlowWebSocketClient(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "WS_CLIENT_QUEUE=10", "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	u := closedPortURL(t, "/bulky")
	put(t, p, u, nil, http.StatusCreated)

	fast := connectWS(t, "ws://"+p.HTTPAddr+"/ws")
	fast.waitSynced(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	slowConn, slowReader, err := dialWS(ctx, "ws://"+p.WSAddr+"/", nil)
	cancel()
	if err != nil {
		t.Fatalf("dial slow client: %v", err)
	}
	t.Cleanup(func() { slowConn.Close() })
	eventually(t, 5*time.Second, "two WebSocket clients in /metrics", func() bool {
		v, ok := metricValue(t, p, "spo2_websocket_clients")
		return !ok || v == 2
	})

	// Each update carries ~60 KiB of data in its registered event; the slow
	// client's socket buffers fill after a few MiB, then its queue of 10.
	pad := strings.Repeat("x", 60<<10)
	sent := 0
	for sent < 800 {
		put(t, p, u, fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, sent, pad), http.StatusOK)
		sent++
		if sent%20 == 0 && sent >= 100 {
			if v, ok := metricValue(t, p, "spo2_websocket_clients"); ok && v <= 1 {
				break
			}
		}
	}
	// A few more events after the cut: the fast client must still get them.
	for range 5 {
		put(t, p, u, fmt.Appendf(nil, `{"n":%d,"pad":"%s"}`, sent, pad), http.StatusOK)
		sent++
	}
	last := fmt.Sprintf(`"n":%d,`, sent-1)
	fast.next(t, 30*time.Second, "the last registered event on the reading client", func(e event) bool {
		return e.Type == "registered" && e.Record != nil && strings.Contains(string(e.Record.Data), last)
	})
	got := 0
	for _, e := range fast.all() {
		if e.Type == "registered" {
			got++
		}
	}
	if got != sent {
		t.Errorf("reading client received %d registered events, want all %d", got, sent)
	}
	if _, ended, err, _ := fast.state(); ended {
		t.Errorf("reading client was disconnected (%v), want it kept", err)
	}

	// The slow client now reads: it must find the end of its stream (a close
	// frame, ideally 1008) before the last event.
	slow := newWSClient(slowConn, slowReader)
	endErr, ended := slow.waitEnd(30 * time.Second)
	if !ended {
		t.Fatalf("slow client still connected after %d events of ~60 KiB with WS_CLIENT_QUEUE=10; got %d events", sent, len(slow.all()))
	}
	if code, ok := closeCode(endErr); ok && code != ws.StatusPolicyViolation {
		t.Errorf("slow client closed with code %d, want %d (policy violation: too slow)", code, ws.StatusPolicyViolation)
	} else if !ok {
		t.Logf("slow client stream ended without a close frame: %v", endErr)
	}
	for _, e := range slow.all() {
		if e.Type == "registered" && e.Record != nil && strings.Contains(string(e.Record.Data), last) {
			t.Errorf("slow client received the last event: it was not cut")
		}
	}

	// Reconnecting gives a fresh snapshot with the latest data.
	again := connectWS(t, "ws://"+p.WSAddr+"/")
	snap := again.waitSynced(t)
	if rec, ok := snap[u]; !ok || !strings.Contains(string(rec.Data), last) {
		t.Errorf("snapshot after reconnect lacks the latest data of %s", u)
	}
}

// TestWebSocketManyClients: several clients connecting and leaving while
// events flow all get a consistent stream: snapshot, synced, then events.
func TestWebSocketManyClients(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	base := closedPortURL(t, "/many/")
	var wg sync.WaitGroup
	clients := make([]*wsClient, 8)
	for i := range clients {
		clients[i] = connectWS(t, "ws://"+p.WSAddr+"/")
	}
	for i := range 50 {
		wg.Go(func() {
			if r, err := send(http.MethodPut, p.URL(q("/", base+strconv.Itoa(i))), nil); err != nil || r.Code != http.StatusCreated {
				t.Errorf("PUT %d: %v %d", i, err, r.Code)
			}
		})
	}
	wg.Wait()
	for i, c := range clients {
		snap := c.waitSynced(t)
		seen := map[string]bool{}
		for u := range snap {
			seen[u] = true
		}
		for len(seen) < 50 {
			e := c.next(t, 10*time.Second, fmt.Sprintf("client %d: registered events for all 50 URLs (have %d)", i, len(seen)),
				func(e event) bool { return e.Type == "registered" })
			if e.Record == nil || seen[e.Record.URL] {
				t.Errorf("client %d: registered event %v repeats a URL of the snapshot or of an earlier event", i, e)
				continue
			}
			seen[e.Record.URL] = true
		}
	}
}

// TestWebSocketPings: with WS_PING_INTERVAL=1s the server pings; a client
// that answers stays connected, a client that never answers is dropped.
func TestWebSocketPings(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "WS_PING_INTERVAL=1s", "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	alive := connectWS(t, "ws://"+p.WSAddr+"/") // wsutil answers pings
	alive.waitSynced(t)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, r, err := dialWS(ctx, "ws://"+p.HTTPAddr+"/ws", nil)
	cancel()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	// The dead client reads frames but never answers a ping.
	var pings atomic.Int32
	deadEnded := make(chan error, 1)
	go func() {
		for {
			f, err := ws.ReadFrame(r)
			if err != nil {
				deadEnded <- err
				return
			}
			if f.Header.OpCode == ws.OpPing {
				pings.Add(1)
			}
		}
	}()
	start := time.Now()
	select {
	case err := <-deadEnded:
		if pings.Load() == 0 {
			t.Errorf("client dropped (%v) without ever being pinged", err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("silent client dropped after %s, want within about two ping intervals", d)
		}
	case <-time.After(6 * time.Second):
		t.Fatalf("a client that never answers pings is still connected after 6s with WS_PING_INTERVAL=1s (%d pings seen)", pings.Load())
	}
	if _, ended, err, _ := alive.state(); ended {
		t.Errorf("a client answering pings was dropped: %v", err)
	}
}

// TestSlowWebSocketClientNeverReading: a client that never reads is
// disconnected once it is cut as too slow: the server closes its socket
// promptly instead of keeping it (and a goroutine and buffers) until a write
// deadline.
func TestSlowWebSocketClientNeverReading(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "WS_CLIENT_QUEUE=10", "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	conn, _, err := dialWS(ctx, "ws://"+p.WSAddr+"/", nil)
	cancel()
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	server, client := conn.RemoteAddr().String(), conn.LocalAddr().String()
	if st, ok := tcpState(t, server, client); !ok || st != tcpEstablished {
		t.Fatalf("server side of the WebSocket: state %q found=%v, want ESTABLISHED", st, ok)
	}
	// Bursts of registered events of ~60 KiB each fill the client's socket
	// buffers and then its queue of 10.
	base := closedPortURL(t, "/heavy/")
	pad := strings.Repeat("x", 60<<10)
	cut := false
	for round := 0; round < 4 && !cut; round++ {
		var b strings.Builder
		b.WriteByte('[')
		for i := range 100 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"url":"%s%d","data":{"round":%d,"pad":"%s"}}`, base, i, round, pad)
		}
		b.WriteByte(']')
		if r := do(t, http.MethodPost, p.URL("/bulk"), []byte(b.String())); r.Code != http.StatusOK {
			t.Fatalf("POST /bulk: %d %.300s", r.Code, r.Body)
		}
		if v, ok := metricValue(t, p, "spo2_websocket_clients"); ok && v == 0 {
			cut = true
		}
	}
	if !cut {
		t.Fatalf("client never cut as too slow after 400 events of 60 KiB with WS_CLIENT_QUEUE=10")
	}
	cutAt := time.Now()
	deadline := cutAt.Add(5 * time.Second)
	for {
		st, ok := tcpState(t, server, client)
		if !ok || st != tcpEstablished {
			t.Logf("server closed the slow client's socket %s after the cut (state %q)", time.Since(cutAt).Round(time.Millisecond), st)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("slow client cut as too slow (spo2_websocket_clients=0) but the server still holds its socket ESTABLISHED %s later, want it closed", time.Since(cutAt).Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

const tcpEstablished = "01"

// tcpState returns the state (hex, as in /proc/net/tcp) of the IPv4 socket
// whose local address is local and remote address remote.
func tcpState(t *testing.T, local, remote string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		t.Skipf("no /proc/net/tcp: %v", err)
	}
	want := procAddr(t, local) + " " + procAddr(t, remote)
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 3 && f[1]+" "+f[2] == want {
			return f[3], true
		}
	}
	return "", false
}

// procAddr writes 127.0.0.1:8000 as /proc/net/tcp does: 0100007F:1F40.
func procAddr(t *testing.T, addr string) string {
	t.Helper()
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ip := ap.Addr().As4()
	return fmt.Sprintf("%02X%02X%02X%02X:%04X", ip[3], ip[2], ip[1], ip[0], ap.Port())
}
