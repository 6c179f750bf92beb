package slack

import "github.com/spo2/spo2/actors/health"

// Message kinds, as counted by spo2_slack_messages_total{kind}.
const (
	KindBatch        = "batch"
	KindMassFailure  = "mass_failure"
	KindMassRecovery = "mass_recovery"
)

// Notice is a message that goes on its own, ahead of the events queued after
// it: a mass failure or its recovery.
type Notice struct {
	Kind string
	// Render builds the message; it is called for each attempt, so what it
	// says can be true at the moment the message is sent.
	Render func() Message
	// Events is how many events the notice stands for (the delivered-events
	// metric counts them).
	Events int
	// Announce holds the states that count as announced once it is delivered.
	Announce map[string]health.State
}

// Queued is one event waiting in the backlog.
type Queued struct {
	URL    string
	Event  Event
	Window uint64 // the batch window it arrived in
}

// Outgoing is one message's worth taken from the backlog. What it carries
// stays in the backlog, in flight, until Settle says whether Slack took it.
type Outgoing struct {
	Kind   string
	Notice *Notice // nil for a batch
	Events []Event // a batch's event lines
	Folded Folded  // a batch's "…and N more changes"
	// Count is how many events the message delivers on their own line or in
	// a notice (folded ones are not counted).
	Count int
	// Announce holds the states that count as announced once it is delivered,
	// folded ones included.
	Announce map[string]health.State

	seqs           []uint64
	foldedAnnounce map[string]health.State
}

// Message renders what the outgoing message says now.
func (o *Outgoing) Message() Message {
	if o.Notice != nil {
		return o.Notice.Render()
	}
	return Batch(o.Events, o.Folded)
}

// Backlog is the queue of what waits for Slack, oldest first: events and
// notices. It holds at most max events; past that the oldest event not in
// flight is folded into a count that the next batch shows as "…and N more
// changes", and its state counts as announced when that batch is delivered.
// Notices are never folded. Every operation is cheap: the oldest foldable
// event sits behind at most one message in flight and a few notices. Not safe
// for concurrent use.
type Backlog struct {
	max     int
	items   []*item
	events  int            // event items in items
	pending map[string]int // event items per URL
	seq     uint64

	folded         Folded
	foldedAnnounce map[string]health.State
}

type item struct {
	seq      uint64
	q        Queued
	notice   *Notice
	inflight bool
}

// NewBacklog returns an empty backlog holding at most limit events (at
// least 1).
func NewBacklog(limit int) *Backlog {
	return &Backlog{max: max(limit, 1), pending: make(map[string]int),
		folded: Folded{ByState: make(map[health.State]int)}, foldedAnnounce: make(map[string]health.State)}
}

// Events returns the number of events queued, folded ones not counted.
func (b *Backlog) Events() int { return b.events }

// Folded returns the number of events folded and not yet delivered (in
// flight or waiting).
func (b *Backlog) Folded() int { return b.folded.Count }

// Notices returns the number of notices queued.
func (b *Backlog) Notices() int { return len(b.items) - b.events }

// Empty reports whether nothing waits: no event, no notice, nothing folded.
func (b *Backlog) Empty() bool { return len(b.items) == 0 && b.folded.Count == 0 }

// Push queues ev, the change of url that arrived in window, and folds the
// oldest events if the backlog is over its bound. It returns how many events
// it folded.
func (b *Backlog) Push(url string, ev Event, window uint64) (folded int) {
	b.seq++
	b.items = append(b.items, &item{seq: b.seq, q: Queued{URL: url, Event: ev, Window: window}})
	b.events++
	b.pending[url]++
	for b.events > b.max {
		k := 0
		for k < len(b.items) && (b.items[k].notice != nil || b.items[k].inflight) {
			k++
		}
		if k == len(b.items) {
			break
		}
		it := b.items[k]
		copy(b.items[1:k+1], b.items[:k])
		b.items[0] = nil
		b.items = b.items[1:]
		b.unqueued(it)
		b.folded.Count++
		b.folded.ByState[it.q.Event.State]++
		b.foldedAnnounce[it.q.URL] = it.q.Event.State
		folded++
	}
	return folded
}

// PushNotice queues n behind everything queued so far.
func (b *Backlog) PushNotice(n *Notice) {
	b.seq++
	b.items = append(b.items, &item{seq: b.seq, notice: n})
}

// Remove drops every event of url, queued, in flight or folded: a removed
// URL is not announced any more. Notices keep it.
func (b *Backlog) Remove(url string) {
	delete(b.foldedAnnounce, url)
	if b.pending[url] == 0 {
		return
	}
	b.filter(func(it *item) bool { return it.notice != nil || it.q.URL != url })
}

// Withdraw drops url's queued events that are not in flight and reports
// whether it dropped any: a silence began for url. Folded events stay (they
// are counted, not listed).
func (b *Backlog) Withdraw(url string) bool {
	if b.pending[url] == 0 {
		return false
	}
	dropped := false
	b.filter(func(it *item) bool {
		if it.notice != nil || it.inflight || it.q.URL != url {
			return true
		}
		dropped = true
		return false
	})
	return dropped
}

// QueuedURLs returns the URLs that have events queued or in flight, in no
// particular order.
func (b *Backlog) QueuedURLs() []string {
	urls := make([]string, 0, len(b.pending))
	for url := range b.pending {
		urls = append(urls, url)
	}
	return urls
}

// TakeWindow removes and returns, oldest first, the events of window that are
// not in flight, turned failing, and whose URL is in failing: they become
// part of a mass-failure notice instead of batch lines.
func (b *Backlog) TakeWindow(window uint64, failing map[string]health.State) []Event {
	var taken []Event
	b.filter(func(it *item) bool {
		if it.notice != nil || it.inflight || it.q.Window != window || !it.q.Event.State.Failing() {
			return true
		}
		if _, ok := failing[it.q.URL]; !ok {
			return true
		}
		taken = append(taken, it.q.Event)
		return false
	})
	return taken
}

// NoticeFirst reports whether a notice heads the queue.
func (b *Backlog) NoticeFirst() bool { return len(b.items) > 0 && b.items[0].notice != nil }

// Head calls f for the events at the head of the queue, oldest first, up to
// the first notice and at most limit of them, until f returns false. It
// copies nothing: it runs on every step of the batcher.
func (b *Backlog) Head(limit int, f func(q *Queued) bool) {
	for i, it := range b.items {
		if it.notice != nil || i == limit || !f(&it.q) {
			return
		}
	}
}

// TakeNotice puts the notice at the head of the queue in flight; nil when no
// notice heads the queue.
func (b *Backlog) TakeNotice() *Outgoing {
	if !b.NoticeFirst() {
		return nil
	}
	it := b.items[0]
	it.inflight = true
	n := it.notice
	return &Outgoing{Kind: n.Kind, Notice: n, Count: n.Events, Announce: n.Announce, seqs: []uint64{it.seq}}
}

// TakeBatch puts the first n events (all of them seen by Head) in flight, with
// every folded event, as one batch.
func (b *Backlog) TakeBatch(n int) *Outgoing {
	out := &Outgoing{Kind: KindBatch, Folded: b.folded, foldedAnnounce: b.foldedAnnounce,
		Announce: make(map[string]health.State, n+len(b.foldedAnnounce))}
	for url, st := range b.foldedAnnounce {
		out.Announce[url] = st
	}
	for _, it := range b.items {
		if len(out.Events) == n || it.notice != nil {
			break
		}
		it.inflight = true
		out.seqs = append(out.seqs, it.seq)
		out.Events = append(out.Events, it.q.Event)
		out.Announce[it.q.URL] = it.q.Event.State
	}
	out.Count = len(out.Events)
	b.folded = Folded{ByState: make(map[health.State]int)}
	b.foldedAnnounce = make(map[string]health.State)
	return out
}

// Settle ends out's flight: delivered, what it carried leaves the backlog;
// not delivered, it waits again in its place, and its folded count is merged
// with anything folded since.
func (b *Backlog) Settle(out *Outgoing, delivered bool) {
	sent := make(map[uint64]bool, len(out.seqs))
	for _, s := range out.seqs {
		sent[s] = true
	}
	b.filter(func(it *item) bool {
		if !sent[it.seq] {
			return true
		}
		it.inflight = false
		return !delivered
	})
	if delivered {
		return
	}
	b.folded.Count += out.Folded.Count
	for s, n := range out.Folded.ByState {
		b.folded.ByState[s] += n
	}
	for url, st := range out.foldedAnnounce {
		if _, newer := b.foldedAnnounce[url]; !newer {
			b.foldedAnnounce[url] = st
		}
	}
}

// filter keeps the items for which keep returns true, in order.
func (b *Backlog) filter(keep func(*item) bool) {
	kept := b.items[:0]
	for _, it := range b.items {
		if keep(it) {
			kept = append(kept, it)
			continue
		}
		if it.notice == nil {
			b.unqueued(it)
		}
	}
	clear(b.items[len(kept):])
	b.items = kept
}

// unqueued accounts for an event item leaving the queue.
func (b *Backlog) unqueued(it *item) {
	b.events--
	if n := b.pending[it.q.URL] - 1; n > 0 {
		b.pending[it.q.URL] = n
	} else {
		delete(b.pending, it.q.URL)
	}
}
