// Package memory holds what SpO₂ does about its process's memory outside the
// actors: returning the heap's free pages to the operating system once a
// burst of registrations or removals has settled, and a default soft memory
// limit taken from the container's.
package memory

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"
)

// Trimmer returns free memory to the operating system after bursts. It
// samples Count (the number of registered URLs) every Poll; once Count has
// moved by at least Step since the last trim (or since Run started) and then
// held still for one more sample, it calls Trim once. Between bursts it does
// nothing, so the runtime's own scavenger handles the steady state.
//
// A burst leaves the heap's garbage, and the heap's growth room, resident:
// the runtime returns them only slowly. A trim costs one full collection.
type Trimmer struct {
	Count func() int
	Step  int           // 10,000 when 0
	Poll  time.Duration // 1 s when 0
	// Trim returns memory; debug.FreeOSMemory when nil.
	Trim func()
	Log  *slog.Logger // nil: no log
}

// Run samples until ctx ends.
func (t *Trimmer) Run(ctx context.Context) {
	poll := t.Poll
	if poll <= 0 {
		poll = time.Second
	}
	tick := time.NewTicker(poll)
	defer tick.Stop()
	w := watch{step: t.Step, base: t.Count(), last: -1}
	if w.step <= 0 {
		w.step = 10_000
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n := t.Count()
		if !w.due(n) {
			continue
		}
		start := time.Now()
		if t.Trim != nil {
			t.Trim()
		} else {
			debug.FreeOSMemory()
		}
		if t.Log != nil {
			t.Log.Info("memory returned to the OS after a burst", "urls", n, "took", time.Since(start).Round(time.Millisecond))
		}
	}
}

// watch decides when a burst has settled.
type watch struct {
	step int
	base int // the count at the last trim
	last int // the previous sample; -1 before the first
}

// due takes one sample and reports whether to trim now: the count is at
// least step away from base and equal to the previous sample.
func (w *watch) due(n int) bool {
	settled := n == w.last
	w.last = n
	if !settled || abs(n-w.base) < w.step {
		return false
	}
	w.base = n
	return true
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}
