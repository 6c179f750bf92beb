package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/membership"
	"github.com/spo2/spo2/actors/silence"
)

// SlackKey is the key whose owner runs the cluster's one Slack batcher.
const SlackKey = "spo2/slack"

// SlackSettle is how long a member waits, after a view makes it the Slack
// batcher's owner, before it starts the batcher: time for the statuses of
// the other members' URLs to reach its read model (they are sent to a member
// as it joins), so that the batcher's first look does not take an old copy
// for a change.
const SlackSettle = 3 * time.Second

// slackSettled starts the batcher if this member still owns it.
type slackSettled struct{ view *membership.View }

// NewSlackPlacementProps returns the props of the actor that places the
// Slack batcher in a cluster: the batcher (batcher's props) runs as its
// child on the member that owns SlackKey, from settle (SlackSettle) after
// the member took the key, and stops when another member takes it. Every member's batcher subscribes to its own broadcaster,
// which streams every member's state changes; announced states live in the
// registry shared by the members, so a batcher that starts after a
// fail-over announces what its predecessor had not (and only that).
//
// It forwards silence.Change and SlackFlush to the batcher; without one it
// answers SlackFlush at once.
func NewSlackPlacementProps(batcher *actor.Props, settle time.Duration, log *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &slackPlacement{batcherProps: batcher, settle: settle, log: log}
	})
}

type slackPlacement struct {
	batcherProps *actor.Props
	settle       time.Duration
	log          *slog.Logger
	view         *membership.View
	batcher      *actor.PID
}

// Receive handles views and what it forwards.
func (p *slackPlacement) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case ViewChanged:
		p.view = msg.View
		owns := msg.View.Owns(SlackKey)
		switch {
		case owns && p.batcher == nil:
			self, root, v := ctx.Self(), ctx.ActorSystem().Root, msg.View
			time.AfterFunc(p.settle, func() { root.Send(self, slackSettled{view: v}) })
		case !owns && p.batcher != nil:
			ctx.Stop(p.batcher)
			p.batcher = nil
			p.log.Info("slack batcher handed over", "to", msg.View.Owner(SlackKey).Name)
		}
	case slackSettled:
		if p.batcher == nil && p.view == msg.view && p.view.Owns(SlackKey) {
			p.batcher = ctx.Spawn(p.batcherProps)
			p.log.Info("slack batcher started on this member")
		}
	case silence.Change:
		if p.batcher != nil {
			ctx.Send(p.batcher, msg)
		}
	case SlackFlush:
		if p.batcher != nil {
			ctx.Forward(p.batcher)
		} else if ctx.Sender() != nil {
			ctx.Respond(SlackFlushed{})
		}
	}
}
