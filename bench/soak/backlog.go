package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"syscall"
	"time"
)

// fullBacklog is a listening socket with a backlog of zero that is never
// accepted from, filled with connections so that the kernel drops every new
// SYN: a dial to it neither succeeds nor is refused until it times out.
type fullBacklog struct {
	fd      int
	addr    string
	fillers []net.Conn
}

// listenFullBacklog opens the socket on 127.0.0.1 and fills its queue.
func listenFullBacklog() (*fullBacklog, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket: %w", err)
	}
	b := &fullBacklog{fd: fd}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		b.Close()
		return nil, fmt.Errorf("bind: %w", err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		b.Close()
		return nil, fmt.Errorf("listen: %w", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("getsockname: %w", err)
	}
	b.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
	// Dial until a dial hangs: the queue is then full. A backlog of 0 holds
	// one or two connections; 64 attempts leave a wide margin.
	for range 64 {
		c, err := net.DialTimeout("tcp", b.addr, 300*time.Millisecond)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return b, nil
			}
			b.Close()
			return nil, fmt.Errorf("fill backlog of %s: %w", b.addr, err)
		}
		b.fillers = append(b.fillers, c)
	}
	b.Close()
	return nil, fmt.Errorf("backlog of %s never filled after %d connections", b.addr, len(b.fillers))
}

// Addr is the socket's host:port.
func (b *fullBacklog) Addr() string { return b.addr }

// Close closes the fillers and the socket.
func (b *fullBacklog) Close() error {
	for _, c := range b.fillers {
		c.Close()
	}
	b.fillers = nil
	if b.fd >= 0 {
		syscall.Close(b.fd)
		b.fd = -1
	}
	return nil
}
