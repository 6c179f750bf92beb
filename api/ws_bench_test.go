package api

import (
	"bufio"
	"compress/flate"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
)

// fillFleet registers n synthetic URLs shaped like a production fleet: 80 %
// healthy, 10 % unreachable, 5 % unhealthy, 5 % pending, each with a little
// data.
func fillFleet(s *testServer, n int) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	settings := health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second,
		FailureThreshold: 3, SuccessThreshold: 2, Expect: health.DefaultExpect}
	for i := range n {
		checked := at.Add(time.Duration(i%10000) * time.Millisecond)
		st := &health.Status{State: health.Healthy, Code: 200, LatencyMS: 1.3, CheckedAt: &checked, Since: at}
		switch i % 20 {
		case 1, 2:
			st = &health.Status{State: health.Unreachable, Error: "dial tcp 10.0.3.7:8080: connect: connection refused",
				ErrorKind: health.KindRefused, LatencyMS: 0.4, CheckedAt: &checked, Since: at}
		case 3:
			st = &health.Status{State: health.Unhealthy, Code: 503, LatencyMS: 12.5, CheckedAt: &checked, Since: at}
		case 4:
			st = &health.Status{State: health.Pending, Since: at}
		}
		reg := &health.Registration{URL: fleetURL(i),
			Data:  json.RawMessage(fmt.Sprintf(`{"team":"team-%d","env":"prod","service":"svc-%06d"}`, i%40, i)),
			Probe: settings, CreatedAt: at, UpdatedAt: at}
		s.deps.Model.Put(reg, st)
	}
}

func fleetURL(i int) string {
	return fmt.Sprintf("http://10.%d.%d.%d:8080/health/svc-%06d", i/65536, i/256%256, i%256, i)
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// BenchmarkWebSocketSnapshot streams the snapshot of 100,000 URLs to one
// client over loopback, with and without permessage-deflate, and reports
// the time to the first frame, the bytes on the wire and the bytes per URL.
// Every iteration encodes a fresh snapshot (an event in between ends the
// sharing). Allocations count the server and the client, which only reads
// frame headers and skips payloads.
func BenchmarkWebSocketSnapshot(b *testing.B) {
	const n = 100_000
	s := newTestServer(b, Config{WSPingInterval: time.Minute, WSClientQueue: 1024}, false)
	fillFleet(s, n)
	srv := httptest.NewServer(s.WS)
	b.Cleanup(srv.Close)
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/"
	for _, mode := range []struct {
		name  string
		offer []httphead.Option
	}{{"plain", nil}, {"deflate", []httphead.Option{wsflate.DefaultParameters.Option()}}} {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			var first, wire int64
			for range b.N {
				b.StopTimer()
				e := s.deps.Model.Get(fleetURL(0))
				s.deps.Root.Send(s.deps.Broadcaster, actors.Registered{Record: e.Record()})
				time.Sleep(10 * time.Millisecond) // let the event end the shared snapshot
				b.StartTimer()
				start := time.Now()
				conn, br, _, err := ws.Dialer{Extensions: mode.offer}.Dial(b.Context(), url)
				if err != nil {
					b.Fatal(err)
				}
				var r io.Reader = conn
				if br != nil {
					r = br
				}
				cr := &countingReader{r: r}
				in := bufio.NewReaderSize(cr, 64<<10)
				for frames := 0; ; frames++ {
					h, err := ws.ReadHeader(in)
					if err != nil {
						b.Fatal(err)
					}
					if frames == 0 {
						first += int64(time.Since(start))
					}
					if _, err := in.Discard(int(h.Length)); err != nil {
						b.Fatal(err)
					}
					if frames == n/actors.SnapshotFrameRecords-1 {
						break // the last snapshot frame, with "synced"
					}
				}
				wire += cr.n
				conn.Close()
			}
			b.ReportMetric(float64(first)/float64(b.N)/1e6, "ms-first-frame")
			b.ReportMetric(float64(wire)/float64(b.N)/1e6, "MB-wire")
			b.ReportMetric(float64(wire)/float64(b.N)/n, "B/URL")
		})
	}
}

// BenchmarkWebSocketIdleClient connects 200 idle clients (after their
// snapshot) and reports the server's heap and stacks per client, with and
// without permessage-deflate; the client ends are bare sockets. For
// comparison, flate-writer reports what one deflate writer holds: the memory
// a connection would keep for good with context takeover.
func BenchmarkWebSocketIdleClient(b *testing.B) {
	const clients = 200
	for _, deflate := range []bool{false, true} {
		b.Run(map[bool]string{false: "plain", true: "deflate"}[deflate], func(b *testing.B) {
			for range b.N {
				s := newTestServer(b, Config{WSPingInterval: time.Minute, WSClientQueue: 1024}, false)
				fillFleet(s, 10)
				srv := httptest.NewServer(s.WS)
				addr := strings.TrimPrefix(srv.URL, "http://")
				// One client first so that pools and the shared snapshot exist.
				conns := []net.Conn{rawClient(b, addr, deflate)}
				before := heapAndStacks()
				for range clients {
					conns = append(conns, rawClient(b, addr, deflate))
				}
				after := heapAndStacks()
				b.ReportMetric(float64(after-before)/clients, "B/client")
				for _, c := range conns {
					c.Close()
				}
				srv.Close()
			}
		})
	}
	b.Run("flate-writer", func(b *testing.B) {
		for range b.N {
			var ms1, ms2 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms1)
			w, _ := flate.NewWriter(io.Discard, deflateLevel)
			runtime.ReadMemStats(&ms2)
			runtime.KeepAlive(w)
			b.ReportMetric(float64(ms2.TotalAlloc-ms1.TotalAlloc), "B/writer")
		}
	})
}

// rawClient opens a WebSocket with a hand-written handshake and reads until
// the snapshot's "synced", holding nothing else.
func rawClient(b *testing.B, addr string, deflate bool) net.Conn {
	b.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	ext := ""
	if deflate {
		ext = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
	}
	fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n%s\r\n", addr, ext)
	br := bufio.NewReader(conn)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			b.Fatal(err)
		}
		if line == "\r\n" {
			break
		}
	}
	f, err := ws.ReadFrame(br) // 10 URLs: one frame with "synced"
	if err != nil || f.Header.OpCode != ws.OpText {
		b.Fatalf("snapshot frame %v: %v", f.Header, err)
	}
	if r1, _, _ := ws.RsvBits(f.Header.Rsv); r1 != deflate {
		b.Fatalf("RSV1 %v, want %v", r1, deflate)
	}
	return conn
}

// heapAndStacks returns the live heap and goroutine stacks after a GC.
func heapAndStacks() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc + ms.StackInuse)
}
