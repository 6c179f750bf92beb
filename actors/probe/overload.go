package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// StallThreshold is the scheduling delay that counts as overload: a
	// goroutine that asked to wake up was kept waiting this long for a CPU.
	StallThreshold = 200 * time.Millisecond
	// OverloadHold is how long the overloaded state lasts after its last
	// sign.
	OverloadHold = 10 * time.Second
	// heartbeat is how often Run measures the scheduling delay.
	heartbeat = 100 * time.Millisecond
	// keptStalls is how many recent stalls Doubtful looks at.
	keptStalls = 64
)

// Overload tells whether SpO₂ itself is too busy for a timeout to say
// anything about a target. Run measures scheduler stalls: how late a
// goroutine that asked to wake up actually runs. A probe that timed out is
// Doubtful when SpO₂ lost a tenth of its timeout (StallThreshold at least)
// to one stall while it ran — seen by the heartbeat, or still going on when
// the probe ended. Running out of local resources (file descriptors, ports,
// socket memory) is also a sign; the prober reports it with Signal.
//
// Time waiting for a pool worker is never a sign: a probe's clock starts
// when a worker starts it.
//
// SpO₂ is overloaded from a sign (a stall of StallThreshold or more, or a
// Signal) until OverloadHold after the last one; entering and leaving are
// logged, one line each. The nil *Overload is never overloaded. Methods are
// safe for concurrent use.
type Overload struct {
	log  *slog.Logger
	now  func() time.Time
	beat atomic.Int64 // when Run last woke, unix nanoseconds; 0 when not running

	mu     sync.Mutex
	stalls [keptStalls]stall // ring of recent stalls
	next   int
	last   time.Time // the latest sign; zero when none yet
	since  time.Time // when the current overload began; zero when none
	reason string    // the first sign of the current overload
}

// stall is a scheduling delay of size, seen at at (when it ended).
type stall struct {
	at   time.Time
	size time.Duration
}

// NewOverload returns a detector that logs to log.
func NewOverload(log *slog.Logger) *Overload {
	return &Overload{log: log, now: time.Now}
}

// Run measures how late a sleeping goroutine wakes, every 100 ms, and
// records every delay of StallThreshold or more (Stalled). It returns when
// ctx ends.
func (o *Overload) Run(ctx context.Context) {
	t := time.NewTimer(heartbeat)
	defer t.Stop()
	defer o.beat.Store(0)
	for {
		slept := time.Now()
		o.beat.Store(slept.UnixNano())
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if late := time.Since(slept) - heartbeat; late >= StallThreshold {
			o.Stalled(late)
		}
		o.State() // ends an overload whose hold has passed, with its log line
		t.Reset(heartbeat)
	}
}

// Stalled records that SpO₂'s goroutines waited d for a CPU, ending now.
func (o *Overload) Stalled(d time.Duration) {
	if o == nil {
		return
	}
	o.mu.Lock()
	o.stalls[o.next] = stall{at: o.now(), size: d}
	o.next = (o.next + 1) % keptStalls
	o.mu.Unlock()
	if d >= StallThreshold {
		o.Signal(fmt.Sprintf("scheduler stalled %s", d.Round(time.Millisecond)))
	}
}

// Signal records a sign of overload now; reason says what (it is logged
// when an overload begins).
func (o *Overload) Signal(reason string) {
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.last = now
	if o.since.IsZero() {
		o.since, o.reason = now, reason
		o.log.Warn("spo2 overloaded: probe timeouts may be inconclusive until it recovers", "reason", reason)
	}
}

// State reports whether SpO₂ is overloaded, since when, and the first sign.
func (o *Overload) State() (overloaded bool, since time.Time, reason string) {
	if o == nil {
		return false, time.Time{}, ""
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.since.IsZero() {
		return false, time.Time{}, ""
	}
	if now := o.now(); now.Sub(o.last) >= OverloadHold {
		o.log.Info("spo2 no longer overloaded", "lasted", now.Sub(o.since).Round(time.Millisecond), "reason", o.reason)
		o.since, o.reason = time.Time{}, ""
		return false, time.Time{}, ""
	}
	return true, o.since, o.reason
}

// Overloaded reports whether SpO₂ is overloaded now.
func (o *Overload) Overloaded() bool {
	ok, _, _ := o.State()
	return ok
}

// Doubtful reports whether a probe that started at start, with the given
// timeout, and ends now lost a tenth of its timeout (StallThreshold at
// least) to one stall of SpO₂'s scheduler: one that ended after start, or
// one still going on.
func (o *Overload) Doubtful(start time.Time, timeout time.Duration) bool {
	if o == nil {
		return false
	}
	need := max(timeout/10, StallThreshold)
	now := o.now()
	if beat := o.beat.Load(); beat != 0 && now.Sub(time.Unix(0, beat))-heartbeat >= need {
		return true // the heartbeat is overdue: stalled right now
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range o.stalls {
		if s.size >= need && !s.at.Before(start) {
			return true
		}
	}
	return false
}
