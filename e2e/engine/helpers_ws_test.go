package engine

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/spo2/spo2/e2e/harness"
)

// event is a WebSocket event (harness.Event) with this package's methods.
type event harness.Event

func (e event) String() string { return harness.Event(e).String() }

// eventURL is the URL an event is about.
func (e event) eventURL() string {
	if e.Record != nil {
		return e.Record.URL
	}
	return e.URL
}

func events(evs []harness.Event) []event {
	out := make([]event, len(evs))
	for i, e := range evs {
		out[i] = event(e)
	}
	return out
}

// wsClient is harness.WSClient speaking this package's event type.
type wsClient struct{ *harness.WSClient }

// dialWS opens a WebSocket to u with extra handshake headers without reading from it.
func dialWS(ctx context.Context, u string, header http.Header) (net.Conn, io.Reader, error) {
	return harness.DialWS(ctx, u, header, nil)
}

// connectWS dials u (header: key, value pairs) and starts reading; the
// connection is closed at cleanup.
func connectWS(t *testing.T, u string, header ...string) *wsClient {
	t.Helper()
	var h http.Header
	if len(header) > 0 {
		h = http.Header{}
		for i := 0; i+1 < len(header); i += 2 {
			h.Set(header[i], header[i+1])
		}
	}
	return &wsClient{harness.ConnectWS(t, u, h, nil)}
}

func newWSClient(conn net.Conn, r io.Reader) *wsClient {
	return &wsClient{harness.NewWSClient(conn, r)}
}

// state returns a copy of the events so far, whether the stream ended and
// why, and a channel closed on the next change.
func (c *wsClient) state() ([]event, bool, error, chan struct{}) {
	evs, ended, err, changed := c.State()
	return events(evs), ended, err, changed
}

// all returns every event received so far.
func (c *wsClient) all() []event { return events(c.All()) }

// waitEnd waits up to d for the stream to end and returns why.
func (c *wsClient) waitEnd(d time.Duration) (error, bool) { return c.WaitEnd(d) }

// waitSynced waits for the synced event; see harness.WSClient.WaitSynced.
func (c *wsClient) waitSynced(t *testing.T) map[string]record { t.Helper(); return c.WaitSynced(t) }

// next returns the first event after the cursor that matches, moving the
// cursor past it; it fails the test after d.
func (c *wsClient) next(t *testing.T, d time.Duration, desc string, match func(event) bool) event {
	t.Helper()
	return event(c.Next(t, d, desc, func(e harness.Event) bool { return match(event(e)) }))
}

func summarize(evs []event) string {
	in := make([]harness.Event, len(evs))
	for i, e := range evs {
		in[i] = harness.Event(e)
	}
	return harness.Summarize(in)
}

// closeCode returns the close frame's code when err reports one.
func closeCode(err error) (ws.StatusCode, bool) { return harness.CloseCode(err) }
