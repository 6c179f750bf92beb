package actors

import "github.com/spo2/spo2/actors/health"

// Opening is what a stream subscriber is sent before live events: a
// snapshot (*SharedSnapshot) or, for a client that resumed, the events it
// missed (*Replay). Either is a sequence of frames, each a JSON array of
// events, the last ending with synced; Frame(i) returns frame i, or false
// after the last.
type Opening interface {
	Frame(i int) (*SnapshotFrame, bool)
}

// Replay is the events a resuming stream client missed, numbered from the
// seq after the one it gave, as its label selector shows them, then synced
// with the seq its live events continue from. Events are encoded a frame
// (at most SnapshotFrameRecords events) at a time as the client asks for
// them. It is read by one goroutine, frames in order.
type Replay struct {
	events []Event
	first  uint64 // seq of events[0]
	synced uint64
	sel    health.Selector
	next   int
	frames int
	done   bool
}

// newReplay returns the replay of events, numbered from first, ending with
// synced at seq synced.
func newReplay(events []Event, first, synced uint64, sel health.Selector) *Replay {
	return &Replay{events: events, first: first, synced: synced, sel: sel}
}

// Frame returns the next frame; i must be the number of frames returned so
// far.
func (r *Replay) Frame(i int) (*SnapshotFrame, bool) {
	if r.done || i != r.frames {
		return nil, false
	}
	frame := []byte{'['}
	for n := 0; r.next < len(r.events) && n < SnapshotFrameRecords; r.next++ {
		e, seq := r.events[r.next], r.first+uint64(r.next)
		switch judge(r.sel, e) {
		case pass:
			frame = e.AppendJSON(frame, seq)
		case unmatched:
			frame = unmatchedRemoval(e).AppendJSON(frame, seq)
		default:
			continue
		}
		frame = append(frame, ',')
		n++
	}
	if r.next == len(r.events) {
		frame = Synced{}.AppendJSON(frame, r.synced)
		r.done, r.events = true, nil
	} else {
		frame = frame[:len(frame)-1]
	}
	r.frames++
	return &SnapshotFrame{Payload: append(frame, ']')}, true
}
