package api

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
)

// wsFrameClient dials srv offering the given extensions and returns the
// connection, the reader of server frames and the negotiated extensions.
func wsFrameClient(t *testing.T, url string, offer ...httphead.Option) (net.Conn, io.Reader, []httphead.Option) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, hs, err := ws.Dialer{Extensions: offer}.Dial(ctx, "ws"+strings.TrimPrefix(url, "http")+"/")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	return conn, bufio.NewReader(r), hs.Extensions
}

type wireEvent struct {
	Type   string          `json:"type"`
	Record json.RawMessage `json:"record"`
}

// readEvents reads text frames until one holding an event of type until; it
// returns the events and how many frames had RSV1 set, out of how many.
func readEvents(t *testing.T, r io.Reader, until string) (evs []wireEvent, compressed, frames int) {
	t.Helper()
	for {
		f, err := ws.ReadFrame(r)
		if err != nil {
			t.Fatalf("reading frame %d: %v", frames, err)
		}
		if f.Header.OpCode != ws.OpText {
			continue
		}
		frames++
		if r1, _, _ := ws.RsvBits(f.Header.Rsv); r1 {
			compressed++
		}
		if f, err = wsflate.DecompressFrame(f); err != nil {
			t.Fatalf("frame %d does not inflate: %v", frames, err)
		}
		var got []wireEvent
		if err := json.Unmarshal(f.Payload, &got); err != nil {
			t.Fatalf("frame %d is not a JSON array: %v", frames, err)
		}
		evs = append(evs, got...)
		for _, e := range got {
			if e.Type == until {
				return evs, compressed, frames
			}
		}
	}
}

// TestWebSocketDeflate: a client offering permessage-deflate (as browsers
// do) gets every frame big enough compressed (RSV1) and decodes the same
// events as a client that offers nothing and gets plain frames; a client
// offering what the server cannot honour gets plain frames too.
func TestWebSocketDeflate(t *testing.T) {
	s := newTestServer(t, Config{WSPingInterval: time.Minute, WSClientQueue: 64}, false)
	states := []health.State{health.Healthy, health.Unreachable, health.Pending, health.Unhealthy}
	const n = 2*actors.SnapshotFrameRecords + 10
	for i := range n {
		s.deps.Model.Put(&health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%05d", i)},
			&health.Status{State: states[i%len(states)]})
	}
	srv := httptest.NewServer(s.WS)
	t.Cleanup(srv.Close)

	browser := httphead.Option{Name: []byte("permessage-deflate")}
	browser.Parameters.Set([]byte("client_max_window_bits"), nil)
	zconn, zr, zext := wsFrameClient(t, srv.URL, browser)
	_, pr, pext := wsFrameClient(t, srv.URL)
	narrow := httphead.Option{Name: []byte("permessage-deflate")}
	narrow.Parameters.Set([]byte("server_max_window_bits"), []byte("10"))
	_, nr, next := wsFrameClient(t, srv.URL, narrow)

	if len(zext) != 1 || string(zext[0].Name) != "permessage-deflate" {
		t.Fatalf("negotiated %v, want permessage-deflate", zext)
	}
	for _, p := range []string{"server_no_context_takeover", "client_no_context_takeover"} {
		if _, ok := zext[0].Parameters.Get(p); !ok {
			t.Errorf("negotiated %s without %s", zext[0], p)
		}
	}
	if len(pext) != 0 || len(next) != 0 {
		t.Fatalf("negotiated %v and %v with clients that offered nothing or server_max_window_bits", pext, next)
	}

	zevs, zcomp, zframes := readEvents(t, zr, "synced")
	pevs, pcomp, _ := readEvents(t, pr, "synced")
	nevs, ncomp, _ := readEvents(t, nr, "synced")
	if zcomp != zframes || pcomp != 0 || ncomp != 0 {
		t.Fatalf("compressed frames: %d of %d with deflate, %d and %d without", zcomp, zframes, pcomp, ncomp)
	}
	if len(zevs) != n+1 || !reflect.DeepEqual(zevs, pevs) || !reflect.DeepEqual(nevs, pevs) {
		t.Fatalf("deflate client decoded %d events, plain %d and %d; or they differ", len(zevs), len(pevs), len(nevs))
	}
	var first struct{ Status struct{ State string } }
	if err := json.Unmarshal(zevs[0].Record, &first); err != nil || !health.State(first.Status.State).Failing() {
		t.Errorf("first snapshot record %s is not a failing URL", zevs[0].Record)
	}

	// A live event is compressed too, and a compressed client frame is legal.
	reg := &health.Registration{URL: "http://127.0.0.1:9/live", Data: json.RawMessage(`{"note":"` + strings.Repeat("x", 400) + `"}`)}
	st := &health.Status{State: health.Pending}
	s.deps.Model.Put(reg, st)
	s.deps.Root.Send(s.deps.Broadcaster, actors.Registered{Record: health.NewRecord(reg, st), New: true})
	live, comp, frames := readEvents(t, zr, "registered")
	if comp != frames || live[len(live)-1].Type != "registered" {
		t.Fatalf("live frames: %d compressed of %d, last event %q", comp, frames, live[len(live)-1].Type)
	}
	text, err := wsflate.CompressFrame(ws.NewTextFrame([]byte("hello, compressed")))
	if err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFrame(zconn, ws.MaskFrame(text)); err != nil {
		t.Fatal(err)
	}
	if err := ws.WriteFrame(zconn, ws.MaskFrame(ws.NewPingFrame([]byte("hi")))); err != nil {
		t.Fatal(err)
	}
	if code, pong := readUntilCloseOrPong(t, zr); !pong {
		t.Fatalf("a compressed text frame closed the connection (%d), want it ignored", code)
	}
}

// TestWebSocketDeflateProtocolErrors: with compression negotiated, RSV1 is
// legal only on the first frame of a data message.
func TestWebSocketDeflateProtocolErrors(t *testing.T) {
	s := newTestServer(t, Config{WSPingInterval: time.Minute, WSClientQueue: 16}, false)
	srv := httptest.NewServer(s.WS)
	t.Cleanup(srv.Close)
	rsv1 := ws.Rsv(true, false, false)
	tests := []struct {
		name   string
		header ws.Header
		want   ws.StatusCode // 0: the connection stays open and answers a ping
	}{
		{"RSV1 on text", ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpText, Length: 2}, 0},
		{"RSV1 on a ping", ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpPing, Length: 2}, ws.StatusProtocolError},
		{"RSV1 on a continuation", ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpContinuation, Length: 2}, ws.StatusProtocolError},
		{"RSV2 on text", ws.Header{Fin: true, Rsv: ws.Rsv(false, true, false), OpCode: ws.OpText, Length: 2}, ws.StatusProtocolError},
		{"unmasked compressed text", ws.Header{Fin: true, Rsv: rsv1, OpCode: ws.OpText, Length: 2}, ws.StatusProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, r, ext := wsFrameClient(t, srv.URL, wsflate.DefaultParameters.Option())
			if len(ext) != 1 {
				t.Fatalf("negotiated %v", ext)
			}
			h := tc.header
			if tc.name != "unmasked compressed text" {
				h.Masked, h.Mask = true, ws.NewMask()
			}
			payload := make([]byte, h.Length)
			if err := ws.WriteHeader(conn, h); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write(payload); err != nil {
				t.Fatal(err)
			}
			if tc.want == 0 {
				if err := ws.WriteFrame(conn, ws.MaskFrame(ws.NewPingFrame([]byte("hi")))); err != nil {
					t.Fatal(err)
				}
			}
			code, pong := readUntilCloseOrPong(t, r)
			switch {
			case tc.want == 0 && !pong:
				t.Errorf("connection closed with %d, want it open and answering pings", code)
			case tc.want != 0 && code != tc.want:
				t.Errorf("close code %d (pong %v), want %d", code, pong, tc.want)
			}
		})
	}
}

// TestWebSocketMalformedExtensionsHeader: a Sec-WebSocket-Extensions header
// that does not parse is a broken handshake (400 in JSON).
func TestWebSocketMalformedExtensionsHeader(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	res := s.serve("GET", "/ws", "", "Upgrade", "websocket", "Connection", "Upgrade",
		"Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==",
		"Sec-WebSocket-Extensions", "permessage-deflate; =;;")
	wantJSONError(t, "malformed extensions", res, 400, "Sec-WebSocket-Extensions")
}

// TestWebSocketEventsDuringSnapshot: events published while a client is
// still receiving its snapshot (after its first frame) all follow the
// snapshot's "synced", none lost, over a compressed stream.
func TestWebSocketEventsDuringSnapshot(t *testing.T) {
	s := newTestServer(t, Config{WSPingInterval: time.Minute, WSClientQueue: 256}, false)
	for i := range 3 * actors.SnapshotFrameRecords {
		s.deps.Model.Put(&health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%05d", i)},
			&health.Status{State: health.Healthy})
	}
	srv := httptest.NewServer(s.WS)
	t.Cleanup(srv.Close)
	_, r, _ := wsFrameClient(t, srv.URL, wsflate.DefaultParameters.Option())

	f, err := ws.ReadFrame(r) // the snapshot was captured before this frame left
	if err != nil {
		t.Fatal(err)
	}
	if f, err = wsflate.DecompressFrame(f); err != nil {
		t.Fatal(err)
	}
	const added = 50
	for i := range added {
		reg := &health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/new%02d", i)}
		st := &health.Status{State: health.Pending}
		s.deps.Model.Put(reg, st)
		s.deps.Root.Send(s.deps.Broadcaster, actors.Registered{Record: health.NewRecord(reg, st), New: true})
	}
	var first []wireEvent
	if err := json.Unmarshal(f.Payload, &first); err != nil {
		t.Fatal(err)
	}
	rest, _, _ := readEvents(t, r, "synced")
	snapshot := append(first, rest...)
	if len(snapshot) != 3*actors.SnapshotFrameRecords+1 {
		t.Fatalf("snapshot has %d events, want %d and synced", len(snapshot), 3*actors.SnapshotFrameRecords)
	}
	for _, e := range snapshot {
		if strings.Contains(string(e.Record), "/new") {
			t.Fatalf("snapshot holds %s, registered after it was taken", e.Record)
		}
	}
	seen := map[string]bool{}
	for len(seen) < added {
		evs, _, _ := readEvents(t, r, "registered")
		for _, e := range evs {
			var rec struct{ URL string }
			if err := json.Unmarshal(e.Record, &rec); err != nil || e.Type != "registered" || seen[rec.URL] {
				t.Fatalf("after synced: %s %s, want each new URL registered once", e.Type, e.Record)
			}
			seen[rec.URL] = true
		}
	}
}
