package harness

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// DialWS opens a WebSocket to u (ws:// or wss://; tlsConf is used for wss,
// nil means the system roots) with extra handshake headers, without reading
// from it. The reader it returns holds any bytes the server sent right after
// the handshake; read frames from it, write to the connection. A token goes
// in u as ?token=, or in header as Authorization.
func DialWS(ctx context.Context, u string, header http.Header, tlsConf *tls.Config) (net.Conn, io.Reader, error) {
	d := ws.Dialer{Timeout: 10 * time.Second, TLSConfig: tlsConf}
	if header != nil {
		d.Header = ws.HandshakeHeaderHTTP(header)
	}
	conn, br, _, err := d.Dial(ctx, u)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader = conn
	if br != nil {
		r = br
	}
	return conn, r, nil
}

// WSClient reads a WebSocket stream of SpO₂ events in the background and
// keeps every event. The stream ends on the first frame that is not a text
// frame holding a JSON array of typed event objects in valid UTF-8, on a
// close frame, or on a read error. Next and Rewind are for the test's own
// goroutine; the other methods may be called from any.
type WSClient struct {
	conn net.Conn

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced on each new event or on end
	ended   bool
	endErr  error // wsutil.ClosedError for a close frame, else the read error
	cursor  int   // used by Next
}

// ConnectWS dials u with header (and tlsConf for wss) and starts reading; the
// connection is closed at the test's cleanup. It fails the test when the
// dial fails.
func ConnectWS(t testing.TB, u string, header http.Header, tlsConf *tls.Config) *WSClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, r, err := DialWS(ctx, u, header, tlsConf)
	if err != nil {
		t.Fatalf("WebSocket dial %s: %v", u, err)
	}
	c := NewWSClient(conn, r)
	t.Cleanup(func() { conn.Close() })
	return c
}

// NewWSClient starts reading frames from r (answers go to conn).
func NewWSClient(conn net.Conn, r io.Reader) *WSClient {
	c := &WSClient{conn: conn, changed: make(chan struct{})}
	rw := struct {
		io.Reader
		io.Writer
	}{r, conn}
	go func() {
		for {
			b, op, err := wsutil.ReadServerData(rw)
			if err != nil {
				c.end(err)
				return
			}
			if op != ws.OpText {
				c.end(fmt.Errorf("server sent a %v data frame, want text", op))
				return
			}
			if !utf8.Valid(b) {
				// A browser fails the connection on such a frame.
				c.end(fmt.Errorf("text frame is not valid UTF-8: %.200q", b))
				return
			}
			evs, err := decodeFrame(b)
			if err != nil {
				c.end(err)
				return
			}
			c.add(evs)
		}
	}()
	return c
}

func decodeFrame(b []byte) ([]Event, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("frame is not a JSON array: %v: %.200s", err, b)
	}
	evs := make([]Event, 0, len(raw))
	for _, m := range raw {
		var e Event
		if err := json.Unmarshal(m, &e); err != nil || e.Type == "" {
			return nil, fmt.Errorf("event %.200s is not an object with a type (%v)", m, err)
		}
		evs = append(evs, e)
	}
	return evs, nil
}

// Conn is the underlying connection.
func (c *WSClient) Conn() net.Conn { return c.conn }

func (c *WSClient) add(evs []Event) {
	c.mu.Lock()
	c.events = append(c.events, evs...)
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
}

func (c *WSClient) end(err error) {
	c.mu.Lock()
	if !c.ended {
		c.ended, c.endErr = true, err
		close(c.changed)
		c.changed = make(chan struct{})
	}
	c.mu.Unlock()
}

// State returns a copy of the events so far, whether the stream ended and
// why, and a channel closed on the next change.
func (c *WSClient) State() ([]Event, bool, error, chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Event(nil), c.events...), c.ended, c.endErr, c.changed
}

// All returns every event received so far.
func (c *WSClient) All() []Event {
	evs, _, _, _ := c.State()
	return evs
}

// Rewind moves Next's cursor back to the first event.
func (c *WSClient) Rewind() { c.cursor = 0 }

// Next returns the first event after the cursor that matches, moving the
// cursor past it; it fails the test after d or when the stream ends first.
func (c *WSClient) Next(t testing.TB, d time.Duration, desc string, match func(Event) bool) Event {
	t.Helper()
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		evs, ended, endErr, changed := c.State()
		for i := c.cursor; i < len(evs); i++ {
			if match(evs[i]) {
				c.cursor = i + 1
				return evs[i]
			}
		}
		if ended {
			t.Fatalf("WebSocket ended (%v) before %s; events after cursor: %v", endErr, desc, Summarize(evs[c.cursor:]))
		}
		select {
		case <-changed:
		case <-timeout.C:
			t.Fatalf("no %s within %s; events after cursor: %v", desc, d, Summarize(evs[c.cursor:]))
		}
	}
}

// WaitEnd waits up to d for the stream to end and returns why.
func (c *WSClient) WaitEnd(d time.Duration) (error, bool) {
	timeout := time.NewTimer(d)
	defer timeout.Stop()
	for {
		_, ended, err, changed := c.State()
		if ended {
			return err, true
		}
		select {
		case <-changed:
		case <-timeout.C:
			return nil, false
		}
	}
}

// WaitSynced waits up to 15 s for the synced event and checks that
// everything before it is a snapshot event, each URL once; it returns the
// snapshot records by URL and leaves the cursor just past synced.
func (c *WSClient) WaitSynced(t testing.TB) map[string]Record {
	t.Helper()
	c.Next(t, 15*time.Second, "synced event", func(e Event) bool { return e.Type == "synced" })
	evs := c.All()
	snap := map[string]Record{}
	for i, e := range evs[:c.cursor-1] {
		if e.Type != "snapshot" || e.Record == nil {
			t.Fatalf("event %d before synced is %v, want only snapshot events with a record", i, e)
		}
		if _, dup := snap[e.Record.URL]; dup {
			t.Errorf("snapshot holds %s twice", e.Record.URL)
		}
		snap[e.Record.URL] = *e.Record
	}
	return snap
}

// Summarize shows at most 20 events.
func Summarize(evs []Event) string {
	if len(evs) > 20 {
		return fmt.Sprintf("%v … (%d more)", evs[:20], len(evs)-20)
	}
	return fmt.Sprint(evs)
}

// CloseCode returns the close frame's code when err reports one.
func CloseCode(err error) (ws.StatusCode, bool) {
	var ce wsutil.ClosedError
	if errors.As(err, &ce) {
		return ce.Code, true
	}
	return 0, false
}
