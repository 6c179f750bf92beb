package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/bench/internal/wsclient"
)

// SnapshotResult times one new client's snapshot.
type SnapshotResult struct {
	Seconds   float64 `json:"seconds"`
	Records   int     `json:"records"`
	Frames    int     `json:"frames"`
	Bytes     int     `json:"bytes"`      // decoded JSON
	WireBytes int64   `json:"wire_bytes"` // frame payloads as received
	Deflate   bool    `json:"deflate"`    // permessage-deflate agreed
	Expected  int     `json:"expected"`
	FirstByte float64 `json:"first_frame_seconds"`
}

// MeasureSnapshot connects one client (dialled with opts) and times dial →
// synced.
func MeasureSnapshot(ctx context.Context, addr string, opts wsclient.Options, expected int, limit time.Duration) (r SnapshotResult, err error) {
	r = SnapshotResult{Expected: expected}
	start := time.Now()
	c, err := opts.Dial(ctx, addr)
	if err != nil {
		return r, err
	}
	defer c.Close()
	r.Deflate = c.Deflate()
	defer func() { r.WireBytes = c.WireBytes() }() // on every return
	c.SetReadDeadline(start.Add(limit))
	first, err := c.Read()
	if err != nil {
		return r, fmt.Errorf("websocket first frame: %w", err)
	}
	r.FirstByte = time.Since(start).Seconds()
	frames := [][]byte{first}
	if !bytes.Contains(first, wsclient.SyncedTag) {
		rest, err := c.ReadSnapshot(start.Add(limit), true)
		frames = append(frames, rest...)
		if err != nil {
			return r, err
		}
	}
	r.Seconds = time.Since(start).Seconds()
	r.Frames = len(frames)
	for _, f := range frames {
		r.Bytes += len(f)
		var evs []wsclient.Event
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
	DeflateClients  int     `json:"deflate_clients"`       // connections that agreed permessage-deflate
	FirstError      string  `json:"first_error,omitempty"`
}

// MeasureFanOut connects clients dialled with opts (each reads its snapshot to the end and
// then keeps reading, as a dashboard does), waits at most connectLimit for
// them, then calls flip and waits until each connected client has seen a
// status event with state want for every URL in flipped, or until limit.
func MeasureFanOut(ctx context.Context, addr string, opts wsclient.Options, clients int, flipped []string, want string, flip func(), connectLimit, limit time.Duration) FanOutResult {
	r := FanOutResult{Clients: clients, Flipped: len(flipped)}
	index := make(map[string]int, len(flipped))
	for i, u := range flipped {
		index[u] = i
	}
	var (
		mu        sync.Mutex
		conns     []*wsclient.Conn
		closing   atomic.Bool
		connected atomic.Int64
		complete  atomic.Int64
		dropped   atomic.Int64
		deflated  atomic.Int64
		lastDone  atomic.Int64
		flipAt    atomic.Int64 // unix ns, 0 before the flip
		got       = make([]atomic.Int64, clients)
		wg        sync.WaitGroup
	)
	for i := range got {
		got[i].Store(-1)
	}
	fail := func(err error) {
		mu.Lock()
		r.FirstError = firstOf(r.FirstError, err.Error())
		mu.Unlock()
	}
	start := time.Now()
	end := start.Add(connectLimit + limit)
	sem := make(chan struct{}, 8)
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			c, err := opts.Dial(ctx, addr)
			if err != nil {
				<-sem
				fail(err)
				return
			}
			if c.Deflate() {
				deflated.Add(1)
			}
			mu.Lock()
			if closing.Load() {
				mu.Unlock()
				c.Close()
				<-sem
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			c.SetReadDeadline(end)
			_, err = c.ReadSnapshot(end, false)
			<-sem
			if err != nil {
				if !closing.Load() {
					fail(fmt.Errorf("client %d snapshot: %w", i, err))
				}
				return
			}
			if flipAt.Load() != 0 {
				return // connected too late to be counted
			}
			connected.Add(1)
			got[i].Store(0)
			seen := make([]bool, len(flipped))
			n := 0
			for n < len(flipped) {
				f, err := c.Read()
				if err != nil {
					if !closing.Load() {
						dropped.Add(1)
						fail(fmt.Errorf("client %d: %w", i, err))
					}
					return
				}
				if !bytes.Contains(f, []byte(`"status"`)) {
					continue
				}
				var evs []wsclient.Event
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
				got[i].Store(int64(n))
			}
			complete.Add(1)
			if at := flipAt.Load(); at != 0 {
				d := time.Now().UnixNano() - at
				for {
					old := lastDone.Load()
					if d <= old || lastDone.CompareAndSwap(old, d) {
						break
					}
				}
			}
		}()
	}
	// Wait for every client to have its snapshot, or for connectLimit.
	connectEnd := start.Add(connectLimit)
	for int(connected.Load()) < clients && time.Now().Before(connectEnd) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	r.ConnectSeconds = time.Since(start).Seconds()
	flipAt.Store(time.Now().UnixNano())
	r.Connected = int(connected.Load())
	flip()
	flipEnd := time.Now().Add(limit)
	for int(complete.Load()) < r.Connected && time.Now().Before(flipEnd) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	closing.Store(true)
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	wg.Wait()
	r.Complete = int(complete.Load())
	r.Connected = max(r.Connected, int(connected.Load()))
	r.Disconnected = int(dropped.Load())
	r.DeflateClients = int(deflated.Load())
	r.DeliverySeconds = time.Duration(lastDone.Load()).Seconds()
	r.MinReceived = len(flipped)
	for i := range got {
		if n := got[i].Load(); n >= 0 && int(n) < r.MinReceived {
			r.MinReceived = int(n)
		}
	}
	if r.Connected == 0 {
		r.MinReceived = 0
	}
	return r
}

func firstOf(first, next string) string {
	if first != "" {
		return first
	}
	return next
}
