package history

import (
	"sync"
)

// Log is the bounded history of one URL: its last changes, up to its limit,
// the oldest dropped first. Its writer (the URL's checker) and any number
// of readers may use it at once: its methods are safe for concurrent use,
// and a nil *Log is an empty history. Its memory grows with its changes (a few doublings
// up to the limit) and is never shared between URLs.
type Log struct {
	mu    sync.Mutex
	limit uint16
	start uint16   // index of the oldest change once buf is full
	buf   []Change // len(buf) changes; once len(buf) == limit, a ring from start
}

// New returns an empty log keeping the last limit changes (DefaultLimit
// when limit is 0 or less, MaxLimit at most). It allocates no room for
// changes until the first one.
func New(limit int) *Log {
	if limit <= 0 {
		limit = DefaultLimit
	}
	return &Log{limit: uint16(min(limit, MaxLimit))}
}

// Add records c as the newest change. It allocates only when the log grows
// (never once it holds limit changes); it takes only the log's own lock.
func (l *Log) Add(c Change) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.buf)
	if n < int(l.limit) {
		if n == cap(l.buf) {
			grown := make([]Change, n, min(max(2*n, 2), int(l.limit)))
			copy(grown, l.buf)
			l.buf = grown
		}
		l.buf = append(l.buf, c)
		return
	}
	l.buf[l.start] = c
	l.start = uint16((int(l.start) + 1) % n)
}

// Len returns how many changes the log holds.
func (l *Log) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buf)
}

// Limit returns how many changes the log keeps at most.
func (l *Log) Limit() int {
	if l == nil {
		return 0
	}
	return int(l.limit)
}

// Newest returns a copy of the changes, newest first.
func (l *Log) Newest() []Change {
	out := make([]Change, 0, l.Len())
	l.each(func(c Change) bool { out = append(out, c); return true })
	return out
}

// AppendJSON appends the changes as a JSON array, newest first ("[]" for an
// empty log).
func (l *Log) AppendJSON(b []byte) []byte {
	b = append(b, '[')
	first := true
	l.each(func(c Change) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = c.AppendJSON(b)
		return true
	})
	return append(b, ']')
}

// each calls f with every change, newest first, under the log's lock, until
// f returns false.
func (l *Log) each(f func(Change) bool) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.buf)
	for i := range n {
		// The newest change sits just before start (at the end before the
		// log is full, when start is 0).
		j := (int(l.start) - 1 - i + 2*n) % n
		if !f(l.buf[j]) {
			return
		}
	}
}
