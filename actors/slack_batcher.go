package actors

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/actors/slack"
)

// SlackFlush asks the batcher to deliver everything pending now, without
// waiting for batch windows (still at most one post per MinInterval, each
// post bounded by FlushPostTimeout). Send it with RequestFuture: the batcher
// responds with SlackFlushed once nothing is pending; if Slack is down, the
// future's timeout ends the wait. What is not delivered when the batcher
// stops is announced by the next start (see slack.Announced).
type SlackFlush struct{}

// SlackFlushed is the answer to SlackFlush.
type SlackFlushed struct{}

// NewSlackBatcherProps returns the props of the Slack batcher: an actor that
// subscribes to broadcaster, announces state changes on the webhook in
// batches, turns a mass failure into one notice and its end into another,
// and records in store what Slack accepted. model tells the registered URLs,
// their custom data and their states.
func NewSlackBatcherProps(cfg SlackConfig, broadcaster *actor.PID, model *readmodel.Model,
	store slack.AnnouncementStore, m *metrics.Metrics, log *slog.Logger) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &slackBatcher{cfg: cfg, broadcaster: broadcaster, model: model, store: store,
			metrics: m, log: log.With("actor", "slack")}
	})
}

// slackTick wakes the batcher when a window ends or a post may go.
type slackTick struct{}

// slackPosted carries the result of a post back into the batcher.
type slackPosted struct{ res slack.Result }

// slackBatcher is the policy: what is announced, when a batch goes, when
// many failures are one mass failure and when that is over. The pieces it
// drives live in package slack.
type slackBatcher struct {
	cfg         SlackConfig
	broadcaster *actor.PID
	model       *readmodel.Model
	store       slack.AnnouncementStore
	metrics     *metrics.Metrics
	log         *slog.Logger

	root *actor.RootContext
	self *actor.PID

	announced *slack.Announced
	backlog   *slack.Backlog
	window    slack.Window
	incident  *slack.Incident // open mass failure, or nil
	webhook   *slack.Webhook
	inflight  *slack.Outgoing
	held      map[string]struct{} // URLs whose changes a silence withheld

	foldedToLog int
	flushing    bool
	flushers    []*actor.PID
	timer       *time.Timer
	timerAt     time.Time
}

// Receive handles events, ticks, delivery results and flushes.
func (a *slackBatcher) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		a.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		a.stop()
		return
	case StatusChanged:
		a.onStatus(msg)
	case Removed:
		a.onRemoved(msg.URL)
	case Registered:
		a.onRegistered(msg.Record.URL)
	case silence.Change:
		a.onSilences()
	case slackTick:
		a.timerAt = time.Time{} // the timer fired (or was stale): arm afresh
	case slackPosted:
		a.onPosted(msg.res)
	case SlackFlush:
		a.flushing = true
		if s := ctx.Sender(); s != nil {
			a.flushers = append(a.flushers, s)
		}
	default:
		return
	}
	a.step(ctx)
}

func (a *slackBatcher) start(ctx actor.Context) {
	a.root, a.self = ctx.ActorSystem().Root, ctx.Self()
	a.announced = slack.LoadAnnounced(a.store, a.log)
	a.backlog = slack.NewBacklog(a.cfg.MaxBacklog)
	a.held = make(map[string]struct{})
	a.webhook = slack.NewWebhook(slack.WebhookConfig{URL: a.cfg.HookURL, MinInterval: a.cfg.MinInterval,
		RetryBase: a.cfg.RetryBase, RetryMax: a.cfg.RetryMax, Client: a.cfg.Client}, a.log)
	ctx.Send(a.broadcaster, SubscribeActor{PID: ctx.Self()})
	a.announceRestored()
	a.log.Info("slack batcher started", "batch_size", a.cfg.BatchSize, "batch_window", a.cfg.BatchWindow,
		"max_backlog", a.cfg.MaxBacklog, "announced", a.announced.Len())
}

// announceRestored queues the restored states that were never announced: a
// change whose message Slack never accepted (a crash, or a shutdown while
// Slack was down) is announced after the restart instead of being lost.
func (a *slackBatcher) announceRestored() {
	for _, ref := range a.model.Snapshot() {
		st := ref.Status
		if st == nil || (st.State != health.Healthy && !st.State.Failing()) {
			continue
		}
		a.onStatus(StatusChanged{URL: ref.Reg.URL, State: st.State, Previous: st.State, Code: st.Code,
			Error: st.Error, ErrorKind: st.ErrorKind, LatencyMS: st.LatencyMS, At: st.Since})
	}
}

// stop cancels the post in flight and waits for it; what is still queued is
// announced by the next start, since only delivered states are persisted.
func (a *slackBatcher) stop() {
	if a.webhook == nil {
		return
	}
	a.webhook.Close()
	a.webhook = nil
	if a.timer != nil {
		a.timer.Stop()
	}
	if !a.backlog.Empty() {
		a.log.Warn("slack batcher stopped with undelivered changes; the next start announces the current state of their URLs",
			"events", a.backlog.Events(), "folded", a.backlog.Folded(), "notices", a.backlog.Notices())
	}
}

// onStatus decides whether a state change is announced, and how: absorbed by
// an open mass failure, or queued in the current window.
func (a *slackBatcher) onStatus(e StatusChanged) {
	if e.State == health.Paused {
		a.onPaused(e)
		return
	}
	a.queue(e, false)
}

// queue is onStatus; afterSilence marks a change announced when the silence
// that held it ended.
func (a *slackBatcher) queue(e StatusChanged, afterSilence bool) {
	if e.State != health.Healthy && !e.State.Failing() {
		return
	}
	entry := a.model.Get(e.URL)
	if entry == nil {
		return // removed meanwhile: no alerts for it any more
	}
	var data json.RawMessage
	if reg := entry.Registration(); reg != nil {
		data = reg.Data
	}
	last := a.announced.Last(e.URL)
	if e.State == last {
		if e.State == health.Healthy {
			a.window.Saw(e.URL, e.State)
		}
		return
	}
	if a.silenced(entry) {
		a.hold(e.URL)
		return
	}
	a.announced.Set(e.URL, e.State)
	now := time.Now()
	ev := slack.Event{URL: e.URL, State: e.State, Previous: e.Previous, Code: e.Code, Error: e.Error,
		At: e.At, PreviousSince: e.PreviousSince, Data: slack.DataLine(data), AfterSilence: afterSilence}
	if e.Previous == e.State { // a state found at start-up: what came before it is unknown
		ev = slack.Event{URL: e.URL, State: e.State, Code: e.Code, Error: e.Error, At: e.At, Data: ev.Data, Restored: true}
	} else if ev.At.IsZero() {
		ev.At = now
	}

	// During a mass failure, new failures and the recoveries of its URLs
	// wait for its end.
	if inc := a.incident; inc != nil && (e.State.Failing() || inc.Has(e.URL)) {
		inc.Absorb(ev, now)
		return
	}
	a.window.Open(now, a.cfg.BatchWindow)
	a.window.Saw(e.URL, e.State)
	if n := a.backlog.Push(e.URL, ev, a.window.ID()); n > 0 {
		a.foldedToLog += n
		a.metrics.SlackFolded.Add(float64(n))
	}
}

// onPaused takes a paused URL out of the failure counts: pausing is not a
// Slack event, and a paused URL is not failing. Its last announced state
// stays, so that after a resume only a verdict that differs from it is
// announced.
func (a *slackBatcher) onPaused(e StatusChanged) {
	a.window.Forget(e.URL)
	if inc := a.incident; inc != nil && inc.Has(e.URL) {
		inc.Absorb(slack.Event{URL: e.URL, State: health.Paused, At: e.At}, time.Now())
	}
}

// onRemoved forgets a URL: its pending events, its announced state, its part
// in a mass failure.
func (a *slackBatcher) onRemoved(url string) {
	delete(a.held, url)
	a.announced.Forget(url)
	a.window.Forget(url)
	if a.incident != nil {
		a.incident.Remove(url)
	}
	a.backlog.Remove(url)
}

// step closes a due window, ends a mass failure that is over, starts a post
// when one is due and allowed, answers flushes, and arms the timer.
func (a *slackBatcher) step(ctx actor.Context) {
	now := time.Now()
	if a.window.IsOpen() && (a.flushing || !now.Before(a.window.End())) {
		a.closeWindow(now)
	}
	a.checkIncident(now)
	if a.foldedToLog > 0 {
		a.log.Warn("slack backlog full: oldest changes folded into a count", "folded_now", a.foldedToLog,
			"folded_pending", a.backlog.Folded(), "max_backlog", a.cfg.MaxBacklog)
		a.foldedToLog = 0
	}
	if a.inflight == nil && !now.Before(a.webhook.ReadyAt()) {
		a.send(now)
	}
	a.metrics.SlackBacklog.Set(float64(a.backlog.Events() + a.backlog.Folded()))
	if a.flushing && a.inflight == nil && a.backlog.Empty() {
		for _, pid := range a.flushers {
			ctx.Send(pid, SlackFlushed{})
		}
		a.flushers = nil
		a.flushing = false
	}
	a.arm(now)
}

// isMass tells whether failing URLs out of registered make a mass failure:
// at least MassMinURLs, and more than half.
func (a *slackBatcher) isMass(failing, registered int) bool {
	return failing >= a.cfg.MassMinURLs && failing*2 > registered
}

// closeWindow ends the current batch window; if the URLs that turned failing
// in it make a mass failure, their queued events become one notice.
func (a *slackBatcher) closeWindow(now time.Time) {
	id, failing := a.window.Close()
	registered := a.model.Len()
	if a.incident != nil || !a.isMass(len(failing), registered) {
		return
	}
	sample := a.backlog.TakeWindow(id, failing)
	a.incident = slack.NewIncident(now, failing, sample)
	byState := make(map[health.State]int)
	for _, st := range failing {
		byState[st]++
	}
	msg := slack.MassFailure{Failed: len(failing), Registered: registered, Window: a.cfg.BatchWindow,
		ByState: byState, Sample: sample}.Message()
	a.backlog.PushNotice(&slack.Notice{Kind: slack.KindMassFailure, Render: func() slack.Message { return msg },
		Events: len(failing), Announce: failing})
	a.log.Warn("mass failure: most URLs failed within one window, one notice instead of batches",
		"failing", len(failing), "registered", registered, "by_state", fmt.Sprint(byState))
}

// checkIncident ends an open mass failure once the failing URLs are no longer
// a mass and none changed for one window (or the mass has been over for ten
// windows while some still flap). Its recovery notice is rendered when sent,
// so the count of URLs failing at that moment comes from the read model.
func (a *slackBatcher) checkIncident(now time.Time) {
	inc := a.incident
	if inc == nil {
		return
	}
	if a.isMass(inc.Failing(), a.model.Len()) {
		inc.ClearedAt = time.Time{}
		return
	}
	if inc.ClearedAt.IsZero() {
		inc.ClearedAt = now
	}
	if now.Sub(inc.LastChange) < a.cfg.BatchWindow && now.Sub(inc.ClearedAt) < 10*a.cfg.BatchWindow {
		return
	}
	rec, announce := inc.Recovery(now)
	a.incident = nil
	model := a.model
	a.backlog.PushNotice(&slack.Notice{Kind: slack.KindMassRecovery, Events: len(announce), Announce: announce,
		Render: func() slack.Message {
			r := rec
			r.Now = model.Counts()
			return r.Message()
		}})
	a.log.Info("mass failure over", "urls", rec.Total, "recovered", rec.Recovered, "still_failing", len(rec.Still),
		"lasted", rec.Lasted)
}

// next picks the next post: a notice at the head of the queue, or a batch of
// up to BatchSize events once it is due (full, its window closed, something
// folded, or a flush); nil when nothing is due. While a window may be turning
// into a mass failure, its events wait for its end.
func (a *slackBatcher) next() *slack.Outgoing {
	if a.backlog.NoticeFirst() {
		return a.backlog.TakeNotice()
	}
	suspect := a.window.IsOpen() && a.window.Failing() >= a.cfg.MassMinURLs && !a.flushing
	n, due := 0, a.flushing
	a.backlog.Head(a.cfg.BatchSize, func(q *slack.Queued) bool {
		current := a.window.Current(q.Window)
		if current && suspect {
			return false
		}
		if !current {
			due = true
		}
		n++
		return true
	})
	folded := a.backlog.Folded()
	if n == a.cfg.BatchSize || folded > 0 { // folded events are older than anything queued
		due = true
	}
	if !due || (n == 0 && folded == 0) {
		return nil
	}
	return a.backlog.TakeBatch(n)
}

// send starts the next due post; its result comes back as slackPosted, after
// the states it announces are persisted.
func (a *slackBatcher) send(now time.Time) {
	out := a.next()
	if out == nil {
		return
	}
	a.inflight = out
	var timeout time.Duration
	if a.flushing {
		timeout = a.cfg.FlushPostTimeout
	}
	announced, root, self := a.announced, a.root, a.self
	a.webhook.Post(now, out.Message(), timeout, func(res slack.Result) {
		if res.OK() {
			announced.Save(out.Announce)
		}
		root.Send(self, slackPosted{res: res})
	})
}

// onPosted removes what was delivered, or puts it back for a retry.
func (a *slackBatcher) onPosted(res slack.Result) {
	out := a.inflight
	if out == nil {
		return
	}
	a.inflight = nil
	a.backlog.Settle(out, res.OK())
	if res.OK() {
		a.announced.Delivered(out.Announce)
		a.webhook.Delivered()
		a.metrics.SlackMessages.WithLabelValues(out.Kind).Inc()
		a.metrics.SlackEvents.Add(float64(out.Count))
		a.log.Debug("slack message delivered", "kind", out.Kind, "events", out.Count, "folded", out.Folded.Count,
			"backlog", a.backlog.Events())
		return
	}
	if a.cfg.Silences != nil {
		a.withdrawSilenced() // the failed post is queued again: withdraw what a silence now covers
	}
	reason, wait := a.webhook.Failed(res, time.Now())
	a.metrics.SlackRetries.WithLabelValues(reason).Inc()
	a.log.Warn("slack delivery failed; will retry", "reason", reason, "status", res.Status, "err", res.Err,
		"slack_says", res.Body, "retry_in", wait, "attempt", a.webhook.Attempts(),
		"backlog", a.backlog.Events()+a.backlog.Folded())
}

// arm sets the timer for the next moment something may change: the window's
// end, the end of a mass failure, or the next allowed post.
func (a *slackBatcher) arm(now time.Time) {
	var at time.Time
	earliest := func(t time.Time) {
		if at.IsZero() || t.Before(at) {
			at = t
		}
	}
	if a.window.IsOpen() {
		earliest(a.window.End())
	}
	if inc := a.incident; inc != nil && !inc.ClearedAt.IsZero() {
		earliest(inc.LastChange.Add(a.cfg.BatchWindow))
		earliest(inc.ClearedAt.Add(10 * a.cfg.BatchWindow))
	}
	if a.inflight == nil && !a.backlog.Empty() {
		if t := a.webhook.ReadyAt(); t.After(now) {
			earliest(t)
		}
	}
	if at.IsZero() || (a.timer != nil && at.Equal(a.timerAt)) {
		return
	}
	if a.timer != nil {
		a.timer.Stop()
	}
	a.timerAt = at
	root, self := a.root, a.self
	a.timer = time.AfterFunc(max(at.Sub(now), 0), func() { root.Send(self, slackTick{}) })
}
