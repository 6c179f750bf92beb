package actors

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/schedule"
	"github.com/spo2/spo2/actors/target"
)

// StatusSaver keeps a URL's latest status across restarts, lazily.
type StatusSaver interface {
	SaveStatus(url string, st health.Status)
}

// HistorySaver keeps a URL's history of state changes across restarts,
// lazily (persistence.Store does).
type HistorySaver interface {
	SaveHistory(url string, h *history.Log)
}

// Prober sends one probe and judges its answer; it returns within about
// timeout, or sooner when ctx ends (probe.Prober does).
type Prober interface {
	Probe(ctx context.Context, url string, timeout time.Duration, expect health.Expect) health.Outcome
}

// Timers arms periodic timers (schedule.Scheduler does): t, stopped, calls
// f.Fire at first and every period after it until t is stopped.
type Timers interface {
	Start(t *schedule.Timer, first time.Time, period time.Duration, f schedule.Firer)
}

// CheckerDeps are what every URL checker shares.
type CheckerDeps struct {
	Prober Prober
	// Pool runs probes; its size bounds probes in flight, and closing it
	// ends every probe (at shutdown).
	Pool      *probe.Pool
	Scheduler Timers
	Statuses  StatusSaver
	// Histories saves each URL's history after a change; nil keeps
	// histories in memory only.
	Histories HistorySaver
	// HistoryLimit is how many changes each URL's history keeps
	// (history.DefaultLimit when 0).
	HistoryLimit int
	Metrics      *metrics.Metrics
	Log          *slog.Logger
}

// URLChecker is the actor of one registered URL. It owns the URL's timer, its
// probe settings and its state machine. Each tick of its timer starts a probe
// on a probe-pool worker (never inside Receive); the result comes back as a
// message and is dropped unless it belongs to the checker's current run (a
// run ends when the settings change, the actor restarts or stops). A tick that comes while the
// previous probe still runs is skipped. The current status is written to the URL's read-model entry after
// every probe; each state change is also added to the entry's history, saved
// and sent to the parent (the supervisor) as a StatusChanged event.
//
// A paused URL's checker has no timer: it probes nothing, and drops the
// result of a probe that was under way when the pause came. Resumed, it
// probes at once.
//
// A checker learns its URL from its first message, attach. A restarted
// checker (after a panic) is attached again and reads its settings and status
// back from its read-model entry, so it carries on where it was.
//
// A checker is small (32 bytes, and its run with its timer 160):
// its URL, settings and status live in its read-model entry, which the
// supervisor updates before it forwards new settings.
type URLChecker struct {
	deps  *CheckerDeps
	entry *readmodel.Entry
	// run is the current run, nil when disarmed. A result is the run that
	// probed, so a result of any other run — before a settings change, or
	// of an incarnation that crashed — is told apart by its pointer: a run
	// is not collected, so not reused, while a result of it is on its way.
	run     *probeRun
	tracker health.Tracker
}

// attach gives a new or restarted checker its URL's read-model entry, and
// the span its first probe falls in (0: one interval).
type attach struct {
	entry       *readmodel.Entry
	firstWithin time.Duration
}

// UpdateSettings tells a checker that its settings (in its read-model entry)
// changed: it re-arms its timer and drops the result of any probe in flight.
// A paused URL's checker only disarms: it probes nothing until resumed.
type UpdateSettings struct{}

// resume tells the checker of a URL no longer paused to probe at once; the
// first verdict sets its state at once.
type resume struct{}

// checkerStatus carries a state change from a checker to its supervisor.
type checkerStatus struct {
	checker *actor.PID
	entry   *readmodel.Entry // the checker's
	event   StatusChanged
}

// newURLCheckerProps returns the props every checker shares. Its mailbox is
// checkerMailbox: a checker's messages are handled by the goroutine that
// sends them when the checker is idle (a probe's result by the pool worker
// that ran the probe), instead of by a new goroutine per burst of messages,
// and a result is posted without an allocation. A checker's handlers never
// block and never wait for another actor, so a sender is held only for the
// few microseconds they take; the mailbox still runs one handler at a time.
func newURLCheckerProps(deps *CheckerDeps) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &URLChecker{deps: deps}
	}, actor.WithMailbox(newCheckerMailbox))
}

// Receive handles attachment, probe results and settings updates.
func (c *URLChecker) Receive(ctx actor.Context) {
	if _, isAttach := ctx.Message().(attach); c.entry == nil && !isAttach {
		// Not attached yet (or restarted): only attach matters. A result that
		// comes now belongs to a run of an earlier incarnation.
		if run, ok := ctx.Message().(*probeRun); ok {
			run.probing.Store(false)
			c.deps.Metrics.ProbeResultsDropped.Inc()
		}
		return
	}
	switch msg := ctx.Message().(type) {
	case attach:
		c.entry = msg.entry
		c.tracker = health.Tracker{}
		if !c.entry.Registration().Paused {
			c.arm(ctx, msg.firstWithin)
		}
	case *probeRun: // a probe's result
		outcome := msg.outcome
		msg.probing.Store(false)
		if msg != c.run {
			c.deps.Metrics.ProbeResultsDropped.Inc() // settings changed or the checker restarted since
			return
		}
		c.observe(ctx, outcome)
	case UpdateSettings:
		c.disarm()
		if !c.entry.Registration().Paused {
			c.arm(ctx, 0)
		}
	case resume:
		c.disarm()
		c.tracker = health.Tracker{}
		c.armAt(ctx, time.Now())
	case *actor.Restarting, *actor.Stopping:
		c.disarm()
	}
}

// arm starts a new run with a timer whose first tick falls at a random
// point within firstWithin (the interval when 0), so that many checkers
// started together spread out.
func (c *URLChecker) arm(ctx actor.Context, firstWithin time.Duration) {
	interval := c.entry.Registration().Probe.Interval
	if firstWithin <= 0 || firstWithin > interval {
		firstWithin = interval
	}
	c.armAt(ctx, time.Now().Add(rand.N(firstWithin)))
}

// armAt starts a new run with a timer whose first tick is at first.
func (c *URLChecker) armAt(ctx actor.Context, first time.Time) {
	to, _ := ctx.ActorSystem().ProcessRegistry.Get(ctx.Self())
	r := &probeRun{c: c, self: ctx.Self(), to: to}
	c.run = r
	c.deps.Scheduler.Start(&r.timer, first, c.entry.Registration().Probe.Interval, r)
}

// disarm stops the timer and abandons any probe in flight: its result will
// carry an old generation and be dropped.
func (c *URLChecker) disarm() {
	if c.run != nil {
		c.run.timer.Stop()
		c.run = nil
	}
}

// probeRun is one run of a checker's timer, from arming to disarming. Its ticks start probes on
// the pool directly — the checker's mailbox sees only results — and a tick
// that comes while the previous probe of this generation runs is skipped.
//
// The run itself is the result message: a probe stores its outcome in the
// run and sends the run's pointer, which allocates nothing, straight to the
// checker's process, resolved once when the run is armed (a result for a
// checker that has stopped since is dropped by it). The run stays
// "probing" until the checker has read the outcome, so the next probe
// cannot overwrite it. The run holds its timer and is both the timer's
// Firer and the pool's Runner: arming a run is one allocation. It reads its
// checker's entry and dependencies, which are set before it is armed and
// never change (a restarted checker is a new one).
type probeRun struct {
	timer   schedule.Timer
	probing atomic.Bool
	c       *URLChecker // the incarnation that armed it
	self    *actor.PID
	to      actor.Process  // the checker's process
	outcome health.Outcome // the latest probe's; read by the checker
}

// Fire is a tick of the run's timer, on the scheduler's goroutine: it must
// not block, and it does not allocate.
func (r *probeRun) Fire(scheduled time.Time) {
	if !r.probing.CompareAndSwap(false, true) {
		r.c.deps.Metrics.ProbesSkipped.Inc()
		return
	}
	if !r.c.deps.Pool.Submit(probe.Job{Runner: r, At: scheduled}) {
		r.probing.Store(false)
	}
}

// Run probes on a pool worker. A probe that could not start within one
// interval of its scheduled time is skipped: under overload the probe rate
// drops instead of lag piling up. When a result is sent, the checker
// releases the flag once it has read the outcome (results reach it in probe
// order); otherwise the probe releases it here.
func (r *probeRun) Run(ctx context.Context, scheduled time.Time) {
	reg := r.c.entry.Registration()
	if reg.Paused { // paused since the tick: its checker is about to disarm
		r.probing.Store(false)
		return
	}
	lag := time.Since(scheduled) // one clock read for the skip and the lag metric
	if lag > reg.Probe.Interval {
		r.c.deps.Metrics.ProbesSkipped.Inc()
		r.probing.Store(false)
		return
	}
	outcome, ok := runProbe(ctx, r.c.deps, reg.URL, reg.Probe, lag)
	if !ok {
		r.probing.Store(false)
		return
	}
	r.outcome = outcome
	r.to.SendUserMessage(r.self, r)
}

// runProbe probes on a pool worker, lag after its scheduled time, and reports
// false when the pool is closing (SpO₂ is shutting down). A panic in the
// probe becomes an "other" outcome.
func runProbe(ctx context.Context, deps *CheckerDeps, url string, s health.Settings, lag time.Duration) (out health.Outcome, ok bool) {
	if ctx.Err() != nil {
		return out, false
	}
	deps.Metrics.ScheduleLag.Observe(lag.Seconds())
	defer func() {
		if r := recover(); r != nil {
			deps.Log.Error("probe panicked", "url", target.Mask(url), "panic", r)
			out = health.Outcome{At: time.Now(), Kind: health.KindOther, Err: fmt.Sprintf("other: internal error: %v", r)}
			ok = true
		}
	}()
	out = deps.Prober.Probe(ctx, url, s.Timeout, s.Expect)
	if ctx.Err() != nil {
		return out, false // shutting down
	}
	return out, true
}

func (c *URLChecker) observe(ctx actor.Context, o health.Outcome) {
	m := c.deps.Metrics
	if o.Inconclusive { // SpO₂ was overloaded: the outcome says nothing about the URL
		m.ProbesInconclusive.Inc()
		return
	}
	outcome := string(o.Kind)
	if o.Answered {
		outcome = string(o.Verdict())
	}
	m.ProbeOutcome(outcome).Inc()
	m.ProbeLatency.Observe(o.Latency.Seconds())

	// The status first: the supervisor pauses a URL by storing its
	// registration, then its paused status.
	before := c.entry.Status()
	reg := c.entry.Registration()
	if reg.Paused { // paused while the probe ran: its result means nothing now
		m.ProbeResultsDropped.Inc()
		return
	}
	st, changed := c.tracker.Next(before, o, reg.Probe.FailureThreshold, reg.Probe.SuccessThreshold)
	if !c.entry.CompareAndSwapStatus(before, st) { // the supervisor paused the URL meanwhile
		m.ProbeResultsDropped.Inc()
		return
	}
	if !changed {
		return
	}
	previous := before.State
	m.StateChanges.WithLabelValues(string(st.State)).Inc()
	c.deps.Statuses.SaveStatus(reg.URL, *st)
	h := c.entry.AddChange(history.NewChange(st.Since, st.State, previous, st.Code, st.ErrorKind), c.deps.HistoryLimit)
	if c.deps.Histories != nil {
		c.deps.Histories.SaveHistory(reg.URL, h)
	}
	c.deps.Log.Info("state changed", "url", target.Mask(reg.URL), "state", st.State, "previous", previous,
		"code", st.Code, "error", st.Error)
	parent := ctx.Parent()
	if parent == nil {
		return // spawned from the root, without a supervisor: nobody to tell
	}
	ctx.Send(parent, checkerStatus{checker: ctx.Self(), entry: c.entry, event: StatusChanged{
		URL: reg.URL, State: st.State, Previous: previous, Code: st.Code, Error: st.Error,
		ErrorKind: st.ErrorKind, LatencyMS: st.LatencyMS, At: *st.CheckedAt, PreviousSince: before.Since,
	}})
}
