// Package wsclient is the harnesses' client of spo2's WebSocket stream:
// dial, read the snapshot up to the synced event, then read events.
package wsclient

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Conn is one WebSocket connection to spo2.
type Conn struct {
	net.Conn
	rw io.ReadWriter
}

type readWriter struct {
	io.Reader
	io.Writer
}

// Dial connects to the WebSocket listener at addr (host:port, path /).
func Dial(ctx context.Context, addr string) (*Conn, error) {
	conn, br, _, err := ws.Dial(ctx, "ws://"+addr+"/")
	if err != nil {
		return nil, fmt.Errorf("websocket dial %s: %w", addr, err)
	}
	c := &Conn{Conn: conn, rw: conn}
	if br != nil {
		// br holds bytes the server sent right behind its handshake.
		c.rw = readWriter{Reader: io.MultiReader(br, conn), Writer: conn}
	}
	return c, nil
}

// Read returns the next text frame (answering pings on the way).
func (c *Conn) Read() ([]byte, error) { return wsutil.ReadServerText(c.rw) }

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
}
