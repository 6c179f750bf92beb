package wsclient

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// serve upgrades one connection, negotiating permessage-deflate like spo2
// (no context takeover either way), and sends msgs: compressed (in two
// fragments, a ping between them) when the client agreed, plain otherwise
// (a ping before the last); the last message is always sent plain. It
// reports the payload of the client's pong.
func serve(t *testing.T, msgs [][]byte) (addr string, pongs <-chan string) {
	t.Helper()
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ext := &wsflate.Extension{Parameters: wsflate.Parameters{ServerNoContextTakeover: true, ClientNoContextTakeover: true}}
		conn, _, _, err := ws.HTTPUpgrader{Negotiate: ext.Negotiate}.Upgrade(r, w)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer conn.Close()
		_, deflate := ext.Accepted()
		for i, m := range msgs {
			if !deflate || i == len(msgs)-1 {
				if !deflate && i == len(msgs)-1 {
					ws.WriteFrame(conn, ws.NewPingFrame([]byte("p")))
				}
				ws.WriteFrame(conn, ws.NewTextFrame(m))
				continue
			}
			f, err := wsflate.CompressFrame(ws.NewTextFrame(m))
			if err != nil {
				t.Errorf("compress: %v", err)
				return
			}
			half := len(f.Payload) / 2
			first := ws.NewFrame(ws.OpText, false, f.Payload[:half])
			first.Header.Rsv = f.Header.Rsv
			ws.WriteFrame(conn, first)
			ws.WriteFrame(conn, ws.NewPingFrame([]byte("p")))
			ws.WriteFrame(conn, ws.NewFrame(ws.OpContinuation, true, f.Payload[half:]))
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if f, err := ws.ReadFrame(conn); err == nil && f.Header.OpCode == ws.OpPong {
			ws.Cipher(f.Payload, f.Header.Mask, 0)
			got <- string(f.Payload)
		}
		conn.Close()
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), got
}

func TestReadInflatesDeflatedMessages(t *testing.T) {
	snapshot := []byte(`[` + strings.Repeat(`{"type":"snapshot","url":"http://127.0.0.1:1/x"},`, 2000) + `{"type":"synced"}]`)
	status := []byte(`[{"type":"status","url":"u","state":"down"}]`)
	for _, tc := range []struct {
		name        string
		opts        Options
		wantDeflate bool
	}{
		{"deflate offered", Options{}, true},
		{"deflate not offered", Options{NoDeflate: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, pongs := serve(t, [][]byte{snapshot, status})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			c, err := tc.opts.Dial(ctx, addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if c.Deflate() != tc.wantDeflate {
				t.Fatalf("Deflate() = %v, want %v", c.Deflate(), tc.wantDeflate)
			}
			frames, err := c.ReadSnapshot(time.Now().Add(5*time.Second), true)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != 1 || !bytes.Equal(frames[0], snapshot) {
				t.Fatalf("snapshot: %d frames, first %.60q", len(frames), frames)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			m, err := c.Read()
			if err != nil || !bytes.Equal(m, status) {
				t.Fatalf("status: %q, %v", m, err)
			}
			if want := int64(len(snapshot) + len(status)); c.DecodedBytes() != want {
				t.Errorf("DecodedBytes() = %d, want %d", c.DecodedBytes(), want)
			}
			wire := c.WireBytes() - int64(len(status))
			if tc.wantDeflate && wire >= int64(len(snapshot))/4 {
				t.Errorf("compressed snapshot took %d bytes on the wire for %d decoded", wire, len(snapshot))
			}
			if !tc.wantDeflate && wire != int64(len(snapshot)) {
				t.Errorf("plain snapshot took %d bytes on the wire, want %d", wire, len(snapshot))
			}
			select {
			case p := <-pongs:
				if p != "p" {
					t.Errorf("pong payload %q, want %q", p, "p")
				}
			case <-ctx.Done():
				t.Error("no pong to the server's ping")
			}
			if _, err := c.Read(); err == nil {
				t.Error("Read after the server closed returned no error")
			}
		})
	}
}
