// Package wsnode tests SpO₂'s WebSocket endpoints with a client SpO₂ does
// not ship: Node's ws package (npm ws@8), offering permessage-deflate and
// not. The real spo2 binary runs against targets on 127.0.0.1; the Node
// client reports the handshake and every event over stdout, and the test
// checks the negotiated extension, the failing-first snapshot, synced and a
// live event. Without node or npm the test fails in CI (CI=true), where
// .ci/run installs them, and is skipped elsewhere.
package wsnode

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// spo2 is the race-enabled binary, built on first use.
var spo2 = harness.Binary{Flags: []string{"-race"}}

func TestMain(m *testing.M) {
	code := m.Run()
	spo2.Remove()
	removeNodeClient()
	os.Exit(code)
}

// stepTimeout bounds every wait for one line of the Node client.
const stepTimeout = 15 * time.Second

// watched is one registration of the test and the state it settles in.
type watched struct {
	url   string
	data  string
	state string
}

// snapshotRank is the snapshot's group order: failing, pending, healthy.
func snapshotRank(state string) int {
	switch state {
	case "unreachable", "unhealthy":
		return 0
	case "pending":
		return 1
	}
	return 2
}

// TestNodeClient: Node's ws client, offering permessage-deflate or not, on
// both WebSocket endpoints, gets the extension with both no-context-takeover
// parameters (or none), the same snapshot failing-first, synced, then the
// live events of a PUT and a DELETE, and a clean close.
func TestNodeClient(t *testing.T) {
	installNodeClient(t) // skip or fail before building anything
	t.Logf("node client ready (npm install ws@8 took %s, once per test binary)", nodeClient.elapsed.Round(time.Millisecond))
	p := harness.StartT(t, spo2.Path(t))
	client := p.Client()

	// One target answers 200 on its /up-* paths and 503 on its /down-*
	// paths, so that by URL alone failing and healthy records interleave;
	// a closed port is unreachable; a hanging target with a 24 h interval
	// keeps its URLs pending.
	mixed := harness.NewTarget(t, harness.Healthy)
	hang := harness.NewTarget(t, harness.Hang)
	fast := []string{"interval", "1s", "timeout", "900ms", "failure_threshold", "1"}
	slow := []string{"interval", "24h", "timeout", "23h"}
	var regs []watched
	for i := range 4 {
		down := fmt.Sprintf("/%c-down", 'a'+2*i)
		mixed.SetPathCode(down, http.StatusServiceUnavailable)
		regs = append(regs,
			watched{mixed.URL(down), fmt.Sprintf(`{"team":"search","pod":%d}`, 2*i), "unhealthy"},
			watched{mixed.URL(fmt.Sprintf("/%c-up", 'b'+2*i)), fmt.Sprintf(`{"team":"search","pod":%d}`, 2*i+1), "healthy"})
	}
	for i := range 2 {
		regs = append(regs,
			watched{harness.ClosedPortURL(t, fmt.Sprintf("/refused-%d", i)), fmt.Sprintf(`{"team":"ingest","pod":%d}`, i), "unreachable"},
			watched{hang.URL(fmt.Sprintf("/pending-%d", i)), fmt.Sprintf(`{"team":"batch","pod":%d}`, i), "pending"})
	}
	for _, w := range regs {
		settings := fast
		if w.state == "pending" {
			settings = slow
		}
		put(t, client, p, w.url, w.data, settings...)
	}
	settle(t, client, p, regs)

	want := slices.Clone(regs)
	slices.SortFunc(want, func(a, b watched) int {
		if d := snapshotRank(a.state) - snapshotRank(b.state); d != 0 {
			return d
		}
		return strings.Compare(a.url, b.url)
	})
	byURL := slices.Clone(regs)
	slices.SortFunc(byURL, func(a, b watched) int { return strings.Compare(a.url, b.url) })
	if slices.Equal(want, byURL) {
		t.Fatal("the failing-first order equals the URL order: the test would not see a wrong order")
	}

	runs := []struct {
		name    string
		url     string
		deflate bool
	}{
		{"ws listener, deflate", "ws://" + p.WSAddr + "/any/path", true},
		{"ws listener, plain", "ws://" + p.WSAddr + "/", false},
		{"http listener /ws, deflate", "ws://" + p.HTTPAddr + "/ws", true},
		{"http listener /ws, plain", "ws://" + p.HTTPAddr + "/ws", false},
	}
	for i, run := range runs {
		t.Run(run.name, func(t *testing.T) {
			start := time.Now()
			live := watched{hang.URL(fmt.Sprintf("/live-%d", i)), fmt.Sprintf(`{"run":%d}`, i), "pending"}
			checkRun(t, client, p, run.url, run.deflate, want, live)
			t.Logf("node client run (start, handshake, snapshot, two live events, close) took %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// checkRun runs the Node client once against u and checks everything it
// saw: the negotiated extension, the snapshot (want, in order, with its
// data), synced, then live's registered and removed events, and a clean
// close.
func checkRun(t *testing.T, client *http.Client, p *harness.Process, u string, deflate bool, want []watched, live watched) {
	n := startNode(t, u, deflate)

	hs := n.next(t, stepTimeout, "handshake")
	if hs.Kind != "handshake" || hs.Status != http.StatusSwitchingProtocols {
		t.Fatalf("first line %+v, want the handshake with status 101", hs)
	}
	open := n.next(t, stepTimeout, "open")
	if open.Kind != "open" {
		t.Fatalf("second line %+v, want open", open)
	}
	if deflate {
		want := "permessage-deflate; client_no_context_takeover; server_no_context_takeover"
		if hs.ExtensionsHeader == nil || extensionParams(*hs.ExtensionsHeader) != want {
			t.Errorf("Sec-WebSocket-Extensions = %v, want %s (parameters in any order)", quoted(hs.ExtensionsHeader), want)
		}
		if open.Extensions != "permessage-deflate" {
			t.Errorf("ws.extensions = %q, want permessage-deflate", open.Extensions)
		}
	} else {
		if hs.ExtensionsHeader != nil {
			t.Errorf("Sec-WebSocket-Extensions = %q to a client that offered nothing, want no header", *hs.ExtensionsHeader)
		}
		if open.Extensions != "" {
			t.Errorf("ws.extensions = %q, want none", open.Extensions)
		}
	}

	// Everything up to synced: text messages holding snapshot events only.
	var snap []harness.Event
	var frames int
	for {
		l := n.next(t, stepTimeout, fmt.Sprintf("snapshot (%d events so far)", len(snap)))
		if l.Kind == "synced" {
			checkWire(t, deflate, l)
			break
		}
		if l.Kind != "message" {
			t.Fatalf("line %+v before synced, want messages", l)
		}
		frames++
		if l.Binary {
			t.Errorf("message %d is binary, want text", frames)
		}
		snap = append(snap, l.Events...)
	}
	if len(snap) == 0 || snap[len(snap)-1].Type != "synced" {
		t.Fatalf("messages before synced end with %v, want synced last", harness.Summarize(snap))
	}
	snap = snap[:len(snap)-1]
	checkSnapshot(t, snap, want)

	// Live: a PUT of a new URL, then its DELETE.
	put(t, client, p, live.url, live.data, "interval", "24h", "timeout", "23h")
	ev := nextEvent(t, n, "registered event of the PUT")
	if ev.Type != "registered" || ev.Record == nil || ev.Record.URL != live.url || !harness.JSONEqual(ev.Record.Data, []byte(live.data)) {
		t.Fatalf("first event after synced: %v, want registered(%s data=%s)", ev, live.url, live.data)
	}
	if r := harness.Do(t, client, http.MethodDelete, p.URL("/?url="+url.QueryEscape(live.url)), nil); r.Code != http.StatusOK {
		t.Fatalf("DELETE %s: got %d %s, want 200", live.url, r.Code, r.Body)
	}
	ev = nextEvent(t, n, "removed event of the DELETE")
	if ev.Type != "removed" || ev.URL != live.url || ev.Reason != "deleted" {
		t.Fatalf("event after the DELETE: %v, want removed(%s reason=\"deleted\")", ev, live.url)
	}

	n.send(t, "close")
	if l := n.next(t, stepTimeout, "close"); l.Kind != "closed" || l.Code != 1000 {
		t.Errorf("after close: %+v, want closed with code 1000", l)
	}
	if err := n.wait(t, stepTimeout); err != nil {
		t.Errorf("node client exit: %v, want status 0", err)
	}
}

// nextEvent returns the next event after synced, failing on a message that
// holds more or less than one event.
func nextEvent(t *testing.T, n *nodeWS, what string) harness.Event {
	t.Helper()
	l := n.next(t, stepTimeout, what)
	if l.Kind != "message" || len(l.Events) != 1 {
		t.Fatalf("%s: line %+v, want a message with one event", what, l)
	}
	return l.Events[0]
}

// checkSnapshot compares the snapshot events with want: same URLs, states
// and data, in the same order.
func checkSnapshot(t *testing.T, snap []harness.Event, want []watched) {
	t.Helper()
	var got, exp []string
	for _, e := range snap {
		if e.Type != "snapshot" || e.Record == nil {
			t.Errorf("event %v before synced, want snapshot events only", e)
			continue
		}
		got = append(got, e.Record.URL+" "+e.Record.Status.State+" "+compact(e.Record.Data))
	}
	for _, w := range want {
		exp = append(exp, w.url+" "+w.state+" "+compact([]byte(w.data)))
	}
	if !slices.Equal(got, exp) {
		t.Errorf("snapshot:\n  %s\nwant (failing first, then pending, then healthy, by URL within each):\n  %s",
			strings.Join(got, "\n  "), strings.Join(exp, "\n  "))
	}
}

// checkWire checks that the snapshot came compressed on the wire with
// deflate (fewer bytes read off the socket, handshake included, than the
// messages decoded to) and uncompressed without.
func checkWire(t *testing.T, deflate bool, l line) {
	t.Helper()
	t.Logf("snapshot and synced: %d bytes decoded, %d bytes read off the socket (handshake included)", l.PayloadBytes, l.WireBytes)
	switch {
	case l.WireBytes <= 0 || l.PayloadBytes <= 0:
		t.Errorf("synced line %+v, want byte counts", l)
	case deflate && l.WireBytes >= l.PayloadBytes:
		t.Errorf("with permessage-deflate %d bytes on the wire for %d bytes of messages, want fewer", l.WireBytes, l.PayloadBytes)
	case !deflate && l.WireBytes <= l.PayloadBytes:
		t.Errorf("without compression %d bytes on the wire for %d bytes of messages, want more", l.WireBytes, l.PayloadBytes)
	}
}

// extensionParams normalises a Sec-WebSocket-Extensions value: the
// extension's name, then its parameters sorted, joined with "; ". Several
// extensions stay in one string, so they do not compare equal to one.
func extensionParams(h string) string {
	parts := strings.Split(h, ";")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	slices.Sort(parts[1:])
	return strings.Join(parts, "; ")
}

// put registers u with data and settings, wanting 201.
func put(t *testing.T, client *http.Client, p *harness.Process, u, data string, settings ...string) {
	t.Helper()
	v := url.Values{"url": {u}}
	for i := 0; i+1 < len(settings); i += 2 {
		v.Set(settings[i], settings[i+1])
	}
	if r := harness.Do(t, client, http.MethodPut, p.URL("/?"+v.Encode()), []byte(data)); r.Code != http.StatusCreated {
		t.Fatalf("PUT %s: got %d %s, want 201", u, r.Code, r.Body)
	}
}

// settle waits until GET /all shows every registration in its state.
func settle(t *testing.T, client *http.Client, p *harness.Process, regs []watched) {
	t.Helper()
	var last string
	ok := harness.Poll(20*time.Second, func() bool {
		r, err := harness.Send(client, http.MethodGet, p.URL("/all"), nil)
		if err != nil || r.Code != http.StatusOK {
			last = fmt.Sprintf("GET /all: %v %d", err, r.Code)
			return false
		}
		var recs []harness.Record
		if err := json.Unmarshal(r.Body, &recs); err != nil {
			last = fmt.Sprintf("GET /all: %v", err)
			return false
		}
		states := map[string]string{}
		for _, rec := range recs {
			states[rec.URL] = rec.Status.State
		}
		for _, w := range regs {
			if states[w.url] != w.state {
				last = fmt.Sprintf("%s is %q, want %q", w.url, states[w.url], w.state)
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("registrations not settled within 20s: %s", last)
	}
}

// compact returns JSON text without insignificant spaces (the text itself
// when it does not parse).
func compact(b []byte) string {
	var v any
	if json.Unmarshal(b, &v) != nil {
		return string(b)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// quoted shows an optional header value.
func quoted(s *string) string {
	if s == nil {
		return "no header"
	}
	return fmt.Sprintf("%q", *s)
}
