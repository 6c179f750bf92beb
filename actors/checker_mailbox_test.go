package actors

import (
	"fmt"
	"sync"
	"testing"

	"github.com/asynkron/protoactor-go/actor"
)

// recordingInvoker records what the mailbox hands it; a user message
// "panic" panics, and a hook may post more messages while one is handled.
type recordingInvoker struct {
	mu        sync.Mutex
	got       []string
	escalated []any
	during    func(msg any)
}

func (r *recordingInvoker) add(s string) {
	r.mu.Lock()
	r.got = append(r.got, s)
	r.mu.Unlock()
}

func (r *recordingInvoker) InvokeSystemMessage(msg any) { r.add(fmt.Sprintf("sys:%T", msg)) }

func (r *recordingInvoker) InvokeUserMessage(msg any) {
	r.add(fmt.Sprint("user:", msg))
	if r.during != nil {
		d := r.during
		r.during = nil
		d(msg)
	}
	if msg == "panic" {
		panic("boom")
	}
}

func (r *recordingInvoker) EscalateFailure(reason any, msg any) {
	r.escalated = append(r.escalated, msg)
}

func TestCheckerMailboxOrderSuspensionAndPanics(t *testing.T) {
	t.Run("messages posted while handling wait their turn, system first", func(t *testing.T) {
		inv := &recordingInvoker{}
		m := newCheckerMailbox()
		m.RegisterHandlers(inv, nil)
		inv.during = func(any) {
			m.PostUserMessage("b")
			m.PostUserMessage("c")
			m.PostSystemMessage(&actor.Started{})
			if n := m.UserMessageCount(); n != 2 {
				t.Errorf("%d user messages queued while handling, want 2", n)
			}
		}
		m.PostUserMessage("a")
		want := []string{"user:a", "sys:*actor.Started", "user:b", "user:c"}
		if fmt.Sprint(inv.got) != fmt.Sprint(want) {
			t.Errorf("handled %v, want %v", inv.got, want)
		}
		if n := m.UserMessageCount(); n != 0 {
			t.Errorf("%d user messages left, want 0", n)
		}
	})
	t.Run("a suspended mailbox holds user messages until resumed", func(t *testing.T) {
		inv := &recordingInvoker{}
		m := newCheckerMailbox()
		m.RegisterHandlers(inv, nil)
		m.PostSystemMessage(&actor.SuspendMailbox{})
		m.PostUserMessage("held")
		m.PostSystemMessage(&actor.Stopping{})
		if fmt.Sprint(inv.got) != fmt.Sprint([]string{"sys:*actor.Stopping"}) {
			t.Errorf("while suspended handled %v, want only the system message", inv.got)
		}
		m.PostSystemMessage(&actor.ResumeMailbox{})
		if fmt.Sprint(inv.got) != fmt.Sprint([]string{"sys:*actor.Stopping", "user:held"}) {
			t.Errorf("after resume handled %v", inv.got)
		}
	})
	t.Run("a panic is escalated and the next message is still handled", func(t *testing.T) {
		inv := &recordingInvoker{}
		m := newCheckerMailbox()
		m.RegisterHandlers(inv, nil)
		inv.during = func(any) { m.PostUserMessage("after") }
		m.PostUserMessage("panic")
		if len(inv.escalated) != 1 || inv.escalated[0] != "panic" {
			t.Errorf("escalated %v, want the panicking message once", inv.escalated)
		}
		if fmt.Sprint(inv.got) != fmt.Sprint([]string{"user:panic", "user:after"}) {
			t.Errorf("handled %v", inv.got)
		}
	})
	t.Run("concurrent posters: every message handled once, one at a time", func(t *testing.T) {
		var busy, overlap sync.Mutex
		inv := &recordingInvoker{}
		m := newCheckerMailbox()
		count := 0
		m.RegisterHandlers(invokerFunc(func(any) {
			if !busy.TryLock() {
				overlap.Lock() // two handlers at once: recorded below
				inv.add("overlap")
				overlap.Unlock()
				return
			}
			count++
			busy.Unlock()
		}), nil)
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 500 {
					m.PostUserMessage(1)
				}
			})
		}
		wg.Wait()
		if count != 4000 || len(inv.got) != 0 {
			t.Errorf("handled %d of 4000, overlaps %d", count, len(inv.got))
		}
	})
}

type invokerFunc func(any)

func (f invokerFunc) InvokeSystemMessage(any)   {}
func (f invokerFunc) InvokeUserMessage(msg any) { f(msg) }
func (f invokerFunc) EscalateFailure(any, any)  {}
