package actors

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// checkerMailbox is the mailbox of a URL checker: protoactor's mailbox
// contract, sized for an actor that holds one message at a time and lives by
// the hundred thousand.
//
// Messages are handled on the goroutine that posts them when the mailbox is
// idle (a probe's result on the pool worker that ran the probe, a stop on the
// supervisor's goroutine), one at a time and in order; a message posted while
// another is handled waits for the handling goroutine to pick it up. System
// messages go before user messages, and user messages wait while the mailbox
// is suspended (a failed checker waiting for its supervisor's decision). A
// panic in a handler is escalated to the supervisor and the mailbox carries
// on with the next message. Message batches are not unpacked: a checker is
// never sent one.
//
// Its idle cost is one 56-byte struct: the first queued user message is
// held inline, so the usual probe result is posted without an allocation,
// and further messages (rare: a message posted while another is handled)
// go to an overflow let go of once drained.
type checkerMailbox struct {
	mu        sync.Mutex
	running   bool // a goroutine is handling messages
	suspended bool
	hasFirst  bool
	first     any              // the oldest queued user message, when hasFirst
	more      *mailboxOverflow // further user messages and system messages; nil when none
	invoker   actor.MessageInvoker
}

// mailboxOverflow holds the messages a checker's mailbox cannot hold inline.
type mailboxOverflow struct {
	user   []any // after first, in order
	system []any
}

var _ actor.Mailbox = (*checkerMailbox)(nil)

func newCheckerMailbox() actor.Mailbox {
	return &checkerMailbox{}
}

// PostUserMessage queues message and handles the queue if nobody does.
func (m *checkerMailbox) PostUserMessage(message any) {
	m.mu.Lock()
	if !m.hasFirst {
		m.first, m.hasFirst = message, true
	} else {
		m.overflow().user = append(m.more.user, message)
	}
	m.drainOrLeave()
}

// PostSystemMessage queues message ahead of user messages and handles the
// queue if nobody does.
func (m *checkerMailbox) PostSystemMessage(message any) {
	m.mu.Lock()
	m.overflow().system = append(m.more.system, message)
	m.drainOrLeave()
}

// overflow returns m.more, made when needed; with mu held.
func (m *checkerMailbox) overflow() *mailboxOverflow {
	if m.more == nil {
		m.more = &mailboxOverflow{}
	}
	return m.more
}

// drainOrLeave is called with mu held and releases it: it handles every
// queued message unless another goroutine already does.
func (m *checkerMailbox) drainOrLeave() {
	if m.running {
		m.mu.Unlock()
		return
	}
	m.running = true
	for {
		msg, system, ok := m.next()
		if !ok {
			m.running = false
			m.mu.Unlock()
			return
		}
		m.mu.Unlock()
		m.handle(msg, system)
		m.mu.Lock()
	}
}

// next pops the next message to handle, with mu held.
func (m *checkerMailbox) next() (msg any, system, ok bool) {
	if o := m.more; o != nil && len(o.system) > 0 {
		msg = o.system[0]
		o.system[0] = nil
		o.system = o.system[1:]
		m.tidy()
		return msg, true, true
	}
	if m.suspended || !m.hasFirst {
		return nil, false, false
	}
	msg = m.first
	if o := m.more; o != nil && len(o.user) > 0 {
		m.first = o.user[0]
		o.user[0] = nil
		o.user = o.user[1:]
		m.tidy()
	} else {
		m.first, m.hasFirst = nil, false
	}
	return msg, false, true
}

// tidy lets the overflow go once it is empty; with mu held.
func (m *checkerMailbox) tidy() {
	if o := m.more; len(o.user) == 0 && len(o.system) == 0 {
		m.more = nil
	}
}

// handle hands one message to the actor; a panic is escalated to the
// supervisor, which suspends this mailbox until it decides.
func (m *checkerMailbox) handle(msg any, system bool) {
	defer func() {
		if r := recover(); r != nil {
			m.invoker.EscalateFailure(r, msg)
		}
	}()
	if !system {
		m.invoker.InvokeUserMessage(msg)
		return
	}
	switch msg.(type) {
	case *actor.SuspendMailbox:
		m.setSuspended(true)
	case *actor.ResumeMailbox:
		m.setSuspended(false)
	default:
		m.invoker.InvokeSystemMessage(msg)
	}
}

func (m *checkerMailbox) setSuspended(s bool) {
	m.mu.Lock()
	m.suspended = s
	m.mu.Unlock()
}

// RegisterHandlers keeps the actor's invoker; the dispatcher is not used:
// messages are handled on the posting goroutine.
func (m *checkerMailbox) RegisterHandlers(invoker actor.MessageInvoker, _ actor.Dispatcher) {
	m.invoker = invoker
}

// Start does nothing: the mailbox has no middleware to start.
func (m *checkerMailbox) Start() {}

// UserMessageCount returns the number of queued user messages.
func (m *checkerMailbox) UserMessageCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	if m.hasFirst {
		n = 1
	}
	if m.more != nil {
		n += len(m.more.user)
	}
	return n
}
