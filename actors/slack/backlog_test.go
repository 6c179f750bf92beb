package slack

import (
	"fmt"
	"testing"

	"github.com/spo2/spo2/actors/health"
)

func u(i int) string { return fmt.Sprintf("http://10.0.0.%d/h", i) }

func ev(i int, st health.State) Event { return Event{URL: u(i), State: st} }

func urls(evs []Event) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.URL
	}
	return out
}

func sameStrings(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestBacklogFoldsOldestPastItsBound(t *testing.T) {
	b := NewBacklog(3)
	folded := 0
	for i := range 5 {
		st := health.Unhealthy
		if i == 1 {
			st = health.Unreachable
		}
		folded += b.Push(u(i), ev(i, st), 0)
	}
	if folded != 2 || b.Events() != 3 || b.Folded() != 2 {
		t.Fatalf("folded %d, events %d, folded count %d; want 2, 3, 2", folded, b.Events(), b.Folded())
	}
	out := b.TakeBatch(len(head(b, 40)))
	if got := urls(out.Events); !sameStrings(got, []string{u(2), u(3), u(4)}) {
		t.Errorf("batch lines %v, want the newest three", got)
	}
	if out.Folded.Count != 2 || out.Folded.ByState[health.Unhealthy] != 1 || out.Folded.ByState[health.Unreachable] != 1 {
		t.Errorf("folded %+v, want 1 unhealthy and 1 unreachable", out.Folded)
	}
	if len(out.Announce) != 5 || out.Announce[u(1)] != health.Unreachable {
		t.Errorf("announce %v, want all five URLs, folded ones included", out.Announce)
	}
	if out.Count != 3 {
		t.Errorf("Count %d, want the 3 lines", out.Count)
	}
	b.Settle(out, true)
	if !b.Empty() {
		t.Errorf("backlog not empty after delivery: %d events, %d folded", b.Events(), b.Folded())
	}
}

// Events in flight and notices are never folded; a failed delivery puts the
// folded count back, merged with what was folded meanwhile.
func TestBacklogFailedDeliveryKeepsEverything(t *testing.T) {
	b := NewBacklog(2)
	b.Push(u(0), ev(0, health.Unhealthy), 0)
	b.Push(u(1), ev(1, health.Unhealthy), 0)
	b.Push(u(2), ev(2, health.Unhealthy), 0) // folds u(0)
	out := b.TakeBatch(2)
	b.PushNotice(&Notice{Kind: KindMassFailure, Events: 20})
	b.Push(u(3), ev(3, health.Unreachable), 1)
	b.Push(u(4), ev(4, health.Unreachable), 1) // u(1), u(2) are in flight: u(3) and u(4) fold
	if b.Folded() != 2 || b.Events() != 2 || b.Notices() != 1 {
		t.Fatalf("folded %d, events %d, notices %d; want 2, 2, 1", b.Folded(), b.Events(), b.Notices())
	}
	b.Settle(out, false)
	if b.Folded() != 3 || b.Events() != 2 {
		t.Fatalf("after a failure: folded %d, events %d; want 3, 2", b.Folded(), b.Events())
	}
	if got := urls(head(b, 40)); !sameStrings(got, []string{u(1), u(2)}) {
		t.Errorf("head %v, want the two events again, before the notice", got)
	}
	retry := b.TakeBatch(2)
	if retry.Folded.Count != 3 || retry.Folded.ByState[health.Unreachable] != 2 || len(retry.Announce) != 5 {
		t.Errorf("retry carries folded %+v, announce %v", retry.Folded, retry.Announce)
	}
	b.Settle(retry, true)
	if !b.NoticeFirst() {
		t.Fatal("the notice should head the queue")
	}
	n := b.TakeNotice()
	if n.Kind != KindMassFailure || n.Count != 20 {
		t.Errorf("notice %+v", n)
	}
	b.Settle(n, true)
	if !b.Empty() {
		t.Errorf("left %d events, %d notices, %d folded", b.Events(), b.Notices(), b.Folded())
	}
}

// head returns the events Head shows, at most limit.
func head(b *Backlog, limit int) []Event {
	var out []Event
	b.Head(limit, func(q *Queued) bool {
		out = append(out, q.Event)
		return true
	})
	return out
}

func TestBacklogRemove(t *testing.T) {
	b := NewBacklog(1)
	b.Push(u(0), ev(0, health.Unhealthy), 0)
	b.Push(u(1), ev(1, health.Unhealthy), 0) // folds u(0)
	b.Push(u(1), ev(1, health.Healthy), 0)   // folds u(1) unhealthy
	b.PushNotice(&Notice{Kind: KindMassRecovery})
	b.Push(u(2), ev(2, health.Unhealthy), 0)
	b.Remove(u(0))
	b.Remove(u(1))
	if b.Events() != 1 || b.Notices() != 1 {
		t.Fatalf("events %d, notices %d; want 1 and 1", b.Events(), b.Notices())
	}
	out := b.TakeBatch(0)
	if _, ok := out.Announce[u(0)]; ok || len(out.Announce) != 0 {
		t.Errorf("a removed URL's folded state is still announced: %v", out.Announce)
	}
}

func TestBacklogTakeWindow(t *testing.T) {
	b := NewBacklog(100)
	b.Push(u(0), ev(0, health.Unhealthy), 0)   // older window
	b.Push(u(1), ev(1, health.Unreachable), 1) // taken
	b.Push(u(2), ev(2, health.Healthy), 1)     // not failing
	b.Push(u(3), ev(3, health.Unhealthy), 1)   // not in the failing set
	b.Push(u(4), ev(4, health.Unhealthy), 1)   // taken
	taken := b.TakeWindow(1, map[string]health.State{u(0): health.Unhealthy, u(1): health.Unreachable, u(4): health.Unhealthy})
	if got := urls(taken); !sameStrings(got, []string{u(1), u(4)}) {
		t.Errorf("taken %v", got)
	}
	if got := urls(head(b, 40)); !sameStrings(got, []string{u(0), u(2), u(3)}) {
		t.Errorf("left %v", got)
	}
}

func TestBacklogHeadStopsAtNoticeAndLimit(t *testing.T) {
	b := NewBacklog(100)
	for i := range 3 {
		b.Push(u(i), ev(i, health.Unhealthy), 0)
	}
	b.PushNotice(&Notice{})
	b.Push(u(9), ev(9, health.Unhealthy), 0)
	if n := len(head(b, 2)); n != 2 {
		t.Errorf("Head(2) gave %d", n)
	}
	if n := len(head(b, 40)); n != 3 {
		t.Errorf("Head(40) gave %d, want the 3 before the notice", n)
	}
	seen := 0
	b.Head(40, func(*Queued) bool { seen++; return seen < 2 })
	if seen != 2 {
		t.Errorf("Head went on after f returned false: %d calls", seen)
	}
}
