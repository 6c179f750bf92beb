package actors

import (
	"log/slog"
	"time"
	"weak"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
)

// Broadcaster fans every event (StatusChanged, Registered, Removed) out to its
// subscribers: actors (the Slack batcher) receive the event values as
// messages; stream subscribers (WebSocket clients) receive each event encoded
// once, through their bounded queue. It never waits for a subscriber.
//
// Publishers must update the read model before they send an event: a new
// subscriber's snapshot and its stream then miss nothing between them.
//
// Every event gets a seq as it is published: one more than the previous
// event's. The first is one more than the time the broadcaster started, in
// microseconds since 1970, so that a seq given by an earlier process (or an
// earlier incarnation of this actor) is always older than any of this one's,
// as long as that process published fewer than a million events a second on
// average. The last events are kept (see eventLog) for stream subscribers
// that resume.
type Broadcaster struct {
	model   *readmodel.Model
	metrics *metrics.Metrics
	log     *slog.Logger

	actorSubs map[string]*actor.PID
	streams   map[*Subscriber]health.Selector // nil selector: every event
	events    *eventLog
	// shared is the last snapshot handed out; valid until the next event or
	// until it is snapshotShareAge old. It is weak: once its subscribers have
	// sent it, its frames are garbage, not kept for a next subscriber that
	// may never come. One for each encoding: [1] is the compact one.
	shared [2]weak.Pointer[SharedSnapshot]
}

// SubscribeActor asks the broadcaster to send every event to PID.
type SubscribeActor struct{ PID *actor.PID }

// SubscribeStream adds a stream subscriber: the broadcaster hands it an
// Opening, then every later event. The opening is a snapshot of the read
// model, captured (references, not encodings) within the broadcaster's turn,
// so it holds every event published before and none published after. With
// Resume, when every event after seq Since is still kept, the opening is
// those events instead (a Replay), taken in the same turn as the
// subscription: nothing falls between them. With Labels, the subscriber
// sees only the URLs whose labels match (see judge). With Compact, a
// snapshot comes in the compact encoding (see CompactEncoder); a replay and
// the live events do not change.
type SubscribeStream struct {
	Subscriber *Subscriber
	Resume     bool
	Since      uint64
	Labels     health.Selector
	Compact    bool
}

// UnsubscribeStream removes a stream subscriber.
type UnsubscribeStream struct{ Subscriber *Subscriber }

// CloseStreams cuts every stream subscriber with ReasonShutdown and refuses
// new ones; the broadcaster responds with true when done.
type CloseStreams struct{}

// NewBroadcasterProps returns the props of the broadcaster actor, which
// keeps the last resumeBuffer events for stream subscribers that resume (0:
// none; every subscriber then gets a snapshot, unless it missed nothing).
//
// seqOffset is added to every seq: cluster members each use a different
// one, so that the seqs of two members started at the same moment do not
// overlap and a client that resumes on another member gets a snapshot
// instead of that member's events (0 for a single node).
func NewBroadcasterProps(model *readmodel.Model, m *metrics.Metrics, log *slog.Logger, resumeBuffer int, seqOffset uint64) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Broadcaster{model: model, metrics: m, log: log,
			actorSubs: make(map[string]*actor.PID), streams: make(map[*Subscriber]health.Selector),
			events: newEventLog(resumeBuffer, uint64(time.Now().UnixMicro())+seqOffset)}
	})
}

// Receive handles subscriptions and events.
func (b *Broadcaster) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case SubscribeActor:
		b.actorSubs[msg.PID.String()] = msg.PID
		ctx.Watch(msg.PID)
	case *actor.Terminated:
		delete(b.actorSubs, msg.Who.String())
	case SubscribeStream:
		if b.streams == nil {
			msg.Subscriber.Close(ReasonShutdown)
			return
		}
		msg.Subscriber.opening <- b.opening(msg)
		b.streams[msg.Subscriber] = msg.Labels
		b.metrics.WSClients.Set(float64(len(b.streams)))
	case UnsubscribeStream:
		if _, ok := b.streams[msg.Subscriber]; ok {
			delete(b.streams, msg.Subscriber)
			b.metrics.WSClients.Set(float64(len(b.streams)))
		}
	case CloseStreams:
		for s := range b.streams {
			s.Close(ReasonShutdown)
		}
		b.streams = nil
		b.metrics.WSClients.Set(0)
		ctx.Respond(true)
	case Event:
		b.publish(ctx, msg)
	}
}

// opening is what a new stream subscriber gets first: the events it missed
// when it resumes and they are all kept, else a snapshot (shared with other
// subscribers when it has no label selector).
func (b *Broadcaster) opening(msg SubscribeStream) Opening {
	last := b.events.Last()
	if msg.Resume {
		if missed, ok := b.events.after(msg.Since); ok {
			b.metrics.WSResumes.WithLabelValues("replayed").Inc()
			return newReplay(missed, msg.Since+1, last, msg.Labels)
		}
		b.metrics.WSResumes.WithLabelValues("snapshot").Inc()
	}
	if msg.Labels != nil {
		// Only references are taken here; the subscriber filters and encodes them.
		return newSharedSnapshot(b.model.Refs(), time.Now(), last, msg.Labels, msg.Compact)
	}
	shared := &b.shared[0]
	if msg.Compact {
		shared = &b.shared[1]
	}
	snap := shared.Value()
	if snap == nil || time.Since(snap.taken) > snapshotShareAge {
		// Only references are taken here; subscribers encode them.
		snap = newSharedSnapshot(b.model.Refs(), time.Now(), last, nil, msg.Compact)
		*shared = weak.Make(snap)
	}
	return snap
}

func (b *Broadcaster) publish(ctx actor.Context, e Event) {
	b.shared = [2]weak.Pointer[SharedSnapshot]{} // the next subscriber must see this event in its snapshot
	seq := b.events.add(e)
	b.metrics.EventsBroadcast.WithLabelValues(e.EventType()).Inc()
	for _, pid := range b.actorSubs {
		ctx.Send(pid, e)
	}
	if len(b.streams) == 0 {
		return
	}
	// Each form of the event is encoded once, when a subscriber needs it.
	var encoded, removal []byte
	for s, sel := range b.streams {
		var out []byte
		switch judge(sel, e) {
		case skip:
			continue
		case pass:
			if encoded == nil {
				encoded = e.AppendJSON(nil, seq)
			}
			out = encoded
		case unmatched:
			if removal == nil {
				removal = unmatchedRemoval(e).AppendJSON(nil, seq)
			}
			out = removal
		}
		if !s.offer(out) {
			s.Close(ReasonTooSlow)
			delete(b.streams, s)
			b.metrics.WSClients.Set(float64(len(b.streams)))
		}
	}
}
