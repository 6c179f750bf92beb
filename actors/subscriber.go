package actors

import (
	"sync"
	"time"

	"github.com/spo2/spo2/actors/readmodel"
)

// Subscriber is one stream client's (a WebSocket connection's) view of the
// broadcaster: a snapshot taken when it subscribed, then a bounded queue of
// encoded events. The broadcaster never waits for a subscriber: when the
// queue is full the subscriber is cut, Done closes and Reason says why.
type Subscriber struct {
	snapshot chan *SharedSnapshot
	events   chan []byte
	done     chan struct{}
	once     sync.Once
	reason   string
}

// Disconnect reasons reported by Subscriber.Reason.
const (
	ReasonTooSlow  = "too_slow"
	ReasonShutdown = "shutdown"
	ReasonClosed   = "closed"
)

// NewSubscriber makes a subscriber whose queue holds at most queue events.
func NewSubscriber(queue int) *Subscriber {
	if queue < 1 {
		queue = 1
	}
	return &Subscriber{
		snapshot: make(chan *SharedSnapshot, 1),
		events:   make(chan []byte, queue),
		done:     make(chan struct{}),
	}
}

// Snapshot delivers, once, every record as it was when the subscription took
// effect. Every event after that moment arrives on Events.
func (s *Subscriber) Snapshot() <-chan *SharedSnapshot { return s.snapshot }

// Events delivers each event as its JSON object.
func (s *Subscriber) Events() <-chan []byte { return s.events }

// Done is closed when the subscriber is cut or closed.
func (s *Subscriber) Done() <-chan struct{} { return s.done }

// Reason says why Done closed.
func (s *Subscriber) Reason() string {
	<-s.done
	return s.reason
}

// Close ends the subscription with the given reason. It is idempotent: the
// first reason wins.
func (s *Subscriber) Close(reason string) {
	s.once.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// offer queues one event without blocking; it reports false when the queue is
// full or the subscriber is gone.
func (s *Subscriber) offer(event []byte) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	select {
	case s.events <- event:
		return true
	default:
		return false
	}
}

// snapshotShareAge is how long one snapshot may serve new subscribers while
// no event happens: clients connecting together (after a restart, say) share
// one encoding instead of each encoding every record.
const snapshotShareAge = time.Second

// SharedSnapshot is the read model captured at one moment, encoded once for
// every subscriber that receives it.
type SharedSnapshot struct {
	refs   []readmodel.Ref
	taken  time.Time
	once   sync.Once
	frames [][]byte
}

// Frames returns the snapshot as WebSocket frame payloads: JSON arrays of at
// most perFrame "snapshot" events, the last one ending with {"type":"synced"}.
// The first call encodes; later calls (from other subscribers) reuse it.
func (s *SharedSnapshot) Frames(perFrame int) [][]byte {
	s.once.Do(func() {
		var frame []byte
		n := 0
		for i := range s.refs {
			if n == 0 {
				frame = make([]byte, 0, perFrame*512)
				frame = append(frame, '[')
			} else {
				frame = append(frame, ',')
			}
			ev := Snapshot{Record: s.refs[i].Record()}
			frame = ev.AppendJSON(frame)
			n++
			if n == perFrame {
				s.frames = append(s.frames, append(frame, ']'))
				n = 0
			}
		}
		if n == 0 {
			frame = append(make([]byte, 0, 32), '[')
		} else {
			frame = append(frame, ',')
		}
		s.frames = append(s.frames, append(Synced{}.AppendJSON(frame), ']'))
		s.refs = nil
	})
	return s.frames
}
