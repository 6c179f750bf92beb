package api

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"

	"github.com/spo2/spo2/actors"
)

// snapshotFrameRecords is how many snapshot events go in one frame.
const snapshotFrameRecords = 1000

// wsWriteDeadline bounds one frame write to a client that reads slowly.
const wsWriteDeadline = 10 * time.Second

// maxClientFrame bounds a frame a client may send (clients only answer pings).
const maxClientFrame = 4 << 10

// WSServer streams events to WebSocket clients (SPEC §4). Each client gets a
// snapshot (one "snapshot" event per URL, then "synced"), then every event as
// it happens; every frame is a text frame holding a JSON array. A client whose
// queue fills up is cut (close code 1008) and may reconnect for a fresh
// snapshot: it never slows probing or other clients.
type WSServer struct {
	cfg  Config
	deps Deps
	wg   sync.WaitGroup
}

func newWSServer(cfg Config, deps Deps) *WSServer {
	if cfg.WSPingInterval <= 0 {
		cfg.WSPingInterval = 30 * time.Second
	}
	return &WSServer{cfg: cfg, deps: deps}
}

// ServeHTTP upgrades the request and streams until the client goes, is cut,
// or the server shuts down. It serves any path (the dedicated listener).
func (s *WSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Token != "" && !tokenOK(s.cfg.Token, r, true) {
		writeError(w, http.StatusUnauthorized, "missing or wrong API token: add ?token=<token>")
		return
	}
	conn, _, _, err := ws.UpgradeHTTP(r, w)
	if err != nil {
		s.deps.Log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // UpgradeHTTP has answered with an error status
	}
	s.wg.Add(1)
	defer s.wg.Done()
	s.stream(conn, r.RemoteAddr)
}

// Wait blocks until every stream has ended (after the broadcaster's
// CloseStreams) or the timeout passes.
func (s *WSServer) Wait(timeout time.Duration) {
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(timeout):
	}
}

// closeGrace is how long a cut client has to take its close frame.
const closeGrace = time.Second

type wsConn struct {
	conn    net.Conn
	bw      *bufio.Writer
	mu      sync.Mutex   // one frame at a time: the reader answers pings too
	closing atomic.Int64 // unix nanos of the final write deadline; 0 while open
}

// shortenWrites caps the deadline of every write, the one in progress too.
func (c *wsConn) shortenWrites(grace time.Duration) {
	at := time.Now().Add(grace)
	c.closing.Store(at.UnixNano())
	_ = c.conn.SetWriteDeadline(at)
}

func (c *wsConn) writeFrame(f ws.Frame) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	deadline := time.Now().Add(wsWriteDeadline)
	if at := c.closing.Load(); at != 0 {
		deadline = time.Unix(0, at)
	}
	_ = c.conn.SetWriteDeadline(deadline)
	if err := ws.WriteFrame(c.bw, f); err != nil {
		return err
	}
	return c.bw.Flush()
}

func (c *wsConn) writeText(payload []byte) error {
	return c.writeFrame(ws.NewTextFrame(payload))
}

func (s *WSServer) stream(conn net.Conn, remote string) {
	defer conn.Close()
	c := &wsConn{conn: conn, bw: bufio.NewWriterSize(conn, 32<<10)}
	m := s.deps.Metrics
	sub := actors.NewSubscriber(s.cfg.WSClientQueue)
	s.deps.Root.Send(s.deps.Broadcaster, actors.SubscribeStream{Subscriber: sub})
	defer s.deps.Root.Send(s.deps.Broadcaster, actors.UnsubscribeStream{Subscriber: sub})
	defer sub.Close(actors.ReasonClosed)
	go s.readLoop(c, sub)
	// A client cut while a write to it is blocked (it stopped reading) must not
	// hold its connection for the whole write deadline: once the subscription
	// ends, the pending write gets a second at most, then fails.
	go func() {
		<-sub.Done()
		c.shortenWrites(closeGrace)
	}()

	var snapshot *actors.SharedSnapshot
	select {
	case snapshot = <-sub.Snapshot():
	case <-sub.Done():
		s.close(c, sub.Reason())
		return
	}
	for _, frame := range snapshot.Frames(snapshotFrameRecords) {
		if err := c.writeText(frame); err != nil {
			sub.Close(actors.ReasonClosed)
			m.WSDropped.WithLabelValues("write_error").Inc()
			return
		}
	}
	snapshot = nil

	ping := time.NewTicker(s.cfg.WSPingInterval)
	defer ping.Stop()
	var frame bytes.Buffer
	for {
		select {
		case ev := <-sub.Events():
			frame.Reset()
			frame.WriteByte('[')
			frame.Write(ev)
		drain:
			for n := 1; n < 512; n++ {
				select {
				case more := <-sub.Events():
					frame.WriteByte(',')
					frame.Write(more)
				default:
					break drain
				}
			}
			frame.WriteByte(']')
			if err := c.writeText(frame.Bytes()); err != nil {
				sub.Close(actors.ReasonClosed)
				m.WSDropped.WithLabelValues("write_error").Inc()
				return
			}
		case <-ping.C:
			if err := c.writeFrame(ws.NewPingFrame(nil)); err != nil {
				sub.Close(actors.ReasonClosed)
				m.WSDropped.WithLabelValues("write_error").Inc()
				return
			}
		case <-sub.Done():
			s.close(c, sub.Reason())
			return
		}
	}
}

// close sends a close frame saying why, when the reason is the server's.
func (s *WSServer) close(c *wsConn, reason string) {
	s.deps.Metrics.WSDropped.WithLabelValues(reason).Inc()
	switch reason {
	case actors.ReasonShutdown:
		_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusGoingAway, "server shutting down")))
	case actors.ReasonTooSlow:
		_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusPolicyViolation, "client too slow; reconnect for a fresh snapshot")))
	}
}

// readLoop answers pings and close frames and notices dead clients: any frame
// (a pong included) must arrive within two ping intervals.
func (s *WSServer) readLoop(c *wsConn, sub *actors.Subscriber) {
	defer sub.Close(actors.ReasonClosed)
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * s.cfg.WSPingInterval))
		h, err := ws.ReadHeader(c.conn)
		if err != nil {
			return
		}
		if h.Length > maxClientFrame {
			_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusMessageTooBig, "frame too large")))
			return
		}
		payload := make([]byte, h.Length)
		if _, err := io.ReadFull(c.conn, payload); err != nil {
			return
		}
		if h.Masked {
			ws.Cipher(payload, h.Mask, 0)
		}
		switch h.OpCode {
		case ws.OpPing:
			if err := c.writeFrame(ws.NewPongFrame(payload)); err != nil {
				return
			}
		case ws.OpClose:
			_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, "")))
			return
		}
	}
}
