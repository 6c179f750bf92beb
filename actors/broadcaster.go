package actors

import (
	"log/slog"
	"time"
	"weak"

	"github.com/asynkron/protoactor-go/actor"

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
type Broadcaster struct {
	model   *readmodel.Model
	metrics *metrics.Metrics
	log     *slog.Logger

	actorSubs map[string]*actor.PID
	streams   map[*Subscriber]struct{}
	// shared is the last snapshot handed out; valid until the next event or
	// until it is snapshotShareAge old. It is weak: once its subscribers have
	// sent it, its frames are garbage, not kept for a next subscriber that
	// may never come.
	shared weak.Pointer[SharedSnapshot]
}

// SubscribeActor asks the broadcaster to send every event to PID.
type SubscribeActor struct{ PID *actor.PID }

// SubscribeStream adds a stream subscriber: the broadcaster hands it a
// snapshot of the read model, then every later event. The snapshot is
// captured (references, not encodings) within the broadcaster's turn, so it
// holds every event published before and none published after.
type SubscribeStream struct{ Subscriber *Subscriber }

// UnsubscribeStream removes a stream subscriber.
type UnsubscribeStream struct{ Subscriber *Subscriber }

// CloseStreams cuts every stream subscriber with ReasonShutdown and refuses
// new ones; the broadcaster responds with true when done.
type CloseStreams struct{}

// NewBroadcasterProps returns the props of the broadcaster actor.
func NewBroadcasterProps(model *readmodel.Model, m *metrics.Metrics, log *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &Broadcaster{model: model, metrics: m, log: log,
			actorSubs: make(map[string]*actor.PID), streams: make(map[*Subscriber]struct{})}
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
		snap := b.shared.Value()
		if snap == nil || time.Since(snap.taken) > snapshotShareAge {
			// Only references are taken here; subscribers encode them.
			snap = newSharedSnapshot(b.model.Refs(), time.Now())
			b.shared = weak.Make(snap)
		}
		msg.Subscriber.snapshot <- snap
		b.streams[msg.Subscriber] = struct{}{}
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

func (b *Broadcaster) publish(ctx actor.Context, e Event) {
	b.shared = weak.Pointer[SharedSnapshot]{} // the next subscriber must see this event in its snapshot
	b.metrics.EventsBroadcast.WithLabelValues(e.EventType()).Inc()
	for _, pid := range b.actorSubs {
		ctx.Send(pid, e)
	}
	if len(b.streams) == 0 {
		return
	}
	encoded := e.AppendJSON(nil)
	for s := range b.streams {
		if !s.offer(encoded) {
			s.Close(ReasonTooSlow)
			delete(b.streams, s)
			b.metrics.WSClients.Set(float64(len(b.streams)))
		}
	}
}
