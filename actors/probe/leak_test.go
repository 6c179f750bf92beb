package probe

import (
	"context"
	"net"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/e2e/harness"
)

// blackholeServer returns the address of a listener whose accept queue is
// full and never drained: the kernel drops further SYNs, so a dial to it
// stays in SYN-SENT until the client gives up.
func blackholeServer(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()
	// Fill the queue: connections complete until it is full; the first one
	// that does not complete within a short wait shows the SYNs are dropped.
	for i := 0; ; i++ {
		if i == 16 {
			t.Fatal("the accept queue never filled")
		}
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	return addr
}

// openSockets counts this process's socket file descriptors.
func openSockets(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	n := 0
	for _, e := range entries {
		if link, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && strings.HasPrefix(link, "socket:") {
			n++
		}
	}
	return n
}

// TestHostileTargetsReleaseTheirSockets probes targets that never finish a
// connection — one that accepts and never answers the TLS handshake, one
// that drops SYNs — and checks that once the probes have timed out, their
// sockets and goroutines are gone, not left to the kernel's retries or to
// the peer.
func TestHostileTargetsReleaseTheirSockets(t *testing.T) {
	tests := []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"tls handshake never answered", func(t *testing.T) string { return "https://" + harness.SilentServer(t) + "/" }},
		{"syn dropped", func(t *testing.T) string { return "http://" + blackholeServer(t) + "/" }},
	}
	const probes = 20
	timeout := 300 * time.Millisecond
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url := tc.url(t)
			for _, impl := range implementations {
				for _, maxIdle := range []int{0, 16} { // keep-alive off and on
					p := impl.new(Options{MaxIdleConns: maxIdle, IdleConnTimeout: time.Minute})
					baseSockets, baseGoroutines := openSockets(t), runtime.NumGoroutine()
					done := make(chan health.Outcome, probes)
					for range probes {
						go func() { done <- p.Probe(context.Background(), url, timeout, health.DefaultExpect) }()
					}
					for range probes {
						if o := <-done; o.Kind != health.KindTimeout {
							t.Fatalf("outcome %+v, want a timeout", o)
						}
					}
					// Every probe has returned: what it opened must be closed
					// within a moment, not when the kernel or the peer gives up.
					var sockets, goroutines int
					deadline := time.Now().Add(3 * time.Second)
					for {
						sockets, goroutines = openSockets(t), runtime.NumGoroutine()
						if sockets <= baseSockets+2 && goroutines <= baseGoroutines+4 {
							break
						}
						if time.Now().After(deadline) {
							t.Fatalf("%s, keep-alive pool %d: 3s after %d probes timed out: %d sockets (baseline %d), %d goroutines (baseline %d)",
								impl.name, maxIdle, probes, sockets, baseSockets, goroutines, baseGoroutines)
						}
						time.Sleep(20 * time.Millisecond)
					}
					t.Logf("%s, keep-alive pool %d: %d sockets (baseline %d), %d goroutines (baseline %d)", impl.name, maxIdle, sockets, baseSockets, goroutines, baseGoroutines)
					p.Close()
				}
			}
		})
	}
}
