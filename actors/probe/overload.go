package probe

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

const (
	// StallThreshold is the scheduling delay that counts as overload: a
	// goroutine that asked to wake up was kept waiting this long for a CPU.
	StallThreshold = 200 * time.Millisecond
	// OverloadHold is how long overload lasts after its last sign.
	OverloadHold = 10 * time.Second
	// heartbeat is how often Run measures the scheduling delay.
	heartbeat = 100 * time.Millisecond
)

// Overload tells whether SpO₂ itself is too busy for a timeout to say
// anything about a target. Signs of overload are a stalled scheduler (Run
// measures it) and running out of local resources (file descriptors,
// ports, memory for sockets: the prober reports those); overload lasts
// OverloadHold after the last sign. A probe that timed out while SpO₂ was
// overloaded — from OverloadHold before it started until it ended — is
// inconclusive (Doubtful), and is not counted against its target.
//
// Time waiting for a pool worker is never a sign: a probe's clock starts
// when a worker starts it.
//
// Entering and leaving overload are logged, one line each. The nil
// *Overload is never overloaded. Methods are safe for concurrent use.
type Overload struct {
	log *slog.Logger
	now func() time.Time

	mu     sync.Mutex
	last   time.Time // the latest sign; zero when none yet
	since  time.Time // when the current overload began; zero when none
	reason string    // the first sign of the current overload
}

// NewOverload returns a detector that logs to log.
func NewOverload(log *slog.Logger) *Overload {
	return &Overload{log: log, now: time.Now}
}

// Run measures how late a sleeping goroutine wakes, every 100 ms, and
// signals overload when it is StallThreshold late or more. It returns when
// ctx ends.
func (o *Overload) Run(ctx context.Context) {
	t := time.NewTimer(heartbeat)
	defer t.Stop()
	for {
		slept := time.Now()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if late := time.Since(slept) - heartbeat; late >= StallThreshold {
			o.Signal(fmt.Sprintf("scheduler stalled %s", late.Round(time.Millisecond)))
		}
		o.State() // ends an overload whose hold has passed, with its log line
		t.Reset(heartbeat)
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
		o.log.Warn("spo2 overloaded: probe timeouts are inconclusive until it recovers", "reason", reason)
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

// Doubtful reports whether a probe that started at start and ends now ran
// while SpO₂ was overloaded: a sign came at most OverloadHold before start,
// or after it.
func (o *Overload) Doubtful(start time.Time) bool {
	if o == nil {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return !o.last.IsZero() && !o.last.Before(start.Add(-OverloadHold))
}
