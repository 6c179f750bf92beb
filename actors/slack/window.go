package slack

import (
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Window is the batch window: it opens with the first change after a quiet
// spell, lasts a fixed time, and remembers which URLs turned failing in it
// (and have not recovered within it). Each window has its own id. The zero
// Window is closed and ready. Not safe for concurrent use.
type Window struct {
	open    bool
	id      uint64
	end     time.Time
	failing map[string]health.State
}

// Open opens a window lasting d from now, unless one is open already.
func (w *Window) Open(now time.Time, d time.Duration) {
	if w.open {
		return
	}
	w.open, w.end = true, now.Add(d)
}

// IsOpen reports whether a window is open.
func (w *Window) IsOpen() bool { return w.open }

// ID returns the id of the current window (open or next to open).
func (w *Window) ID() uint64 { return w.id }

// End returns when the open window ends.
func (w *Window) End() time.Time { return w.end }

// Current reports whether id is the open window.
func (w *Window) Current(id uint64) bool { return w.open && id == w.id }

// Saw records url's new state: failing puts it in the window's failing set,
// healthy takes it out.
func (w *Window) Saw(url string, st health.State) {
	if !st.Failing() {
		delete(w.failing, url)
		return
	}
	if w.failing == nil {
		w.failing = make(map[string]health.State)
	}
	w.failing[url] = st
}

// Forget takes url out of the failing set (it was removed).
func (w *Window) Forget(url string) { delete(w.failing, url) }

// Failing returns how many URLs turned failing in the window so far.
func (w *Window) Failing() int { return len(w.failing) }

// Close ends the window and returns its id and the URLs that turned failing
// in it with their state; the caller owns that map. The next window gets a
// new id.
func (w *Window) Close() (id uint64, failing map[string]health.State) {
	id, failing = w.id, w.failing
	if failing == nil {
		failing = make(map[string]health.State)
	}
	w.open, w.failing = false, nil
	w.id++
	return id, failing
}
