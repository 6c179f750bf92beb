package actors

import (
	"slices"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
	"github.com/spo2/spo2/persistence"
)

// RemoveMatching asks to stop checking and forget every URL whose labels
// match Selector, as one durable write. The reply is a RemoveMatchingReply.
type RemoveMatching struct{ Selector health.Selector }

// RemoveMatchingReply answers RemoveMatching: the removed URLs, sorted
// (none when nothing matched). Err is set when the durable write failed;
// then nothing was removed.
type RemoveMatchingReply struct {
	URLs []string
	Err  error
}

// removeMatching removes the matches among the latest registrations,
// pending ones included, in one write through the store's group committer.
func (s *Supervisor) removeMatching(ctx actor.Context, msg RemoveMatching) {
	var items []pendingItem
	var ops []persistence.Op
	for u, slot := range s.urls {
		if slot.reg != nil && msg.Selector.Matches(slot.reg.Labels) {
			items = append(items, pendingItem{prev: slot.reg, url: u})
		}
	}
	slices.SortFunc(items, func(a, b pendingItem) int {
		switch {
		case a.url < b.url:
			return -1
		case a.url > b.url:
			return 1
		}
		return 0
	})
	for _, it := range items {
		s.setLatest(it.url, nil)
		s.leases.Clear(it.url)
		ops = append(ops, persistence.Op{URL: it.url})
	}
	s.submit(ctx, committed{kind: "removeMatching", items: items, replyTo: ctx.Sender()}, ops)
}

// applyRemoveMatching finishes a durable group removal: each URL leaves the
// read model, its checker stops and a removed event is sent; then the
// answer.
func (s *Supervisor) applyRemoveMatching(ctx actor.Context, c committed) {
	urls := make([]string, 0, len(c.items))
	for _, it := range c.items {
		gone := s.cfg.Model.Remove(it.url)
		s.stopChecker(ctx, it.url)
		ctx.Send(s.cfg.Broadcaster, Removed{URL: it.url, Reason: RemovalReasonDeleted, Data: it.prev.Data, Labels: labelsOf(gone)})
		urls = append(urls, it.url)
	}
	if len(urls) > 0 {
		s.cfg.Log.Info("urls removed by label", "count", len(urls), "first", target.Mask(urls[0]))
	}
	ctx.Send(c.replyTo, RemoveMatchingReply{URLs: urls})
}
