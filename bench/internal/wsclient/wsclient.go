// Package wsclient is the harnesses' client of spo2's WebSocket stream:
// dial, read the snapshot up to the synced event, then read events.
//
// By default the client offers permessage-deflate (without context
// takeover, as the server answers), like browsers do, and inflates every
// message that arrives with RSV1 set.
package wsclient

import (
	"bytes"
	"compress/flate"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gobwas/httphead"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsflate"
)

// Conn is one WebSocket connection to spo2. It is read by one goroutine.
type Conn struct {
	net.Conn
	rw       io.ReadWriter
	deflate  bool
	inflater *wsflate.Reader
	wire     int64
	decoded  int64
}

type readWriter struct {
	io.Reader
	io.Writer
}

// Options change how Dial connects.
type Options struct {
	// NoDeflate dials without offering permessage-deflate: every frame
	// then arrives uncompressed.
	NoDeflate bool
	// Query is the request's query string without "?", e.g. since=42
	// (empty: none).
	Query string
}

// Dial connects to the WebSocket listener at addr (host:port, path /),
// offering permessage-deflate.
func Dial(ctx context.Context, addr string) (*Conn, error) {
	return Options{}.Dial(ctx, addr)
}

// Dial connects to the WebSocket listener at addr (host:port, path /) with
// the options o. Whether compression was agreed is told by Deflate.
func (o Options) Dial(ctx context.Context, addr string) (*Conn, error) {
	var d ws.Dialer
	if !o.NoDeflate {
		d.Extensions = []httphead.Option{wsflate.Parameters{
			ServerNoContextTakeover: true,
			ClientNoContextTakeover: true,
		}.Option()}
	}
	u := "ws://" + addr + "/"
	if o.Query != "" {
		u += "?" + o.Query
	}
	conn, br, hs, err := d.Dial(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("websocket dial %s: %w", addr, err)
	}
	c := &Conn{Conn: conn, rw: conn}
	if br != nil {
		// br holds bytes the server sent right behind its handshake.
		c.rw = readWriter{Reader: io.MultiReader(br, conn), Writer: conn}
	}
	for _, e := range hs.Extensions {
		if bytes.Equal(e.Name, wsflate.ExtensionNameBytes) {
			c.deflate = true
		}
	}
	return c, nil
}

// Deflate tells whether the server agreed to compress its messages.
func (c *Conn) Deflate() bool { return c.deflate }

// WireBytes is the sum of the payloads of the data frames read so far, as
// they crossed the network (compressed when the server compressed them;
// frame headers and control frames not counted).
func (c *Conn) WireBytes() int64 { return c.wire }

// DecodedBytes is the sum of the messages Read returned so far.
func (c *Conn) DecodedBytes() int64 { return c.decoded }

// Read returns the next text message, inflated when it came compressed
// (answering pings on the way). A close frame from the server ends the
// connection with an error.
func (c *Conn) Read() ([]byte, error) {
	var (
		msg        []byte
		started    bool
		compressed bool
	)
	for {
		f, err := ws.ReadFrame(c.rw)
		if err != nil {
			return nil, err
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			pong := ws.MaskFrameInPlace(ws.NewPongFrame(f.Payload))
			if err := ws.WriteFrame(c.rw, pong); err != nil {
				return nil, fmt.Errorf("websocket pong: %w", err)
			}
			continue
		case ws.OpPong:
			continue
		case ws.OpClose:
			code, reason := ws.ParseCloseFrameData(f.Payload)
			return nil, fmt.Errorf("websocket closed by server: %d %s", code, reason)
		case ws.OpText, ws.OpBinary:
			if started {
				return nil, fmt.Errorf("websocket: new message inside a fragmented one")
			}
			started = true
			compressed, _, _ = ws.RsvBits(f.Header.Rsv)
		case ws.OpContinuation:
			if !started {
				return nil, fmt.Errorf("websocket: continuation frame outside a message")
			}
		}
		c.wire += int64(len(f.Payload))
		msg = append(msg, f.Payload...)
		if f.Header.Fin {
			break
		}
	}
	if compressed {
		var err error
		if msg, err = c.inflate(msg); err != nil {
			return nil, err
		}
	}
	c.decoded += int64(len(msg))
	return msg, nil
}

// inflate decompresses one permessage-deflate message.
func (c *Conn) inflate(p []byte) ([]byte, error) {
	src := bytes.NewReader(p)
	if c.inflater == nil {
		c.inflater = wsflate.NewReader(src, func(r io.Reader) wsflate.Decompressor {
			return flate.NewReader(r)
		})
	} else {
		c.inflater.Reset(src)
	}
	var out bytes.Buffer
	out.Grow(len(p) * 8)
	if _, err := out.ReadFrom(c.inflater); err != nil {
		return nil, fmt.Errorf("websocket inflate: %w", err)
	}
	return out.Bytes(), nil
}

// SyncedTag is in the frame that ends the snapshot.
var SyncedTag = []byte(`"synced"`)

// ReadSnapshot reads frames until the synced event and returns them (or
// only counts them when keep is false). It gives up at deadline.
func (c *Conn) ReadSnapshot(deadline time.Time, keep bool) ([][]byte, error) {
	c.SetReadDeadline(deadline)
	defer c.SetReadDeadline(time.Time{})
	var frames [][]byte
	for {
		f, err := c.Read()
		if err != nil {
			return frames, fmt.Errorf("websocket snapshot: %w", err)
		}
		if keep {
			frames = append(frames, f)
		}
		if bytes.Contains(f, SyncedTag) {
			return frames, nil
		}
	}
}

// Event is the part of a status event the harnesses read.
type Event struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	State string `json:"state"`
	Seq   uint64 `json:"seq"`
}
