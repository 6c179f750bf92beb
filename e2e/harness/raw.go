package harness

import (
	"io"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// reset closes conn with an RST rather than a polite FIN.
func reset(conn net.Conn) {
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	conn.Close()
}

// RawServer accepts TCP connections on 127.0.0.1, reads what the client
// sends first (its request), then calls answer and closes the connection;
// for targets that do not speak proper HTTP. It returns "http://ADDR/" and
// stops at the test's cleanup. Each connection is given 5 s at most.
func RawServer(t testing.TB, answer func(net.Conn)) string {
	t.Helper()
	return "http://" + TCPServer(t, func(c net.Conn) {
		_ = c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4096)
		_, _ = c.Read(buf)
		answer(c)
	}) + "/"
}

// TCPServer accepts TCP connections on 127.0.0.1 and hands each to handle on
// its own goroutine, closing the connection when handle returns. It returns
// "ADDR" (host:port) and stops accepting at the test's cleanup.
func TCPServer(t testing.TB, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// GarbageURL returns the URL of a RawServer that answers bytes that are not
// HTTP (an SSH banner), at path.
func GarbageURL(t testing.TB, path string) string {
	t.Helper()
	u := RawServer(t, func(c net.Conn) { _, _ = io.WriteString(c, "SSH-2.0-OpenSSH_9.6 this is not HTTP\r\n\r\n") })
	return u[:len(u)-1] + path
}

// ResetConnection is a RawServer answer: the connection is reset (RST).
func ResetConnection(c net.Conn) { reset(c) }

// ClosedPortURL returns an http URL on 127.0.0.1 at path whose port refuses
// connections: a socket is bound to it without listening, so until the
// test's cleanup no other listener can take the port and every connection
// attempt is refused.
func ClosedPortURL(t testing.TB, path string) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("closed port: socket: %v", err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatalf("closed port: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatalf("closed port: getsockname: %v", err)
	}
	return "http://127.0.0.1:" + strconv.Itoa(sa.(*syscall.SockaddrInet4).Port) + path
}

// SilentServer accepts TCP connections on 127.0.0.1 and never writes: a TLS
// client waits for a ServerHello that never comes. It closes a connection
// only when its client does, so every socket left open is the client's. It
// returns "ADDR" (host:port) and stops at the test's cleanup.
func SilentServer(t testing.TB) string {
	t.Helper()
	return TCPServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
}
