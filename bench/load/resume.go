package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/spo2/spo2/bench/internal/clock"
	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/spo2"
	"github.com/spo2/spo2/bench/internal/wsclient"
)

// ResumeResult compares what a client that lost its connection for a while
// downloads when it resumes with ?since= against a fresh snapshot taken at
// the same moment.
type ResumeResult struct {
	DropSeconds     float64 `json:"drop_seconds"`
	Flipped         int     `json:"flipped"`         // URLs turned 200 → 503 while the client was away
	Events          int     `json:"events_replayed"` // events before synced in the resumed stream
	Snapshot        bool    `json:"resume_got_snapshot"`
	ResumeWire      int64   `json:"resume_wire_bytes"`   // frame payloads as received, up to synced
	ResumeBytes     int64   `json:"resume_bytes"`        // decoded
	ResumeSeconds   float64 `json:"resume_seconds"`      // dial → synced
	SnapshotWire    int64   `json:"snapshot_wire_bytes"` // a fresh snapshot right after
	SnapshotBytes   int64   `json:"snapshot_bytes"`      // decoded
	SnapshotSeconds float64 `json:"snapshot_seconds"`    // dial → synced
	Deflate         bool    `json:"deflate"`
}

// resume measures a client that reads its snapshot, drops its connection
// for cfg.ResumeDrop while cfg.ResumeFlip of the fast URLs turn 503, and
// reconnects with since= the seq of its synced event.
func (b *Bench) resume(ctx context.Context, s *spo2.Instance, r *ProbeRun) {
	cfg := b.cfg
	fast := b.farm.IDs(farm.Fast)
	n := int(cfg.ResumeFlip * float64(cfg.URLs))
	if n < 1 || len(fast) == 0 {
		return
	}
	n = min(n, len(fast))
	step := len(fast) / n
	var ids []int
	for i := 0; i < len(fast) && len(ids) < n; i += step {
		ids = append(ids, fast[i])
	}
	slog.Info("websocket resume", "drop", cfg.ResumeDrop, "flipped", len(ids))
	res := &ResumeResult{DropSeconds: cfg.ResumeDrop.Seconds(), Flipped: len(ids)}
	r.Resume = res
	since, _, err := b.readOpening(ctx, s, "", nil)
	if err != nil {
		b.fail("resume: first snapshot", err)
		return
	}
	b.farm.Set(ids, farm.Fail503)
	defer b.farm.Set(ids, farm.Fast)
	if err := clock.Sleep(ctx, cfg.ResumeDrop); err != nil {
		return
	}
	var resumed, fresh openingStats
	if _, resumed, err = b.readOpening(ctx, s, fmt.Sprintf("since=%d", since), res); err != nil {
		b.fail("resume: resumed stream", err)
		return
	}
	if _, fresh, err = b.readOpening(ctx, s, "", nil); err != nil {
		b.fail("resume: fresh snapshot", err)
		return
	}
	res.Events, res.Snapshot = resumed.events, resumed.snapshot
	res.ResumeWire, res.ResumeBytes, res.ResumeSeconds = resumed.wire, resumed.decoded, resumed.seconds
	res.SnapshotWire, res.SnapshotBytes, res.SnapshotSeconds = fresh.wire, fresh.decoded, fresh.seconds
	slog.Info("resume", "events", res.Events, "got_snapshot", res.Snapshot, "resume_wire_bytes", res.ResumeWire,
		"resume_bytes", res.ResumeBytes, "snapshot_wire_bytes", res.SnapshotWire, "snapshot_bytes", res.SnapshotBytes,
		"resume_s", res.ResumeSeconds, "snapshot_s", res.SnapshotSeconds)
}

// openingStats is what one client read up to its synced event.
type openingStats struct {
	events   int  // events before synced
	snapshot bool // they were snapshot events
	wire     int64
	decoded  int64
	seconds  float64
}

// readOpening dials with query, reads up to the synced event and returns
// its seq and what was read; res, when given, records whether deflate was
// agreed.
func (b *Bench) readOpening(ctx context.Context, s *spo2.Instance, query string, res *ResumeResult) (uint64, openingStats, error) {
	var st openingStats
	opts := b.wsOptions()
	opts.Query = query
	start := time.Now()
	c, err := opts.Dial(ctx, s.WSAddr())
	if err != nil {
		return 0, st, err
	}
	defer c.Close()
	if res != nil {
		res.Deflate = c.Deflate()
	}
	frames, err := c.ReadSnapshot(start.Add(time.Minute), true)
	if err != nil {
		return 0, st, err
	}
	st.seconds = time.Since(start).Seconds()
	st.wire, st.decoded = c.WireBytes(), c.DecodedBytes()
	var synced uint64
	for _, f := range frames {
		var evs []wsclient.Event
		if err := json.Unmarshal(f, &evs); err != nil {
			return 0, st, fmt.Errorf("frame is not a JSON array of events: %w (%.120s)", err, f)
		}
		for _, e := range evs {
			switch e.Type {
			case "synced":
				synced = e.Seq
			case "snapshot":
				st.snapshot = true
				st.events++
			default:
				st.events++
			}
		}
	}
	if synced == 0 || !bytes.Contains(frames[len(frames)-1], wsclient.SyncedTag) {
		return 0, st, fmt.Errorf("no synced event with a seq")
	}
	return synced, st, nil
}
