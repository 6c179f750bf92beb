package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Kind is one way a target can be hostile to a prober.
type Kind string

// The hostile kinds, each on its own loopback port.
const (
	TLSSilent  Kind = "tls-silent"    // accepts, never writes; registered as https, so the TLS handshake never completes
	HTTPSilent Kind = "http-silent"   // accepts, reads the request, never answers
	Backlog    Kind = "backlog-full"  // accept queue full and never accepted: the SYN is dropped, the dial never completes
	Trickle    Kind = "trickle"       // headers, then one body byte every trickleEvery, forever
	Huge       Kind = "huge-body"     // 200 with an 8 GiB generated body, written until the client closes
	Redirect   Kind = "redirect-loop" // 302 to the next URL of an endless chain
	Garbage    Kind = "garbage"       // an SSH banner and binary bytes instead of HTTP, then silence
	Reset      Kind = "reset"         // reads the request, then resets the connection
	Refused    Kind = "refused"       // a closed port
)

// Kinds lists every hostile kind in report order.
var Kinds = []Kind{TLSSilent, HTTPSilent, Backlog, Trickle, Huge, Redirect, Garbage, Reset, Refused}

const (
	trickleEvery = 250 * time.Millisecond
	hugeSize     = 8 << 30
	hugeChunk    = 32 << 10
)

// KindStats is what one hostile listener saw, from the server side.
type KindStats struct {
	Accepted int64 `json:"accepted"`
	Open     int64 `json:"open_at_end"`
	MaxOpen  int64 `json:"max_open"`
	Shed     int64 `json:"shed_over_cap"`     // closed at once: the kind already held HoldCap connections
	HeldOver int64 `json:"closed_after_hold"` // still open after the hold limit, closed by the soak
	Bytes    int64 `json:"bytes_sent"`
}

type kindCounters struct {
	accepted, open, maxOpen, shed, heldOver, bytes atomic.Int64
}

func (c *kindCounters) stats() KindStats {
	return KindStats{Accepted: c.accepted.Load(), Open: c.open.Load(), MaxOpen: c.maxOpen.Load(),
		Shed: c.shed.Load(), HeldOver: c.heldOver.Load(), Bytes: c.bytes.Load()}
}

// Hostile is the set of hostile listeners, one per kind. A connection is held
// at most Hold and a kind holds at most HoldCap connections at once, so the
// soak's own descriptors stay bounded whatever the prober does.
type Hostile struct {
	ctx     context.Context
	cancel  context.CancelFunc
	hold    time.Duration
	holdCap int64
	addr    map[Kind]string
	count   map[Kind]*kindCounters
	closers []io.Closer
	wg      sync.WaitGroup
}

// StartHostile opens one listener per kind on 127.0.0.1.
func StartHostile(hold time.Duration, holdCap int) (*Hostile, error) {
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hostile{ctx: ctx, cancel: cancel, hold: hold, holdCap: int64(holdCap), addr: map[Kind]string{}, count: map[Kind]*kindCounters{}}
	for _, k := range Kinds {
		h.count[k] = &kindCounters{}
		if err := h.open(k); err != nil {
			h.Close()
			return nil, fmt.Errorf("hostile listener %s: %w", k, err)
		}
		slog.Info("hostile listener", "kind", k, "addr", h.addr[k])
	}
	return h, nil
}

func (h *Hostile) open(k Kind) error {
	switch k {
	case Refused:
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		h.addr[k] = l.Addr().String() // free a moment ago, nobody listens on it now
		return l.Close()
	case Backlog:
		b, err := listenFullBacklog()
		if err != nil {
			return err
		}
		h.addr[k] = b.Addr()
		h.closers = append(h.closers, b)
		return nil
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.addr[k] = l.Addr().String()
	cl := &capListener{Listener: l, c: h.count[k], limit: h.holdCap}
	if k == Huge {
		// A small send buffer keeps the bytes sent close to the bytes the
		// prober read, instead of what the kernel buffers could absorb.
		cl.sndbuf = hugeChunk
	}
	h.closers = append(h.closers, cl)
	switch k {
	case Trickle, Huge, Redirect:
		srv := &http.Server{
			Handler:           h.handler(k),
			ReadHeaderTimeout: h.hold,
			IdleTimeout:       h.hold,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
		h.closers = append(h.closers, srv)
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			if err := srv.Serve(cl); err != nil && !errors.Is(err, http.ErrServerClosed) && h.ctx.Err() == nil {
				slog.Error("hostile server stopped", "kind", k, "err", err)
			}
		}()
	default:
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			h.acceptRaw(k, cl)
		}()
	}
	return nil
}

// URLs returns n URLs of kind k, distinguished by path.
func (h *Hostile) URLs(k Kind, n int) []string {
	scheme := "http"
	if k == TLSSilent {
		scheme = "https"
	}
	out := make([]string, n)
	for i := range out {
		out[i] = scheme + "://" + h.addr[k] + "/" + string(k) + "/" + strconv.Itoa(i)
	}
	return out
}

// Stats returns the server-side counters of every kind.
func (h *Hostile) Stats() map[Kind]KindStats {
	out := make(map[Kind]KindStats, len(h.count))
	for k, c := range h.count {
		out[k] = c.stats()
	}
	return out
}

// Close stops every listener and ends every held connection.
func (h *Hostile) Close() {
	h.cancel()
	for _, c := range h.closers {
		c.Close()
	}
	h.wg.Wait()
}

// acceptRaw serves a raw-TCP kind until the listener closes.
func (h *Hostile) acceptRaw(k Kind, l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if h.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(50 * time.Millisecond) // out of descriptors: back off
			continue
		}
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			defer c.Close()
			h.serveRaw(k, c)
		}()
	}
}

func (h *Hostile) serveRaw(k Kind, c net.Conn) {
	cnt := h.count[k]
	end := time.Now().Add(h.hold)
	stop := context.AfterFunc(h.ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	switch k {
	case Reset:
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 1024)
		_, _ = c.Read(buf)
		if tc, ok := unwrap(c).(*net.TCPConn); ok {
			tc.SetLinger(0) // close sends RST
		}
		return
	case Garbage:
		n, _ := c.Write([]byte("SSH-2.0-OpenSSH_9.6p1\r\n\x00\x00\x01\x0c\x0a\x14\xff\xfe\x8b\x1f\x00garbage"))
		cnt.bytes.Add(int64(n))
	}
	// Silent from here on: read and drop whatever comes until the client
	// closes or the hold limit.
	c.SetDeadline(end)
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && h.ctx.Err() == nil {
		cnt.heldOver.Add(1)
	}
}

func (h *Hostile) handler(k Kind) http.Handler {
	cnt := h.count[k]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		end := time.Now().Add(h.hold)
		switch k {
		case Redirect:
			n, _ := strconv.Atoi(r.URL.Query().Get("n"))
			w.Header().Set("Location", r.URL.Path+"?n="+strconv.Itoa(n+1))
			w.WriteHeader(http.StatusFound)
		case Trickle:
			w.Header().Set("Content-Type", "text/plain")
			w.Header().Set("Content-Length", strconv.Itoa(1<<30))
			w.WriteHeader(http.StatusOK)
			rc := http.NewResponseController(w)
			_ = rc.Flush()
			t := time.NewTicker(trickleEvery)
			defer t.Stop()
			for {
				select {
				case <-r.Context().Done():
					return
				case <-h.ctx.Done():
					return
				case <-t.C:
				}
				if time.Now().After(end) {
					cnt.heldOver.Add(1)
					return
				}
				if _, err := w.Write([]byte{'.'}); err != nil {
					return
				}
				cnt.bytes.Add(1)
				if rc.Flush() != nil {
					return
				}
			}
		case Huge:
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Length", strconv.FormatInt(hugeSize, 10))
			w.WriteHeader(http.StatusOK)
			rc := http.NewResponseController(w)
			_ = rc.SetWriteDeadline(end)
			chunk := make([]byte, hugeChunk)
			for i := range chunk {
				chunk[i] = byte('a' + i%26)
			}
			for sent := int64(0); sent < hugeSize && h.ctx.Err() == nil; {
				n, err := w.Write(chunk)
				sent += int64(n)
				cnt.bytes.Add(int64(n))
				if err != nil {
					var ne net.Error
					if errors.As(err, &ne) && ne.Timeout() {
						cnt.heldOver.Add(1)
					}
					return
				}
			}
		}
	})
}

// capListener counts a kind's connections and closes new ones at once while
// the kind already holds limit of them.
type capListener struct {
	net.Listener
	c      *kindCounters
	limit  int64
	sndbuf int // socket send buffer, 0 = the kernel's
}

func (l *capListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.c.accepted.Add(1)
		if l.c.open.Load() >= l.limit {
			l.c.shed.Add(1)
			c.Close()
			continue
		}
		if tc, ok := c.(*net.TCPConn); ok && l.sndbuf > 0 {
			tc.SetWriteBuffer(l.sndbuf)
		}
		n := l.c.open.Add(1)
		for {
			m := l.c.maxOpen.Load()
			if n <= m || l.c.maxOpen.CompareAndSwap(m, n) {
				break
			}
		}
		return &countedConn{Conn: c, c: l.c}, nil
	}
}

type countedConn struct {
	net.Conn
	c    *kindCounters
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.c.open.Add(-1) })
	return c.Conn.Close()
}

func unwrap(c net.Conn) net.Conn {
	if cc, ok := c.(*countedConn); ok {
		return cc.Conn
	}
	return c
}
