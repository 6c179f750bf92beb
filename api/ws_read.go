package api

import (
	"io"
	"time"

	"github.com/gobwas/ws"

	"github.com/spo2/spo2/actors"
)

// readLoop answers pings and close frames and notices dead clients: any frame
// (a pong included) must arrive within two ping intervals. A frame that
// breaks the protocol fails the connection with close code 1002.
func (s *WSServer) readLoop(c *wsConn, sub *actors.Subscriber) {
	defer sub.Close(actors.ReasonClosed)
	for {
		_ = c.conn.SetReadDeadline(time.Now().Add(2 * s.cfg.WSPingInterval))
		h, err := ws.ReadHeader(c.conn)
		if err != nil {
			return
		}
		if why := protocolError(h, c.deflate); why != "" {
			s.deps.Log.Debug("websocket client broke the protocol", "err", why)
			_ = c.writeFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusProtocolError, why)))
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

// protocolError says how a client frame header breaks RFC 6455, or "" when
// it does not: a client frame must be masked, use no reserved bit and no
// reserved opcode, and a control frame must be whole and at most 125 bytes.
// With compression negotiated (deflate), RSV1 may mark the first frame of a
// data message as compressed (RFC 7692), and nowhere else.
func protocolError(h ws.Header, deflate bool) string {
	rsv1, rsv2, rsv3 := ws.RsvBits(h.Rsv)
	switch {
	case !h.Masked:
		return "client frames must be masked"
	case rsv2 || rsv3:
		return "reserved bits set"
	case rsv1 && (!deflate || !h.OpCode.IsData() || h.OpCode == ws.OpContinuation):
		return "reserved bits set"
	case h.OpCode.IsReserved():
		return "reserved opcode"
	case h.OpCode.IsControl() && !h.Fin:
		return "fragmented control frame"
	case h.OpCode.IsControl() && h.Length > 125:
		return "control frame over 125 bytes"
	}
	return ""
}
