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
	"slices"
	"strings"
	"sync"
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

// snapshotModes are the two ways a client can connect.
var snapshotModes = []struct {
	name  string
	offer []httphead.Option
}{{"plain", nil}, {"deflate", []httphead.Option{wsflate.DefaultParameters.Option()}}}

// newSnapshotBench serves a fleet of n URLs and returns the server, its
// WebSocket URL, and a function that ends the sharing of the current
// snapshot (an event), so that the next client gets a fresh encoding.
func newSnapshotBench(b *testing.B, n int) (string, func()) {
	s := newTestServer(b, Config{WSPingInterval: time.Minute, WSClientQueue: 1024}, false)
	fillFleet(s, n)
	srv := httptest.NewServer(s.WS)
	b.Cleanup(srv.Close)
	fresh := func() {
		e := s.deps.Model.Get(fleetURL(0))
		s.deps.Root.Send(s.deps.Broadcaster, actors.Registered{Record: e.Record()})
		time.Sleep(10 * time.Millisecond) // the event reaches the broadcaster
	}
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/", fresh
}

// readSnapshot connects to url offering offer and reads the snapshot of n
// URLs, skipping payloads; it returns the time to the first frame and the
// bytes received.
func readSnapshot(b *testing.B, url string, offer []httphead.Option, n int) (time.Duration, int64) {
	start := time.Now()
	conn, br, _, err := ws.Dialer{Extensions: offer}.Dial(b.Context(), url)
	if err != nil {
		b.Error(err)
		return 0, 0
	}
	defer conn.Close()
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	cr := &countingReader{r: r}
	in := bufio.NewReaderSize(cr, 64<<10)
	var first time.Duration
	for frames := 0; frames < n/actors.SnapshotFrameRecords; frames++ { // the last one has "synced"
		h, err := ws.ReadHeader(in)
		if err != nil {
			b.Error(err)
			return 0, 0
		}
		if frames == 0 {
			first = time.Since(start)
		}
		if _, err := in.Discard(int(h.Length)); err != nil {
			b.Error(err)
			return 0, 0
		}
	}
	return first, cr.n
}

// BenchmarkWebSocketSnapshot streams the snapshot of 100,000 URLs to one
// client over loopback, with and without permessage-deflate, and reports
// the time to the first frame, the bytes on the wire and the bytes per URL.
// Every iteration encodes a fresh snapshot. Allocations count the server
// and the client, which only reads frame headers and skips payloads.
func BenchmarkWebSocketSnapshot(b *testing.B) {
	const n = 100_000
	url, fresh := newSnapshotBench(b, n)
	for _, mode := range snapshotModes {
		b.Run(mode.name, func(b *testing.B) {
			b.ReportAllocs()
			var first time.Duration
			var wire int64
			for range b.N {
				b.StopTimer()
				fresh()
				b.StartTimer()
				f, w := readSnapshot(b, url, mode.offer, n)
				first += f
				wire += w
			}
			b.ReportMetric(float64(first.Microseconds())/float64(b.N)/1e3, "ms-first-frame")
			b.ReportMetric(float64(wire)/float64(b.N)/1e6, "MB-wire")
			b.ReportMetric(float64(wire)/float64(b.N)/n, "B/URL")
		})
	}
}

// BenchmarkWebSocketSnapshot100 has 100 clients connect at once to a fleet
// of 100,000 URLs; an iteration ends when the last has its whole snapshot.
// It reports the slowest client's time to its first frame.
func BenchmarkWebSocketSnapshot100(b *testing.B) {
	const n, clients = 100_000, 100
	url, fresh := newSnapshotBench(b, n)
	for _, mode := range snapshotModes {
		b.Run(mode.name, func(b *testing.B) {
			var worst time.Duration
			for range b.N {
				b.StopTimer()
				fresh()
				b.StartTimer()
				firsts := make([]time.Duration, clients)
				var wg sync.WaitGroup
				for c := range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						firsts[c], _ = readSnapshot(b, url, mode.offer, n)
					}()
				}
				wg.Wait()
				worst += slices.Max(firsts)
			}
			b.ReportMetric(float64(worst.Microseconds())/float64(b.N)/1e3, "ms-slowest-first-frame")
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
