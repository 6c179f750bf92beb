package probe

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/e2e/harness"
)

// TestConnectionEdges covers what a prober reading answers itself must get
// right: a kept connection the server closed while idle is replaced, not
// reported; large headers are read up to 64 KiB; a small chunked body leaves
// its connection reusable.
func TestConnectionEdges(t *testing.T) {
	// Answers one request per connection, then closes it without saying so.
	closesSilently := harness.RawServer(t, func(c net.Conn) {
		_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
	})
	bigHeader := func(n int) string {
		return harness.RawServer(t, func(c net.Conn) {
			_, _ = io.WriteString(c, "HTTP/1.1 204 No Content\r\nX-Big: "+strings.Repeat("a", n)+"\r\n\r\n")
		})
	}
	var conns atomic.Int32
	chunked := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("part one "))
		w.(http.Flusher).Flush() // no Content-Length: the body is chunked
		_, _ = w.Write([]byte("part two"))
	}))
	chunked.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	chunked.Start()
	defer chunked.Close()

	tests := []struct {
		name, url string
		code      int
		kind      health.ErrorKind
	}{
		{"closed while idle", closesSilently, 200, ""},
		{"10 KiB header", bigHeader(10 << 10), 204, ""},
		{"100 KiB header", bigHeader(100 << 10), 0, health.KindProtocol},
		{"chunked", chunked.URL + "/", 200, ""},
	}
	for _, impl := range implementations {
		t.Run(impl.name, func(t *testing.T) {
			p := impl.new(Options{MaxIdleConns: 16, IdleConnTimeout: time.Minute})
			defer p.Close()
			for _, tc := range tests {
				before := conns.Load()
				for i := range 3 {
					o := p.Probe(context.Background(), tc.url, 2*time.Second, health.DefaultExpect)
					if o.Code != tc.code || o.Kind != tc.kind {
						t.Fatalf("%s, probe %d: outcome %+v, want code %d kind %q", tc.name, i+1, o, tc.code, tc.kind)
					}
				}
				if tc.name == "chunked" && conns.Load()-before != 1 {
					t.Fatalf("chunked: %d connections for 3 probes, want 1", conns.Load()-before)
				}
			}
		})
	}
}
