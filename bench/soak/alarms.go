package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/spo2/spo2/bench/internal/wsclient"
)

// Alarms follows spo2's WebSocket stream and records every healthy-fleet URL
// that was ever reported in a state other than healthy: with every healthy
// target answering 200 at once, each one is a false alarm.
type Alarms struct {
	healthy map[string]bool

	mu          sync.Mutex
	falseURLs   map[string]bool
	falseEvents int
	byState     map[string]int // false alarms by the state reported
	statusEvts  int            // every status event, hostile URLs included
	reconnects  int
	lastErr     string
	done        chan struct{}
}

// streamEvent is the part of a stream event read here; snapshot events carry
// the record, status events their fields flat.
type streamEvent struct {
	Type   string `json:"type"`
	URL    string `json:"url"`
	State  string `json:"state"`
	Record *struct {
		URL    string `json:"url"`
		Status struct {
			State string `json:"state"`
		} `json:"status"`
	} `json:"record"`
}

// WatchAlarms connects to the WebSocket listener at addr, reads its snapshot
// up to synced, and then follows the stream in the background until ctx ends,
// reconnecting (at most 20 times) when the connection drops.
func WatchAlarms(ctx context.Context, addr string, healthy []string) (*Alarms, error) {
	a := &Alarms{healthy: make(map[string]bool, len(healthy)), falseURLs: map[string]bool{}, byState: map[string]int{}, done: make(chan struct{})}
	for _, u := range healthy {
		a.healthy[u] = true
	}
	c, err := a.connect(ctx, addr)
	if err != nil {
		return nil, err
	}
	go a.follow(ctx, addr, c)
	return a, nil
}

func (a *Alarms) connect(ctx context.Context, addr string) (*wsclient.Conn, error) {
	c, err := wsclient.Dial(ctx, addr)
	if err != nil {
		return nil, err
	}
	frames, err := c.ReadSnapshot(time.Now().Add(time.Minute), true)
	if err != nil {
		c.Close()
		return nil, err
	}
	for _, f := range frames {
		a.frame(f)
	}
	return c, nil
}

func (a *Alarms) follow(ctx context.Context, addr string, c *wsclient.Conn) {
	defer close(a.done)
	stop := context.AfterFunc(ctx, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		c.Close()
	})
	defer stop()
	for attempt := 0; ; {
		f, err := c.Read()
		if err == nil {
			a.frame(f)
			continue
		}
		c.Close()
		if ctx.Err() != nil {
			return
		}
		a.mu.Lock()
		a.reconnects++
		a.lastErr = err.Error()
		a.mu.Unlock()
		slog.Warn("websocket stream dropped; reconnecting", "err", err)
		for {
			if attempt++; attempt > 20 || ctx.Err() != nil {
				return
			}
			nc, err := a.connect(ctx, addr)
			if err == nil {
				a.mu.Lock()
				c = nc
				a.mu.Unlock()
				if ctx.Err() != nil { // ended while connecting: AfterFunc closed the old one
					nc.Close()
					return
				}
				break
			}
			time.Sleep(time.Second)
		}
	}
}

var (
	statusTag   = []byte(`"status"`)
	snapshotTag = []byte(`"snapshot"`)
)

func (a *Alarms) frame(f []byte) {
	if !bytes.Contains(f, statusTag) && !bytes.Contains(f, snapshotTag) {
		return
	}
	var evs []streamEvent
	if json.Unmarshal(f, &evs) != nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, e := range evs {
		url, state := e.URL, e.State
		switch e.Type {
		case "status":
			a.statusEvts++
		case "snapshot":
			if e.Record == nil {
				continue
			}
			url, state = e.Record.URL, e.Record.Status.State
		default:
			continue
		}
		if !a.healthy[url] || state == "healthy" || state == "pending" {
			continue
		}
		a.falseURLs[url] = true
		a.falseEvents++
		a.byState[state]++
	}
}

// AlarmCounts is what the stream showed.
type AlarmCounts struct {
	FalseAlarmURLs   int            `json:"false_alarm_urls"`
	FalseAlarmEvents int            `json:"false_alarm_events"`
	ByState          map[string]int `json:"false_alarms_by_state,omitempty"`
	StatusEvents     int            `json:"status_events"`
	Reconnects       int            `json:"reconnects"`
	LastError        string         `json:"last_error,omitempty"`
}

// Counts returns the figures so far.
func (a *Alarms) Counts() AlarmCounts {
	a.mu.Lock()
	defer a.mu.Unlock()
	by := make(map[string]int, len(a.byState))
	for k, v := range a.byState {
		by[k] = v
	}
	return AlarmCounts{FalseAlarmURLs: len(a.falseURLs), FalseAlarmEvents: a.falseEvents, ByState: by,
		StatusEvents: a.statusEvts, Reconnects: a.reconnects, LastError: a.lastErr}
}

// Wait returns when the follower has stopped (after ctx ended), or after limit.
func (a *Alarms) Wait(limit time.Duration) {
	select {
	case <-a.done:
	case <-time.After(limit):
	}
}
