package actors

import (
	"sync"
	"sync/atomic"
)

// Subscriber is one stream client's (a WebSocket connection's) view of the
// broadcaster: an opening (a snapshot taken when it subscribed, or the events
// it missed), then a bounded queue of encoded events. The broadcaster never
// waits for a subscriber: when the queue is full the subscriber is cut, Done
// closes and Reason says why.
//
// Until its client calls Opened, the subscriber is still sending its
// opening (a snapshot of 100,000 records takes seconds): the events of that
// time wait in a backlog of up to openingBacklog events instead of the
// queue, so that a burst of changes during a long snapshot does not cut a
// client that reads as fast as it can.
type Subscriber struct {
	opening chan Opening
	events  chan []byte
	done    chan struct{}
	once    sync.Once
	reason  string

	opened         atomic.Bool
	mu             sync.Mutex // guards backlog, and opened's change
	backlog        [][]byte
	openingBacklog int
}

// Disconnect reasons reported by Subscriber.Reason.
const (
	ReasonTooSlow  = "too_slow"
	ReasonShutdown = "shutdown"
	ReasonClosed   = "closed"
)

// NewSubscriber makes a subscriber whose queue holds at most queue events,
// and at most max(openingBacklog, queue) while its opening is being sent.
func NewSubscriber(queue, openingBacklog int) *Subscriber {
	if queue < 1 {
		queue = 1
	}
	return &Subscriber{
		opening:        make(chan Opening, 1),
		events:         make(chan []byte, queue),
		done:           make(chan struct{}),
		openingBacklog: max(openingBacklog, queue),
	}
}

// Opened tells that the opening was sent, and returns the events that came
// meanwhile, in order; every later event arrives on Events.
func (s *Subscriber) Opened() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opened.Store(true)
	b := s.backlog
	s.backlog = nil
	return b
}

// Opening delivers, once, what the subscriber gets first: every record as it
// was when the subscription took effect, or the events it missed until
// then. Every event after that moment arrives on Events.
func (s *Subscriber) Opening() <-chan Opening { return s.opening }

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

// offer queues one event without blocking; it reports false when the queue
// (or the opening's backlog) is full or the subscriber is gone.
func (s *Subscriber) offer(event []byte) bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if !s.opened.Load() {
		s.mu.Lock()
		if !s.opened.Load() {
			ok := len(s.backlog) < s.openingBacklog
			if ok {
				s.backlog = append(s.backlog, event)
			}
			s.mu.Unlock()
			return ok
		}
		s.mu.Unlock()
	}
	select {
	case s.events <- event:
		return true
	default:
		return false
	}
}
