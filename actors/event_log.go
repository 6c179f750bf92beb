package actors

// eventLog keeps the last events the broadcaster published, numbered by
// seq, so that a stream client that lost its connection can be sent what it
// missed instead of a fresh snapshot. It holds at most its capacity; each
// event past that evicts the oldest. Adding an event allocates nothing: the
// ring is allocated once, and an event is kept as the interface value the
// broadcaster received (so a held event costs its own size, nothing more).
// It is owned by the broadcaster: not safe for concurrent use.
type eventLog struct {
	ring []Event
	last uint64 // seq of the newest event; the base before any
	held int    // events in ring, at most len(ring)
}

// newEventLog returns a log of at most capacity events (0: none kept)
// whose first event will be seq base+1.
func newEventLog(capacity int, base uint64) *eventLog {
	return &eventLog{ring: make([]Event, max(capacity, 0)), last: base}
}

// add numbers e with the next seq, keeps it, and returns its seq.
func (l *eventLog) add(e Event) uint64 {
	l.last++
	if n := uint64(len(l.ring)); n > 0 {
		l.ring[l.last%n] = e
		l.held = min(l.held+1, len(l.ring))
	}
	return l.last
}

// Last is the seq of the newest event (the base before any).
func (l *eventLog) Last() uint64 { return l.last }

// after returns the events numbered since+1 to Last, oldest first, in a new
// slice (empty when since is Last), and true. It returns false when one of
// them is no longer held (since is too old) or when since is beyond Last
// (it was not given by this stream): such a client needs a snapshot.
func (l *eventLog) after(since uint64) ([]Event, bool) {
	if since > l.last || l.last-since > uint64(l.held) {
		return nil, false
	}
	out := make([]Event, l.last-since)
	if len(out) == 0 {
		return out, true
	}
	n := uint64(len(l.ring))
	start := (since + 1) % n
	copied := copy(out, l.ring[start:])
	copy(out[copied:], l.ring)
	return out, true
}
