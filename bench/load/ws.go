package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

type wsConn struct {
	net.Conn
	rw io.ReadWriter
}

type readWriter struct {
	io.Reader
	io.Writer
}

func dialWS(ctx context.Context, addr string) (*wsConn, error) {
	conn, br, _, err := ws.Dial(ctx, "ws://"+addr+"/")
	if err != nil {
		return nil, fmt.Errorf("websocket dial %s: %w", addr, err)
	}
	c := &wsConn{Conn: conn, rw: conn}
	if br != nil {
		// br holds bytes the server sent right behind its handshake.
		c.rw = readWriter{Reader: io.MultiReader(br, conn), Writer: conn}
	}
	return c, nil
}

// read returns the next text frame (answering pings on the way).
func (c *wsConn) read() ([]byte, error) { return wsutil.ReadServerText(c.rw) }

var syncedTag = []byte(`"synced"`)

// readSnapshot reads frames until the synced event and returns them.
func (c *wsConn) readSnapshot(deadline time.Time) ([][]byte, error) {
	c.SetReadDeadline(deadline)
	defer c.SetReadDeadline(time.Time{})
	var frames [][]byte
	for {
		f, err := c.read()
		if err != nil {
			return frames, fmt.Errorf("websocket snapshot after %d frames: %w", len(frames), err)
		}
		frames = append(frames, f)
		if bytes.Contains(f, syncedTag) {
			return frames, nil
		}
	}
}

type wsEvent struct {
	Type  string `json:"type"`
	URL   string `json:"url"`
	State string `json:"state"`
}

// SnapshotResult times one new client's snapshot.
type SnapshotResult struct {
	Seconds   float64 `json:"seconds"`
	Records   int     `json:"records"`
	Frames    int     `json:"frames"`
	Bytes     int     `json:"bytes"`
	Expected  int     `json:"expected"`
	FirstByte float64 `json:"first_frame_seconds"`
}

// MeasureSnapshot connects one client and times dial → synced.
func MeasureSnapshot(ctx context.Context, addr string, expected int, limit time.Duration) (SnapshotResult, error) {
	r := SnapshotResult{Expected: expected}
	start := time.Now()
	c, err := dialWS(ctx, addr)
	if err != nil {
		return r, err
	}
	defer c.Close()
	c.SetReadDeadline(start.Add(limit))
	first, err := c.read()
	if err != nil {
		return r, fmt.Errorf("websocket first frame: %w", err)
	}
	r.FirstByte = time.Since(start).Seconds()
	frames := [][]byte{first}
	if !bytes.Contains(first, syncedTag) {
		rest, err := c.readSnapshot(start.Add(limit))
		frames = append(frames, rest...)
		if err != nil {
			return r, err
		}
	}
	r.Seconds = time.Since(start).Seconds()
	r.Frames = len(frames)
	for _, f := range frames {
		r.Bytes += len(f)
		var evs []wsEvent
		if err := json.Unmarshal(f, &evs); err != nil {
			return r, fmt.Errorf("websocket frame is not a JSON array of events: %w (%.120s)", err, f)
		}
		for _, e := range evs {
			if e.Type == "snapshot" {
				r.Records++
			}
		}
	}
	return r, nil
}

// FanOutResult says whether every client received every status event.
type FanOutResult struct {
	Clients         int     `json:"clients"`
	Connected       int     `json:"connected"`
	ConnectSeconds  float64 `json:"connect_seconds"`
	Flipped         int     `json:"flipped"`
	Complete        int     `json:"clients_complete"`
	MinReceived     int     `json:"min_received"`
	Disconnected    int     `json:"disconnected"`
	DeliverySeconds float64 `json:"last_delivery_seconds"` // flip → last client complete
	FirstError      string  `json:"first_error,omitempty"`
}

// MeasureFanOut connects clients (reading each snapshot to its end), then
// calls flip and waits until each client has seen a status event with state
// want for every URL in flipped, or until limit.
func MeasureFanOut(ctx context.Context, addr string, clients int, flipped []string, want string, flip func(), limit time.Duration) FanOutResult {
	r := FanOutResult{Clients: clients, Flipped: len(flipped)}
	index := make(map[string]int, len(flipped))
	for i, u := range flipped {
		index[u] = i
	}
	conns := make([]*wsConn, clients)
	start := time.Now()
	var mu sync.Mutex
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := dialWS(ctx, addr)
			if err == nil {
				_, err = c.readSnapshot(time.Now().Add(limit))
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.FirstError = firstOf(r.FirstError, err.Error())
				if c != nil {
					c.Close()
				}
				return
			}
			conns[i] = c
			r.Connected++
		}()
	}
	wg.Wait()
	r.ConnectSeconds = time.Since(start).Seconds()

	var complete, disconnected atomic.Int64
	var lastDone atomic.Int64
	got := make([]int, clients)
	flipAt := time.Now()
	deadline := flipAt.Add(limit)
	for i, c := range conns {
		if c == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			seen := make([]bool, len(flipped))
			n := 0
			c.SetReadDeadline(deadline)
			for n < len(flipped) {
				f, err := c.read()
				if err != nil {
					if time.Now().Before(deadline) {
						disconnected.Add(1)
						mu.Lock()
						r.FirstError = firstOf(r.FirstError, fmt.Sprintf("client %d: %v", i, err))
						mu.Unlock()
					}
					break
				}
				if !bytes.Contains(f, []byte(`"status"`)) {
					continue
				}
				var evs []wsEvent
				if json.Unmarshal(f, &evs) != nil {
					continue
				}
				for _, e := range evs {
					if e.Type != "status" || e.State != want {
						continue
					}
					if j, ok := index[e.URL]; ok && !seen[j] {
						seen[j] = true
						n++
					}
				}
			}
			got[i] = n
			if n == len(flipped) {
				complete.Add(1)
				d := int64(time.Since(flipAt))
				for {
					old := lastDone.Load()
					if d <= old || lastDone.CompareAndSwap(old, d) {
						break
					}
				}
			}
		}()
	}
	flip()
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	r.Complete = int(complete.Load())
	r.Disconnected = int(disconnected.Load())
	r.DeliverySeconds = time.Duration(lastDone.Load()).Seconds()
	r.MinReceived = len(flipped)
	for i, c := range conns {
		if c != nil && got[i] < r.MinReceived {
			r.MinReceived = got[i]
		}
	}
	if r.Connected == 0 {
		r.MinReceived = 0
	}
	return r
}
