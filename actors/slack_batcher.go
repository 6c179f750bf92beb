package actors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/slack"
)

// SlackConfig configures the Slack batcher. Zero values take the defaults
// named on each field.
type SlackConfig struct {
	// HookURL is the incoming-webhook URL (SLACK_HOOK_URL). Required.
	HookURL string
	// BatchSize is the most events in one message (SLACK_BATCH_SIZE):
	// default and maximum 40.
	BatchSize int
	// BatchWindow is the longest wait between a batch's first event and its
	// sending (SLACK_BATCH_WINDOW), default 5s. It is also the window within
	// which a mass failure is detected.
	BatchWindow time.Duration
	// MaxBacklog is the most events waiting for Slack (SLACK_MAX_BACKLOG),
	// default 10,000; past it the oldest are folded into "…and N more changes".
	MaxBacklog int
	// MassMinURLs is the least number of URLs failing within one window that
	// can make a mass failure (they must also be more than half of all
	// registered URLs), default 20.
	MassMinURLs int
	// MinInterval is the least time between two posts, default 1s (Slack's
	// rate for incoming webhooks).
	MinInterval time.Duration
	// RetryBase and RetryMax bound the exponential backoff after 5xx, 4xx,
	// timeouts and network errors: defaults 1s and 2m. A 429 waits for its
	// Retry-After instead.
	RetryBase time.Duration
	RetryMax  time.Duration
	// Client posts the messages; default a client with a 10s timeout.
	Client *http.Client
	// Now is the clock (nil = time.Now).
	Now func() time.Time
}

// Defaults of SlackConfig.
const (
	DefaultSlackBatchSize   = 40
	DefaultSlackBatchWindow = 5 * time.Second
	DefaultSlackMaxBacklog  = 10_000
	DefaultSlackMassMinURLs = 20
	DefaultSlackMinInterval = time.Second
	DefaultSlackRetryBase   = time.Second
	DefaultSlackRetryMax    = 2 * time.Minute
	defaultSlackTimeout     = 10 * time.Second
	maxRetryAfter           = time.Hour
)

// withDefaults fills zero fields and caps the batch size at 40.
func (c SlackConfig) withDefaults() SlackConfig {
	if c.BatchSize <= 0 || c.BatchSize > slack.MaxEvents {
		c.BatchSize = DefaultSlackBatchSize
	}
	if c.BatchWindow <= 0 {
		c.BatchWindow = DefaultSlackBatchWindow
	}
	if c.MaxBacklog <= 0 {
		c.MaxBacklog = DefaultSlackMaxBacklog
	}
	if c.MassMinURLs <= 0 {
		c.MassMinURLs = DefaultSlackMassMinURLs
	}
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultSlackMinInterval
	}
	if c.RetryBase <= 0 {
		c.RetryBase = DefaultSlackRetryBase
	}
	if c.RetryMax < c.RetryBase {
		c.RetryMax = max(DefaultSlackRetryMax, c.RetryBase)
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: defaultSlackTimeout}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// AnnouncementStore persists the last state announced on Slack per URL, so a
// restart announces only what changed. persistence.Store implements it.
type AnnouncementStore interface {
	LoadAnnounced() (map[string]health.State, error)
	SaveAnnounced(map[string]health.State) error
}

// SlackFlush asks the batcher to deliver everything pending now, without
// waiting for batch windows (still at most one post per MinInterval). Send it
// with RequestFuture: the batcher responds with SlackFlushed once nothing is
// pending; if Slack is down, the future's timeout ends the wait.
type SlackFlush struct{}

// SlackFlushed is the answer to SlackFlush.
type SlackFlushed struct{}

// Message kinds, as counted by spo2_slack_messages_total{kind}.
const (
	slackKindBatch        = "batch"
	slackKindMassFailure  = "mass_failure"
	slackKindMassRecovery = "mass_recovery"
)

// NewSlackBatcherProps returns the props of the Slack batcher: an actor that
// subscribes to broadcaster, announces state changes on the webhook in
// batches, detects mass failures, and persists what it announced in store.
// model tells the number of registered URLs and their custom data; store and
// m may be nil (tests), log may not.
func NewSlackBatcherProps(cfg SlackConfig, broadcaster *actor.PID, model *readmodel.Model,
	store AnnouncementStore, m *metrics.Metrics, log *slog.Logger) *actor.Props {
	cfg = cfg.withDefaults()
	return actor.PropsFromProducer(func() actor.Actor {
		return &slackBatcher{cfg: cfg, broadcaster: broadcaster, model: model, store: store,
			metrics: m, log: log.With("actor", "slack")}
	})
}

// slackItem is one entry of the queue: an event, or a ready notice (mass
// failure or recovery).
type slackItem struct {
	seq      uint64
	url      string
	ev       slack.Event
	window   uint64 // the batch window the event arrived in
	inflight bool

	notice *slackNotice
}

type slackNotice struct {
	kind     string
	msg      slack.Message
	events   int
	announce map[string]health.State
}

// slackIncident is an open mass failure: the URLs in it, with their latest
// event. Failing events of any URL and recoveries of its URLs are absorbed.
type slackIncident struct {
	urls       map[string]slack.Event
	total      int
	removed    int
	started    time.Time
	lastChange time.Time
	clearedAt  time.Time
}

// slackOutgoing is the post in flight.
type slackOutgoing struct {
	kind           string
	seqs           []uint64
	events         int
	folded         slack.Folded
	foldedAnnounce map[string]health.State
	announce       map[string]health.State
	body           []byte
}

// slackTick wakes the batcher when a window ends or a post may go.
type slackTick struct{}

// slackResult is the outcome of one post.
type slackResult struct {
	status     int
	err        error
	retryAfter time.Duration
	body       string
}

type slackBatcher struct {
	cfg         SlackConfig
	broadcaster *actor.PID
	model       *readmodel.Model
	store       AnnouncementStore
	metrics     *metrics.Metrics
	log         *slog.Logger

	root   *actor.RootContext
	self   *actor.PID
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	announced map[string]health.State // last state queued or announced; absent = healthy

	queue   []*slackItem
	events  int            // event items in queue
	pending map[string]int // event items in queue per URL
	seq     uint64

	folded         slack.Folded
	foldedAnnounce map[string]health.State
	foldedToLog    int

	winOpen    bool
	winID      uint64
	winEnd     time.Time
	winFailing map[string]health.State

	incident *slackIncident

	inflight *slackOutgoing
	lastSend time.Time
	retryAt  time.Time
	attempt  int
	textOnly bool
	flushers []*actor.PID
	flushing bool
	timer    *time.Timer
	timerAt  time.Time
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
	case slackTick:
		a.timerAt = time.Time{} // the timer fired (or was stale): arm afresh
	case slackResult:
		a.onResult(msg)
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
	a.root = ctx.ActorSystem().Root
	a.self = ctx.Self()
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.announced = make(map[string]health.State)
	a.winFailing = make(map[string]health.State)
	a.pending = make(map[string]int)
	a.foldedAnnounce = make(map[string]health.State)
	a.folded.ByState = make(map[health.State]int)
	if a.store != nil {
		loaded, err := a.store.LoadAnnounced()
		if err != nil {
			a.log.Error("loading announced states failed; every failing URL will be announced again", "err", err)
		} else {
			a.announced = loaded
		}
	}
	if a.broadcaster != nil {
		ctx.Send(a.broadcaster, SubscribeActor{PID: ctx.Self()})
	}
	a.announceRestored()
	a.log.Info("slack batcher started", "batch_size", a.cfg.BatchSize, "batch_window", a.cfg.BatchWindow,
		"max_backlog", a.cfg.MaxBacklog, "announced", len(a.announced))
}

// announceRestored queues the restored states that were never announced: a
// change persisted just before a crash, whose message was not delivered, is
// announced after the restart instead of being lost.
func (a *slackBatcher) announceRestored() {
	if a.model == nil {
		return
	}
	for _, ref := range a.model.Snapshot() {
		st := ref.Status
		if st == nil || (st.State != health.Healthy && !st.State.Failing()) {
			continue
		}
		at := st.Since
		if st.CheckedAt != nil {
			at = *st.CheckedAt
		}
		a.onStatus(StatusChanged{URL: ref.Reg.URL, State: st.State, Previous: st.State, Code: st.Code,
			Error: st.Error, ErrorKind: st.ErrorKind, LatencyMS: st.LatencyMS, At: at})
	}
}

func (a *slackBatcher) stop() {
	if a.cancel == nil {
		return
	}
	a.cancel()
	if a.timer != nil {
		a.timer.Stop()
	}
	a.wg.Wait()
	if a.events > 0 || a.folded.Count > 0 || len(a.queue) > 0 {
		a.log.Warn("slack batcher stopped with undelivered changes", "events", a.events, "folded", a.folded.Count,
			"notices", len(a.queue)-a.events)
	}
	a.cancel = nil
}

func (a *slackBatcher) now() time.Time { return a.cfg.Now() }

// onStatus decides whether a state change is announced and queues it.
func (a *slackBatcher) onStatus(e StatusChanged) {
	if e.State != health.Healthy && !e.State.Failing() {
		return
	}
	var data json.RawMessage
	if a.model != nil {
		entry := a.model.Get(e.URL)
		if entry == nil {
			return // removed meanwhile: no alerts for it any more
		}
		if reg := entry.Registration(); reg != nil {
			data = reg.Data
		}
	}
	last, ok := a.announced[e.URL]
	if !ok {
		last = health.Healthy
	}
	if e.State == last {
		if e.State == health.Healthy {
			delete(a.winFailing, e.URL)
		}
		return
	}
	a.announced[e.URL] = e.State
	at := e.At
	if at.IsZero() {
		at = a.now()
	}
	ev := slack.Event{URL: e.URL, State: e.State, Previous: e.Previous, Code: e.Code, Error: e.Error,
		At: at, PreviousSince: e.PreviousSince, Data: slack.DataLine(data)}
	if ev.Previous == e.State { // first verdict after a restart, already in this state
		ev.Previous = last
		ev.PreviousSince = time.Time{}
	}

	if inc := a.incident; inc != nil {
		if _, in := inc.urls[e.URL]; e.State.Failing() || in {
			if !in {
				inc.total++
			}
			inc.urls[e.URL] = ev
			inc.lastChange = a.now()
			return
		}
	}

	if !a.winOpen {
		a.winOpen = true
		a.winEnd = a.now().Add(a.cfg.BatchWindow)
	}
	if e.State.Failing() {
		a.winFailing[e.URL] = e.State
	} else {
		delete(a.winFailing, e.URL)
	}
	a.seq++
	a.queue = append(a.queue, &slackItem{seq: a.seq, url: e.URL, ev: ev, window: a.winID})
	a.events++
	a.pending[e.URL]++
	a.fold()
}

// fold keeps at most MaxBacklog events queued: the oldest not in flight are
// counted in the folded line instead. The oldest foldable event sits behind
// at most one batch in flight and a few notices, so each fold is cheap.
func (a *slackBatcher) fold() {
	for a.events > a.cfg.MaxBacklog {
		k := 0
		for k < len(a.queue) && (a.queue[k].notice != nil || a.queue[k].inflight) {
			k++
		}
		if k == len(a.queue) {
			return
		}
		it := a.queue[k]
		copy(a.queue[1:k+1], a.queue[:k])
		a.queue[0] = nil
		a.queue = a.queue[1:]
		a.unqueued(it)
		a.folded.Count++
		a.folded.ByState[it.ev.State]++
		a.foldedAnnounce[it.url] = it.ev.State
		a.foldedToLog++
		if a.metrics != nil {
			a.metrics.SlackFolded.Inc()
		}
	}
}

// unqueued accounts for an event item leaving the queue.
func (a *slackBatcher) unqueued(it *slackItem) {
	a.events--
	if n := a.pending[it.url] - 1; n > 0 {
		a.pending[it.url] = n
	} else {
		delete(a.pending, it.url)
	}
}

// onRemoved forgets a URL: its pending events, its announced state, its part
// in a mass failure.
func (a *slackBatcher) onRemoved(url string) {
	delete(a.announced, url)
	delete(a.winFailing, url)
	delete(a.foldedAnnounce, url)
	if a.incident != nil {
		if _, ok := a.incident.urls[url]; ok {
			delete(a.incident.urls, url)
			a.incident.removed++
		}
	}
	if a.pending[url] == 0 {
		return
	}
	keep := a.queue[:0]
	for _, it := range a.queue {
		if it.notice == nil && it.url == url {
			a.unqueued(it)
			continue
		}
		keep = append(keep, it)
	}
	clear(a.queue[len(keep):])
	a.queue = keep
}

// step closes a due window, ends a mass failure that is over, starts a post
// when one is due and allowed, answers flushes, and arms the timer.
func (a *slackBatcher) step(ctx actor.Context) {
	now := a.now()
	if a.winOpen && (a.flushing || !now.Before(a.winEnd)) {
		a.closeWindow(now)
	}
	a.checkIncident(now)
	if a.foldedToLog > 0 {
		a.log.Warn("slack backlog full: oldest changes folded into a count", "folded_now", a.foldedToLog,
			"folded_pending", a.folded.Count, "max_backlog", a.cfg.MaxBacklog)
		a.foldedToLog = 0
	}
	if a.inflight == nil && !now.Before(a.retryAt) && !now.Before(a.lastSend.Add(a.cfg.MinInterval)) {
		a.send(now)
	}
	if a.metrics != nil {
		a.metrics.SlackBacklog.Set(float64(a.events + a.folded.Count))
	}
	if a.flushing && a.inflight == nil && len(a.queue) == 0 && a.folded.Count == 0 {
		for _, pid := range a.flushers {
			ctx.Send(pid, SlackFlushed{})
		}
		a.flushers = nil
		a.flushing = false
	}
	a.arm(now)
}

// closeWindow ends the current batch window; if enough URLs failed in it,
// their events become one mass-failure notice.
func (a *slackBatcher) closeWindow(now time.Time) {
	a.winOpen = false
	failing := len(a.winFailing)
	registered := failing
	if a.model != nil {
		registered = a.model.Len()
	}
	if a.incident == nil && failing >= a.cfg.MassMinURLs && failing*2 > registered {
		inc := &slackIncident{urls: make(map[string]slack.Event, failing), total: failing, started: now, lastChange: now}
		byState := make(map[health.State]int)
		announce := make(map[string]health.State, failing)
		for url, st := range a.winFailing {
			byState[st]++
			announce[url] = st
		}
		var sample []slack.Event
		keep := a.queue[:0]
		for _, it := range a.queue {
			if it.notice == nil && !it.inflight && it.window == a.winID && it.ev.State.Failing() && a.winFailing[it.url] != "" {
				sample = append(sample, it.ev)
				inc.urls[it.url] = it.ev
				a.unqueued(it)
				continue
			}
			keep = append(keep, it)
		}
		clear(a.queue[len(keep):])
		a.queue = keep
		for url, st := range a.winFailing {
			if _, ok := inc.urls[url]; !ok { // announced on its own line already
				inc.urls[url] = slack.Event{URL: url, State: st}
			}
		}
		a.incident = inc
		a.enqueueNotice(slackKindMassFailure, slack.MassFailure{Failed: failing, Registered: registered,
			Window: a.cfg.BatchWindow, ByState: byState, Sample: sample}.Message(), failing, announce)
		a.log.Warn("mass failure: most URLs failed within one window, one notice instead of batches",
			"failing", failing, "registered", registered, "by_state", fmt.Sprint(byState))
	}
	a.winFailing = make(map[string]health.State)
	a.winID++
}

// checkIncident ends an open mass failure once the failing URLs are no longer
// a mass and none changed for one window (or the mass has been over for ten
// windows while some still flap).
func (a *slackBatcher) checkIncident(now time.Time) {
	inc := a.incident
	if inc == nil {
		return
	}
	still := 0
	for _, ev := range inc.urls {
		if ev.State.Failing() {
			still++
		}
	}
	registered := len(inc.urls)
	if a.model != nil {
		registered = a.model.Len()
	}
	if still >= a.cfg.MassMinURLs && still*2 > registered {
		inc.clearedAt = time.Time{}
		return
	}
	if inc.clearedAt.IsZero() {
		inc.clearedAt = now
	}
	if now.Sub(inc.lastChange) < a.cfg.BatchWindow && now.Sub(inc.clearedAt) < 10*a.cfg.BatchWindow {
		return
	}
	rec := slack.MassRecovery{Total: inc.total, Removed: inc.removed, Lasted: now.Sub(inc.started),
		StillByState: make(map[health.State]int)}
	announce := make(map[string]health.State, len(inc.urls))
	for url, ev := range inc.urls {
		announce[url] = ev.State
		if ev.State.Failing() {
			rec.StillByState[ev.State]++
			rec.Still = append(rec.Still, ev)
		} else {
			rec.Recovered++
		}
	}
	sort.Slice(rec.Still, func(i, j int) bool { return rec.Still[i].URL < rec.Still[j].URL })
	a.incident = nil
	a.enqueueNotice(slackKindMassRecovery, rec.Message(), len(inc.urls), announce)
	a.log.Info("mass failure over", "urls", inc.total, "recovered", rec.Recovered, "still_failing", still,
		"lasted", now.Sub(inc.started))
}

func (a *slackBatcher) enqueueNotice(kind string, msg slack.Message, events int, announce map[string]health.State) {
	a.seq++
	a.queue = append(a.queue, &slackItem{seq: a.seq,
		notice: &slackNotice{kind: kind, msg: msg, events: events, announce: announce}})
}

// next picks the next post: a notice at the head of the queue, or a batch of
// up to BatchSize events once it is due (full, or its window closed, or a
// flush); nil when nothing is due.
func (a *slackBatcher) next() *slackOutgoing {
	if len(a.queue) > 0 && a.queue[0].notice != nil {
		n := a.queue[0].notice
		return &slackOutgoing{kind: n.kind, seqs: []uint64{a.queue[0].seq}, events: n.events,
			announce: n.announce, body: a.encode(n.msg)}
	}
	suspect := a.winOpen && len(a.winFailing) >= a.cfg.MassMinURLs && !a.flushing
	var items []*slackItem
	due := a.flushing
	for _, it := range a.queue {
		if it.notice != nil || len(items) == a.cfg.BatchSize {
			break
		}
		current := a.winOpen && it.window == a.winID
		if current && suspect {
			break
		}
		if !current {
			due = true
		}
		items = append(items, it)
	}
	if len(items) == a.cfg.BatchSize {
		due = true
	}
	if a.folded.Count > 0 { // folded events are older than anything queued
		due = true
	}
	if !due || (len(items) == 0 && a.folded.Count == 0) {
		return nil
	}
	out := &slackOutgoing{kind: slackKindBatch, events: len(items), folded: a.folded,
		foldedAnnounce: a.foldedAnnounce, announce: make(map[string]health.State, len(items)+len(a.foldedAnnounce))}
	events := make([]slack.Event, len(items))
	for url, st := range a.foldedAnnounce {
		out.announce[url] = st
	}
	for i, it := range items {
		it.inflight = true
		out.seqs = append(out.seqs, it.seq)
		events[i] = it.ev
		out.announce[it.url] = it.ev.State
	}
	a.folded = slack.Folded{ByState: make(map[health.State]int)}
	a.foldedAnnounce = make(map[string]health.State)
	out.body = a.encode(slack.Batch(events, out.folded))
	return out
}

// encode marshals a message, text only after Slack refused blocks.
func (a *slackBatcher) encode(msg slack.Message) []byte {
	if err := slack.Validate(msg); err != nil {
		a.log.Error("rendered Slack message breaks Slack's limits; sending text only", "err", err)
		msg = msg.TextOnly()
	}
	if a.textOnly {
		msg = msg.TextOnly()
	}
	b, err := json.Marshal(msg)
	if err != nil { // cannot happen: strings and slices only
		a.log.Error("encoding Slack message failed", "err", err)
		b = []byte(`{"text":"SpO₂: a message could not be encoded; see the logs"}`)
	}
	return b
}

// send starts the next due post in a goroutine; its result comes back as a
// slackResult message.
func (a *slackBatcher) send(now time.Time) {
	out := a.next()
	if out == nil {
		return
	}
	a.inflight = out
	a.lastSend = now
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		res := a.post(out.body)
		if res.err == nil && res.status/100 == 2 && a.store != nil && len(out.announce) > 0 {
			if err := a.store.SaveAnnounced(out.announce); err != nil {
				a.log.Error("persisting announced states failed; they may be announced again after a restart",
					"urls", len(out.announce), "err", err)
			}
		}
		a.root.Send(a.self, res)
	}()
}

// post makes one attempt; it runs outside the actor.
func (a *slackBatcher) post(body []byte) slackResult {
	req, err := http.NewRequestWithContext(a.ctx, http.MethodPost, a.cfg.HookURL, bytes.NewReader(body))
	if err != nil {
		return slackResult{err: fmt.Errorf("build slack request: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	resp, err := a.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its message holds the webhook URL, a secret
		}
		return slackResult{err: fmt.Errorf("post to slack webhook: %w", err)}
	}
	defer resp.Body.Close()
	text, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	res := slackResult{status: resp.StatusCode, body: string(text)}
	if resp.StatusCode == http.StatusTooManyRequests {
		res.retryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), a.now())
	}
	return res
}

// parseRetryAfter reads seconds or an HTTP date; 1s when absent or invalid,
// at most an hour.
func parseRetryAfter(v string, now time.Time) time.Duration {
	d := time.Second
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	return min(max(d, 0), maxRetryAfter)
}

// onResult removes what was delivered, or schedules the retry.
func (a *slackBatcher) onResult(res slackResult) {
	out := a.inflight
	if out == nil {
		return
	}
	a.inflight = nil
	sent := make(map[uint64]bool, len(out.seqs))
	for _, s := range out.seqs {
		sent[s] = true
	}
	ok := res.err == nil && res.status/100 == 2
	keep := a.queue[:0]
	for _, it := range a.queue {
		if sent[it.seq] {
			it.inflight = false
			if ok {
				if it.notice == nil {
					a.unqueued(it)
				}
				continue
			}
		}
		keep = append(keep, it)
	}
	clear(a.queue[len(keep):])
	a.queue = keep

	if ok {
		a.attempt = 0
		a.textOnly = false
		if a.metrics != nil {
			a.metrics.SlackMessages.WithLabelValues(out.kind).Inc()
			a.metrics.SlackEvents.Add(float64(out.events))
		}
		a.log.Debug("slack message delivered", "kind", out.kind, "events", out.events, "folded", out.folded.Count,
			"backlog", a.events)
		return
	}

	// Failed: the folded count goes back, merged with anything folded since.
	a.folded.Count += out.folded.Count
	for s, n := range out.folded.ByState {
		a.folded.ByState[s] += n
	}
	for url, st := range out.foldedAnnounce {
		if _, newer := a.foldedAnnounce[url]; !newer {
			a.foldedAnnounce[url] = st
		}
	}
	a.attempt++
	var reason string
	var wait time.Duration
	switch {
	case res.err != nil:
		reason = "network"
		var ne net.Error
		if errors.Is(res.err, context.DeadlineExceeded) || (errors.As(res.err, &ne) && ne.Timeout()) {
			reason = "timeout"
		}
		wait = a.backoff()
	case res.status == http.StatusTooManyRequests:
		reason = "429"
		wait = res.retryAfter
	case res.status >= 500:
		reason = "5xx"
		wait = a.backoff()
	default:
		reason = "4xx"
		wait = a.backoff()
		if res.status == http.StatusBadRequest && !a.textOnly {
			a.textOnly = true // Slack refused the blocks: the text alone goes next
		}
	}
	if a.ctx.Err() != nil {
		return // stopping: the request was cancelled
	}
	a.retryAt = a.now().Add(wait)
	if a.metrics != nil {
		a.metrics.SlackRetries.WithLabelValues(reason).Inc()
	}
	a.log.Warn("slack delivery failed; will retry", "reason", reason, "status", res.status, "err", res.err,
		"slack_says", res.body, "retry_in", wait, "attempt", a.attempt, "backlog", a.events+a.folded.Count)
}

// backoff is the capped exponential delay with jitter before retry number
// a.attempt: between half and all of min(RetryMax, RetryBase·2^(attempt-1)).
func (a *slackBatcher) backoff() time.Duration {
	d := a.cfg.RetryBase
	for i := 1; i < a.attempt && d < a.cfg.RetryMax; i++ {
		d *= 2
	}
	d = min(d, a.cfg.RetryMax)
	return d/2 + rand.N(d/2+1)
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
	if a.winOpen {
		earliest(a.winEnd)
	}
	if inc := a.incident; inc != nil && !inc.clearedAt.IsZero() {
		earliest(inc.lastChange.Add(a.cfg.BatchWindow))
		earliest(inc.clearedAt.Add(10 * a.cfg.BatchWindow))
	}
	if a.inflight == nil && (len(a.queue) > 0 || a.folded.Count > 0) {
		t := a.lastSend.Add(a.cfg.MinInterval)
		if a.retryAt.After(t) {
			t = a.retryAt
		}
		if t.After(now) {
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
