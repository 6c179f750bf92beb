package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
)

// TestWebSocketProtocolErrors: a client frame that breaks RFC 6455 fails
// the connection with close code 1002; a good one does not.
func TestWebSocketProtocolErrors(t *testing.T) {
	s := newTestServer(t, Config{WSPingInterval: time.Minute, WSClientQueue: 16}, false)
	srv := httptest.NewServer(s.WS)
	t.Cleanup(srv.Close)
	mask := ws.NewMask()
	tests := []struct {
		name   string
		header ws.Header
		want   ws.StatusCode // 0: the connection stays open and answers a ping
	}{
		{"masked ping", ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true, Mask: mask, Length: 2}, 0},
		{"masked text (ignored)", ws.Header{Fin: true, OpCode: ws.OpText, Masked: true, Mask: mask, Length: 2}, 0},
		{"unmasked text", ws.Header{Fin: true, OpCode: ws.OpText, Length: 2}, ws.StatusProtocolError},
		{"unmasked ping", ws.Header{Fin: true, OpCode: ws.OpPing, Length: 2}, ws.StatusProtocolError},
		{"RSV1 set", ws.Header{Fin: true, Rsv: ws.Rsv(true, false, false), OpCode: ws.OpText, Masked: true, Mask: mask, Length: 2}, ws.StatusProtocolError},
		{"RSV3 on a ping", ws.Header{Fin: true, Rsv: ws.Rsv(false, false, true), OpCode: ws.OpPing, Masked: true, Mask: mask, Length: 2}, ws.StatusProtocolError},
		{"reserved data opcode", ws.Header{Fin: true, OpCode: 0x3, Masked: true, Mask: mask, Length: 2}, ws.StatusProtocolError},
		{"reserved control opcode", ws.Header{Fin: true, OpCode: 0xB, Masked: true, Mask: mask, Length: 2}, ws.StatusProtocolError},
		{"fragmented ping", ws.Header{Fin: false, OpCode: ws.OpPing, Masked: true, Mask: mask, Length: 2}, ws.StatusProtocolError},
		{"ping over 125 bytes", ws.Header{Fin: true, OpCode: ws.OpPing, Masked: true, Mask: mask, Length: 126}, ws.StatusProtocolError},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, br, _, err := ws.Dialer{}.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/")
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
			payload := make([]byte, tc.header.Length)
			if tc.header.Masked {
				ws.Cipher(payload, tc.header.Mask, 0)
			}
			if err := ws.WriteHeader(conn, tc.header); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write(payload); err != nil {
				t.Fatal(err)
			}
			if tc.want == 0 { // then a good ping must be answered
				if err := wsutil.WriteClientMessage(conn, ws.OpPing, []byte("hi")); err != nil {
					t.Fatal(err)
				}
			}
			var r io.Reader = conn
			if br != nil {
				r = br // holds what the server sent right after the handshake
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

// readUntilCloseOrPong reads server frames until a pong (true) or a close
// frame (its code).
func readUntilCloseOrPong(t *testing.T, conn io.Reader) (ws.StatusCode, bool) {
	t.Helper()
	for {
		h, err := ws.ReadHeader(conn)
		if err != nil {
			t.Fatalf("reading a frame: %v", err)
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(conn, payload); err != nil {
			t.Fatalf("reading a payload: %v", err)
		}
		switch h.OpCode {
		case ws.OpPong:
			return 0, true
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(payload)
			return code, false
		}
	}
}

// TestWebSocketCompactSnapshot: ?snapshot=compact gets the snapshot as
// "records" events holding every record once, then synced and the live
// events as usual; a client that does not ask (or asks for events) gets one
// "snapshot" event per URL; any other value is refused before the upgrade.
func TestWebSocketCompactSnapshot(t *testing.T) {
	s := newTestServer(t, Config{WSPingInterval: time.Minute, WSClientQueue: 64}, false)
	const n = actors.SnapshotFrameRecords + 10
	for i := range n {
		s.deps.Model.Put(&health.Registration{URL: fmt.Sprintf("http://127.0.0.1:9/u%05d", i), Labels: health.Labels{"team": "a"}},
			&health.Status{State: health.Healthy})
	}
	srv := httptest.NewServer(s.WS)
	t.Cleanup(srv.Close)
	type event struct {
		Type    string            `json:"type"`
		Records []json.RawMessage `json:"records"`
	}
	// read reads frames until synced and counts the events by type, and the
	// records of the "records" events.
	read := func(query string) (map[string]int, int, io.ReadWriter) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, br, _, err := ws.Dialer{}.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/"+query)
		if err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		t.Cleanup(func() { conn.Close() })
		_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
		var r io.ReadWriter = conn
		if br != nil {
			r = struct {
				io.Reader
				io.Writer
			}{io.MultiReader(br, conn), conn}
		}
		types, records := map[string]int{}, 0
		for types["synced"] == 0 {
			payload, err := wsutil.ReadServerText(r)
			if err != nil {
				t.Fatalf("%s: %v", query, err)
			}
			var evs []event
			if err := json.Unmarshal(payload, &evs); err != nil {
				t.Fatalf("%s: frame is not a JSON array of events: %v", query, err)
			}
			for _, e := range evs {
				types[e.Type]++
				records += len(e.Records)
			}
		}
		return types, records, r
	}
	types, records, cr := read("?snapshot=compact")
	if types["records"] != 2 || records != n || types["snapshot"] != 0 || types["synced"] != 1 {
		t.Errorf("compact: events %v with %d records; want 2 records events holding %d, then synced", types, records, n)
	}
	for _, q := range []string{"", "?snapshot=events"} {
		if types, records, _ := read(q); types["snapshot"] != n || records != 0 || types["records"] != 0 {
			t.Errorf("%q: events %v; want %d snapshot events", q, types, n)
		}
	}
	// Live events after a compact snapshot are the usual ones.
	reg := &health.Registration{URL: "http://127.0.0.1:9/live"}
	st := &health.Status{State: health.Pending}
	s.deps.Model.Put(reg, st)
	s.deps.Root.Send(s.deps.Broadcaster, actors.Registered{Record: health.NewRecord(reg, st), New: true})
	payload, err := wsutil.ReadServerText(cr)
	if err != nil || !strings.Contains(string(payload), `"type":"registered"`) {
		t.Errorf("live event after a compact snapshot: %s (%v)", payload, err)
	}
	wantJSONError(t, "snapshot=rows", s.serve("GET", "/ws?snapshot=rows", ""), 400, "snapshot", "compact")
}
