package actors

import (
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/membership"
	"github.com/spo2/spo2/actors/peerpb"
)

// StatusRelayName is the name every member spawns its status relay under:
// the others address it as (member address, StatusRelayName).
const StatusRelayName = "status-relay"

const (
	// relayDelay is the longest a local change waits to be sent, so that a
	// burst of changes goes to each member in few messages.
	relayDelay = 20 * time.Millisecond
	// relayBatch is the most changes in one message.
	relayBatch = 2000
)

// relayTick sends what is pending.
type relayTick struct{}

// NewStatusRelayProps returns the props of the status relay: the actor that
// carries state changes between cluster members. It sends the changes its
// supervisor's checkers see (StatusChanged) to every other member of the
// current view, in batches sent within relayDelay, and gives the batches it
// receives to its supervisor as PeerStatuses. A member that joins is sent
// the statuses of every URL this member owns (relaySync), so that its read
// model does not wait for the next change. Delivery is at most once, as
// protoactor's remoting is: a member that misses a batch (it was
// unreachable) gets the current statuses again when it rejoins.
func NewStatusRelayProps(self string, supervisor *actor.PID, log *slog.Logger) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &statusRelay{self: self, supervisor: supervisor, log: log}
	})
}

type statusRelay struct {
	self       string
	supervisor *actor.PID
	log        *slog.Logger
	view       *membership.View
	pending    []*peerpb.StatusChange
	armed      bool
}

// Receive handles local changes, views, syncs, ticks and other members' batches.
func (r *statusRelay) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case StatusChanged:
		r.pending = append(r.pending, changeToWire(msg))
		if len(r.pending) >= relayBatch {
			r.flush(ctx)
		} else if !r.armed {
			r.armed = true
			self, root := ctx.Self(), ctx.ActorSystem().Root
			time.AfterFunc(relayDelay, func() { root.Send(self, relayTick{}) })
		}
	case relayTick:
		r.armed = false
		r.flush(ctx)
	case ViewChanged:
		r.view = msg.View
	case relaySync:
		changes := make([]*peerpb.StatusChange, len(msg.Changes))
		for i, p := range msg.Changes {
			changes[i] = statusToWire(p)
		}
		r.send(ctx, msg.To, changes)
		r.log.Info("statuses sent to joining members", "members", len(msg.To), "urls", len(changes))
	case *peerpb.StatusBatch:
		out := make([]PeerStatus, len(msg.Changes))
		for i, c := range msg.Changes {
			out[i] = statusFromWire(c)
		}
		ctx.Send(r.supervisor, PeerStatuses{Changes: out})
	}
}

// flush sends the pending changes to every other member.
func (r *statusRelay) flush(ctx actor.Context) {
	if len(r.pending) == 0 {
		return
	}
	pending := r.pending
	r.pending = nil
	if r.view == nil {
		return // not joined: nobody to tell; a joining member is sent every status
	}
	r.send(ctx, r.view.Others(), pending)
}

// send sends changes to members in batches of at most relayBatch.
func (r *statusRelay) send(ctx actor.Context, to []membership.Member, changes []*peerpb.StatusChange) {
	for len(changes) > 0 {
		n := min(len(changes), relayBatch)
		batch := &peerpb.StatusBatch{From: r.self, Changes: changes[:n]}
		for _, m := range to {
			ctx.Send(actor.NewPID(m.Address, StatusRelayName), batch)
		}
		changes = changes[n:]
	}
}

// changeToWire is a checker's state change as the status it set: its time
// is both when it was checked and since when the state holds.
func changeToWire(e StatusChanged) *peerpb.StatusChange {
	return statusToWire(PeerStatus{URL: e.URL, Previous: e.Previous, PreviousSince: e.PreviousSince,
		Status: health.Status{State: e.State, Code: e.Code, Error: e.Error, ErrorKind: e.ErrorKind,
			LatencyMS: e.LatencyMS, CheckedAt: &e.At, Since: e.At}})
}

func statusToWire(p PeerStatus) *peerpb.StatusChange {
	st := p.Status
	c := &peerpb.StatusChange{Url: p.URL, State: string(st.State), Previous: string(p.Previous), Code: int32(st.Code),
		Error: st.Error, ErrorKind: string(st.ErrorKind), LatencyMs: st.LatencyMS, Since: unixNano(st.Since),
		PreviousSince: unixNano(p.PreviousSince)}
	if st.CheckedAt != nil {
		c.CheckedAt = unixNano(*st.CheckedAt)
	}
	return c
}

func statusFromWire(c *peerpb.StatusChange) PeerStatus {
	st := health.Status{State: health.State(c.State), Code: int(c.Code), Error: c.Error,
		ErrorKind: health.ErrorKind(c.ErrorKind), LatencyMS: c.LatencyMs, Since: fromUnixNano(c.Since)}
	if c.CheckedAt != 0 {
		t := fromUnixNano(c.CheckedAt)
		st.CheckedAt = &t
	}
	return PeerStatus{URL: c.Url, Status: st, Previous: health.State(c.Previous), PreviousSince: fromUnixNano(c.PreviousSince)}
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromUnixNano(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}
