package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/ui"
)

// feed is a synthetic SpO₂ for the render measurement: it serves the real
// embedded dashboard and a /ws endpoint speaking the real event encoding
// (the actors event types), with records and event bursts chosen by the
// test rather than by probes.
type feed struct {
	srv *httptest.Server

	mu      sync.Mutex
	records []health.Record
	clients map[chan []byte]struct{}
	token   string // when set, /ws wants ?token= (401 otherwise)

	sent atomic.Int64 // payload bytes written to clients (uncompressed)
}

// newFeed serves records, failing first, then pending, then healthy, as the
// real server orders its snapshot.
func newFeed(t *testing.T, records []health.Record) *feed {
	rank := func(r health.Record) int {
		switch r.Status.State {
		case health.Unhealthy, health.Unreachable:
			return 0
		case health.Pending:
			return 1
		}
		return 2
	}
	records = slices.Clone(records)
	slices.SortStableFunc(records, func(a, b health.Record) int { return rank(a) - rank(b) })
	f := &feed{records: records, clients: map[chan []byte]struct{}{}}
	mux := http.NewServeMux()
	mux.Handle("/ui/", ui.Handler())
	mux.HandleFunc("/ws", f.serveWS)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *feed) serveWS(w http.ResponseWriter, r *http.Request) {
	if f.token != "" && r.URL.Query().Get("token") != f.token {
		http.Error(w, `{"error":"missing or wrong API token"}`, http.StatusUnauthorized)
		return
	}
	conn, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		return
	}
	defer conn.Close()
	out := make(chan []byte, 4096)
	f.mu.Lock()
	recs := f.records
	f.mu.Unlock()
	// Snapshot in frames of 1,000 events, as a server batching its writes;
	// compact when the page asks, as the server does.
	if r.URL.Query().Get("snapshot") == "compact" {
		enc := actors.NewCompactEncoder()
		for i := 0; i < len(recs) || i == 0; i += 1000 {
			end := min(i+1000, len(recs))
			b := enc.AppendFrame(nil, recs[i:end], 0, end == len(recs))
			f.sent.Add(int64(len(b)))
			if err := wsutil.WriteServerMessage(conn, ws.OpText, b); err != nil {
				return
			}
		}
	} else if err := f.snapshot(conn, recs); err != nil {
		return
	}
	f.mu.Lock()
	f.clients[out] = struct{}{}
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.clients, out)
		f.mu.Unlock()
	}()
	go func() { // drain client frames (close, pong)
		for {
			if _, _, err := wsutil.ReadClientData(conn); err != nil {
				conn.Close()
				return
			}
		}
	}()
	for msg := range out {
		if err := wsutil.WriteServerMessage(conn, ws.OpText, msg); err != nil {
			return
		}
		f.sent.Add(int64(len(msg)))
	}
}

// snapshot sends recs as snapshot events, 1,000 a frame, then synced.
func (f *feed) snapshot(conn interface{ Write([]byte) (int, error) }, recs []health.Record) error {
	for i := 0; i < len(recs); i += 1000 {
		end := min(i+1000, len(recs))
		batch := make([]actors.Event, 0, end-i)
		for _, rec := range recs[i:end] {
			batch = append(batch, actors.Snapshot{Record: rec})
		}
		if err := f.write(conn, batch); err != nil {
			return err
		}
	}
	return f.write(conn, []actors.Event{actors.Synced{}})
}

func (f *feed) write(conn interface{ Write([]byte) (int, error) }, events []actors.Event) error {
	b := encodeEvents(events)
	f.sent.Add(int64(len(b)))
	return wsutil.WriteServerMessage(conn, ws.OpText, b)
}

// encodeEvents encodes a frame as the server does: a JSON array of events,
// each in its own wire encoding.
func encodeEvents(events []actors.Event) []byte {
	b := []byte{'['}
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.AppendJSON(b, 0)
	}
	return append(b, ']')
}

// broadcast sends one frame of events to every connected client; a client
// whose queue is full misses it, and then broadcast reports false.
func (f *feed) broadcast(events []actors.Event) bool {
	b := encodeEvents(events)
	f.mu.Lock()
	defer f.mu.Unlock()
	all := true
	for c := range f.clients {
		select {
		case c <- b:
		default:
			all = false
		}
	}
	return all
}

// syntheticRecords builds n records with a realistic mix of states and data.
func syntheticRecords(n int, now time.Time) []health.Record {
	settings := health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second,
		FailureThreshold: 3, SuccessThreshold: 1, Expect: health.MustParseExpect("200-399")}
	recs := make([]health.Record, n)
	for i := range recs {
		checked := now.Add(-time.Duration(i%10) * time.Second)
		st := health.Status{State: health.Healthy, Code: 200, LatencyMS: 1 + float64(i%50)/7,
			CheckedAt: &checked, Since: now.Add(-time.Duration(i) * 7 * time.Second)}
		switch {
		case i%40 == 1:
			st.State, st.Code = health.Unhealthy, 503
		case i%40 == 2:
			st.State, st.Code, st.ErrorKind, st.Error = health.Unreachable, 0, health.KindRefused, "dial tcp: connection refused"
		case i%200 == 3:
			st = health.Status{State: health.Pending, Since: now}
		}
		data, _ := json.Marshal(map[string]any{"customer": 1000 + i, "index": fmt.Sprintf("idx-%d", i%97), "pod": fmt.Sprintf("search-%d-%05d", i%7, i)})
		labels := health.Labels{"team": fmt.Sprintf("team-%d", i%12), "tier": []string{"gold", "silver", "bronze"}[i%3]}
		recs[i] = health.Record{URL: fmt.Sprintf("http://10.%d.%d.%d:7700/health", i/65536%256, i/256%256, i%256),
			Data: data, Probe: settings, Labels: labels, Status: st, CreatedAt: now.Add(-time.Hour), UpdatedAt: now.Add(-time.Hour)}
	}
	return recs
}
