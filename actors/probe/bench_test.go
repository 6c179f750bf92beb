package probe

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/e2e/harness"
)

// rawTarget answers every request on a connection with a fixed 200 and keeps
// the connection unless the request asked to close it. It allocates nothing
// per request, so a benchmark's allocations are the prober's.
func rawTarget(b *testing.B) string {
	b.Helper()
	answer := []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok")
	return "http://" + harness.TCPServer(b, func(c net.Conn) {
		buf := make([]byte, 4096)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			end := bytes.Index(buf[:n], []byte("\r\n\r\n"))
			if end < 0 {
				if n == len(buf) {
					return
				}
				continue
			}
			closing := bytes.Contains(buf[:end], []byte("Connection: close")) // as both probers write it
			if _, err := c.Write(answer); err != nil || closing {
				return
			}
			n = copy(buf, buf[end+4:n])
		}
	}) + "/health"
}

// BenchmarkProbe measures one probe round trip on loopback, one probe at a
// time, with keep-alive on and off, against a target that allocates nothing
// (raw) and against an httptest server (whose allocations are counted too:
// it runs in the same process).
func BenchmarkProbe(b *testing.B) {
	for _, impl := range implementations {
		for _, keep := range []struct {
			name    string
			maxIdle int
		}{{"keepalive", 64}, {"close", 0}} {
			for _, tgt := range []string{"raw", "httptest"} {
				b.Run(impl.name+"/"+keep.name+"/"+tgt, func(b *testing.B) {
					url := ""
					if tgt == "raw" {
						url = rawTarget(b)
					} else {
						srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
							_, _ = w.Write([]byte("ok"))
						}))
						b.Cleanup(srv.Close)
						url = srv.URL + "/health"
					}
					p := impl.new(Options{MaxIdleConns: keep.maxIdle, IdleConnTimeout: time.Minute})
					defer p.Close()
					ctx, cancel := context.WithCancel(context.Background()) // as the pool's
					defer cancel()
					b.ReportAllocs()
					cpu0 := processCPU(b)
					for b.Loop() {
						if o := p.Probe(ctx, url, 5*time.Second, health.DefaultExpect); o.Code != 200 {
							b.Fatalf("outcome %+v", o)
						}
					}
					b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
				})
			}
		}
	}
}

// processCPU returns the user and system CPU time this process has used:
// client and target together (the target runs in the process too), so
// that a difference between probers is the probers'.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
