package api

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
)

// wsWriteDeadline bounds one frame write to a client that reads slowly.
const wsWriteDeadline = 10 * time.Second

// maxClientFrame bounds a frame a client may send (clients only answer pings).
const maxClientFrame = 4 << 10

// WSServer streams events to WebSocket clients (docs/api.md). Each client gets a
// snapshot (one "snapshot" event per URL, failing URLs first, then "synced"),
// streamed as it is encoded, then every event as it happens; every frame is a
// text frame holding a JSON array, compressed when the client offered
// permessage-deflate. A client that gives ?since=SEQ gets the events after
// SEQ instead of the snapshot when they are all still kept; one that gives
// ?labels=SELECTOR sees only the matching URLs; one that gives
// ?snapshot=compact gets its snapshot as "records" events (arrays and a
// table of shared values, actors.CompactEncoder). A client whose queue fills
// up is cut (close code 1008) and may reconnect for a fresh snapshot (or
// resume): it never slows probing or other clients.
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
// A request that is not a valid WebSocket handshake (a plain GET or HEAD
// included) gets a JSON error: 426 with "Upgrade: websocket" when it asks
// for no upgrade or another protocol version, 400 for a broken handshake,
// 405 for a method other than GET and HEAD.
func (s *WSServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !headersFit(w, r) {
		return
	}
	if s.cfg.Token != "" && !tokenOK(s.cfg.Token, r, true) {
		writeError(w, http.StatusUnauthorized, "missing or wrong API token: add ?token=<token>")
		return
	}
	values, berr := checkQuery(r, paramsWS)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	sub, berr := streamParams(values)
	if berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	if berr := checkHandshake(w, r); berr != nil {
		writeError(w, berr.code, berr.msg)
		return
	}
	negotiate, deflate := negotiateDeflate()
	conn, _, _, err := ws.HTTPUpgrader{Negotiate: negotiate}.Upgrade(r, w)
	if err != nil {
		s.deps.Log.Debug("websocket upgrade failed", "remote", r.RemoteAddr, "err", err)
		return // the upgrader has answered with an error status
	}
	s.wg.Add(1)
	defer s.wg.Done()
	s.stream(conn, deflate(), sub)
}

// streamParams reads since=SEQ, labels=SELECTOR and snapshot=compact|events
// into a subscription request (without its subscriber).
func streamParams(values url.Values) (actors.SubscribeStream, *badRequest) {
	var sub actors.SubscribeStream
	if v, ok := values["since"]; ok {
		n, err := strconv.ParseUint(v[0], 10, 64)
		if err != nil {
			return sub, invalid("since %q is not a seq: give the seq of the last event received, a whole number", v[0])
		}
		sub.Resume, sub.Since = true, n
	}
	if v, ok := values["labels"]; ok {
		sel, err := health.ParseSelector(v[0])
		if err != nil {
			return sub, invalid("%s", err.Error())
		}
		sub.Labels = sel
	}
	if v, ok := values["snapshot"]; ok {
		switch v[0] {
		case "compact":
			sub.Compact = true
		case "events":
		default:
			return sub, invalid("snapshot %q: give compact (records as arrays) or events (one snapshot event per URL, the default)", v[0])
		}
	}
	return sub, nil
}

// checkHandshake reports what keeps r from being a WebSocket handshake that
// the ws upgrader accepts, setting the headers the error answer needs; it
// returns nil for a good one. The upgrader answers its own refusals in plain
// text on the hijacked connection, so it must only see good handshakes.
func checkHandshake(w http.ResponseWriter, r *http.Request) *badRequest {
	switch {
	case r.Method != http.MethodGet && r.Method != http.MethodHead:
		w.Header().Set("Allow", "GET, HEAD")
		return &badRequest{code: http.StatusMethodNotAllowed, msg: "method " + r.Method + " is not allowed on a WebSocket endpoint"}
	case r.Method == http.MethodHead || r.ProtoMajor != 1 || r.ProtoMinor < 1 ||
		!strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !hasToken(r.Header.Get("Connection"), "upgrade"):
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		return &badRequest{code: http.StatusUpgradeRequired,
			msg: "this is a WebSocket endpoint: connect with a WebSocket client (HTTP/1.1 GET with Upgrade: websocket)"}
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		w.Header().Set("Sec-WebSocket-Version", "13")
		return &badRequest{code: http.StatusUpgradeRequired, msg: "Sec-WebSocket-Version must be 13"}
	}
	if key, err := base64.StdEncoding.DecodeString(r.Header.Get("Sec-WebSocket-Key")); err != nil || len(key) != 16 ||
		len(r.Header.Get("Sec-WebSocket-Key")) != 24 {
		return invalid("Sec-WebSocket-Key must be 16 bytes in base64")
	}
	for _, v := range r.Header.Values("Sec-WebSocket-Extensions") {
		if !httphead.ScanOptions([]byte(v), func(int, []byte, []byte, []byte) httphead.Control {
			return httphead.ControlContinue
		}) {
			return invalid("Sec-WebSocket-Extensions does not parse")
		}
	}
	return nil
}

// hasToken reports whether the comma-separated header value v lists token,
// in any case.
func hasToken(v, token string) bool {
	for _, t := range strings.Split(v, ",") {
		if strings.EqualFold(strings.TrimSpace(t), token) {
			return true
		}
	}
	return false
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
	deflate bool         // permessage-deflate was negotiated
	zbuf    bytes.Buffer // a compressed event frame, used by the stream's goroutine only
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

// writeText sends payload as a text frame, compressed when compression was
// negotiated and the payload is worth it. Only the stream's goroutine calls it.
func (c *wsConn) writeText(payload []byte) error {
	if !c.deflate || len(payload) < deflateMinSize {
		return c.writeFrame(ws.NewTextFrame(payload))
	}
	c.zbuf.Reset()
	if err := deflate(&c.zbuf, payload); err != nil {
		return err
	}
	return c.writeCompressed(c.zbuf.Bytes())
}

// writeCompressed sends a compressed payload as a text frame with RSV1 set.
func (c *wsConn) writeCompressed(payload []byte) error {
	f := ws.NewTextFrame(payload)
	f.Header.Rsv = ws.Rsv(true, false, false)
	return c.writeFrame(f)
}

// writeSnapshot sends one frame of a client's opening (a snapshot or a
// replay); a snapshot frame's compressed form is shared by every client that
// negotiated compression.
func (c *wsConn) writeSnapshot(f *actors.SnapshotFrame) error {
	if !c.deflate {
		return c.writeFrame(ws.NewTextFrame(f.Payload))
	}
	if z := f.Compressed(deflateShared); z != nil {
		return c.writeCompressed(z)
	}
	return c.writeFrame(ws.NewTextFrame(f.Payload))
}

func (s *WSServer) stream(conn net.Conn, deflate bool, subscribe actors.SubscribeStream) {
	defer conn.Close()
	c := &wsConn{conn: conn, bw: bufio.NewWriterSize(conn, 32<<10), deflate: deflate}
	m := s.deps.Metrics
	sub := actors.NewSubscriber(s.cfg.WSClientQueue, s.cfg.WSOpeningBacklog)
	subscribe.Subscriber = sub
	s.deps.Root.Send(s.deps.Broadcaster, subscribe)
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

	var snapshot actors.Opening
	select {
	case snapshot = <-sub.Opening():
	case <-sub.Done():
		s.close(c, sub.Reason())
		return
	}
	for i := 0; ; i++ {
		select {
		case <-sub.Done():
			s.close(c, sub.Reason())
			return
		default:
		}
		frame, ok := snapshot.Frame(i)
		if !ok {
			break
		}
		if err := c.writeSnapshot(frame); err != nil {
			sub.Close(actors.ReasonClosed)
			m.WSDropped.WithLabelValues("write_error").Inc()
			return
		}
	}
	snapshot = nil
	// The events that came while the opening was sent follow it, in order.
	backlog := sub.Opened()
	var frame bytes.Buffer
	for len(backlog) > 0 {
		n := min(len(backlog), 512)
		if err := c.writeText(eventsFrame(&frame, backlog[:n])); err != nil {
			sub.Close(actors.ReasonClosed)
			m.WSDropped.WithLabelValues("write_error").Inc()
			return
		}
		clear(backlog[:n])
		backlog = backlog[n:]
	}
	backlog = nil

	ping := time.NewTicker(s.cfg.WSPingInterval)
	defer ping.Stop()
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

// eventsFrame returns the text of one frame holding events, built in buf.
func eventsFrame(buf *bytes.Buffer, events [][]byte) []byte {
	buf.Reset()
	buf.WriteByte('[')
	for i, ev := range events {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(ev)
	}
	buf.WriteByte(']')
	return buf.Bytes()
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
