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
// Its idle cost is one small struct; the first queued user message is held
// inline, so the usual probe result is posted without an allocation.
type checkerMailbox struct {
	mu        sync.Mutex
	running   bool // a goroutine is handling messages
	suspended bool
	user      []any // queued user messages; user[:0] of userBuf when few
	userBuf   [1]any
	system    []any // queued system messages; nil when none
	invoker   actor.MessageInvoker
}

var _ actor.Mailbox = (*checkerMailbox)(nil)

func newCheckerMailbox() actor.Mailbox {
	m := &checkerMailbox{}
	m.user = m.userBuf[:0]
	return m
}

// PostUserMessage queues message and handles the queue if nobody does.
func (m *checkerMailbox) PostUserMessage(message any) {
	m.mu.Lock()
	m.user = append(m.user, message)
	m.drainOrLeave()
}

// PostSystemMessage queues message ahead of user messages and handles the
// queue if nobody does.
func (m *checkerMailbox) PostSystemMessage(message any) {
	m.mu.Lock()
	m.system = append(m.system, message)
	m.drainOrLeave()
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
	if len(m.system) > 0 {
		msg = m.system[0]
		m.system[0] = nil
		m.system = m.system[1:]
		if len(m.system) == 0 {
			m.system = nil
		}
		return msg, true, true
	}
	if m.suspended || len(m.user) == 0 {
		return nil, false, false
	}
	msg = m.user[0]
	m.user[0] = nil
	m.user = m.user[1:]
	if len(m.user) == 0 {
		m.user = m.userBuf[:0] // back to the inline slot; a grown array is let go
	}
	return msg, false, true
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
	return len(m.user)
}
