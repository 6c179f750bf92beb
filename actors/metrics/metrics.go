// Package metrics holds SpO₂'s Prometheus collectors, registered on one
// registry that /metrics serves.
package metrics

import (
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	dto "github.com/prometheus/client_model/go"
)

// Metrics are every collector SpO₂ exports. All names start with "spo2_".
type Metrics struct {
	Registry *prometheus.Registry

	Probes              *prometheus.CounterVec // spo2_probes_total{outcome}: healthy, unhealthy, refused, timeout, …
	ProbeLatency        prometheus.Histogram   // spo2_probe_duration_seconds
	ScheduleLag         prometheus.Histogram   // spo2_schedule_lag_seconds: probe start minus its scheduled time
	ProbesSkipped       prometheus.Counter     // spo2_probes_skipped_total: the previous probe still ran, or the probe could not start within an interval
	StateChanges        *prometheus.CounterVec // spo2_state_changes_total{state}
	ProbeResultsDropped prometheus.Counter     // spo2_probe_results_dropped_total: results of an outdated probe run
	EventsBroadcast     *prometheus.CounterVec // spo2_events_broadcast_total{type}
	WSClients           prometheus.Gauge       // spo2_websocket_clients
	WSDropped           *prometheus.CounterVec // spo2_websocket_disconnects_total{reason}
	StoreWrites         *prometheus.CounterVec // spo2_store_commits_total{kind}: group commits
	StoreWriteTime      prometheus.Histogram   // spo2_store_commit_duration_seconds
	ActorRestarts       prometheus.Counter     // spo2_actor_restarts_total
	URLCheckers         prometheus.Gauge       // spo2_url_checkers: URL checker actors running
	SlackMessages       *prometheus.CounterVec // spo2_slack_messages_total{kind}: batch, mass_failure, mass_recovery
	SlackEvents         prometheus.Counter     // spo2_slack_events_delivered_total
	SlackRetries        *prometheus.CounterVec // spo2_slack_retries_total{reason}
	SlackFolded         prometheus.Counter     // spo2_slack_events_folded_total: folded into "…and N more"
	SlackBacklog        prometheus.Gauge       // spo2_slack_backlog
	HTTPRequests        *prometheus.CounterVec // spo2_http_requests_total{route,code}
	ProbeDials          prometheus.Counter     // spo2_probe_connections_opened_total
	StoreRefused        *prometheus.CounterVec // spo2_store_writes_refused_total{kind}: durable, status, announced
	// ProbesInconclusive is spo2_probes_inconclusive_total: outcomes not
	// counted against their URL because SpO₂ was overloaded.
	ProbesInconclusive prometheus.Counter
	// LeasesExpired is spo2_leases_expired_total: URLs removed because no
	// PUT renewed their lease within its ttl.
	LeasesExpired prometheus.Counter
	// SlackSuppressed is spo2_slack_events_suppressed_total: changes not
	// announced on Slack because a silence covered their URL.
	SlackSuppressed prometheus.Counter
	// WSResumes is spo2_websocket_resumes_total{result}: stream clients that
	// connected with ?since=, by what they got: "replayed" (the events they
	// missed) or "snapshot" (those were no longer kept).
	WSResumes *prometheus.CounterVec

	outcomes map[string]prometheus.Counter // Probes resolved per known outcome; read-only
}

// ProbeOutcomes are the outcome labels of spo2_probes_total.
var ProbeOutcomes = []string{"healthy", "unhealthy", "refused", "timeout", "dns", "tls", "reset", "protocol", "other"}

// ProbeOutcome returns the spo2_probes_total counter of outcome, resolved
// once for the known outcomes (it is on every probe's path).
func (m *Metrics) ProbeOutcome(outcome string) prometheus.Counter {
	if c, ok := m.outcomes[outcome]; ok {
		return c
	}
	return m.Probes.WithLabelValues(outcome)
}

// New creates and registers every collector on a fresh registry, with the Go
// runtime and process collectors.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(c prometheus.Collector) { r.MustRegister(c) }
	m := &Metrics{Registry: r}

	m.Probes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_probes_total", Help: "Probes by outcome: healthy, unhealthy, or the error kind of an unreachable probe."}, []string{"outcome"})
	m.ProbeLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "spo2_probe_duration_seconds", Help: "Time from sending a probe to its outcome.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 14)})
	m.ScheduleLag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "spo2_schedule_lag_seconds", Help: "Delay between a probe's scheduled time and its start.", Buckets: []float64{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}})
	m.ProbesSkipped = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_probes_skipped_total", Help: "Probes skipped: the URL's previous probe was still running, or the probe could not start within one interval of its scheduled time."})
	m.ProbeResultsDropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_probe_results_dropped_total", Help: "Probe results dropped because the URL's settings changed, or its checker restarted or stopped, while the probe ran."})
	m.StateChanges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_state_changes_total", Help: "State changes by new state."}, []string{"state"})
	m.EventsBroadcast = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_events_broadcast_total", Help: "Events fanned out to subscribers, by type."}, []string{"type"})
	m.WSClients = prometheus.NewGauge(prometheus.GaugeOpts{Name: "spo2_websocket_clients", Help: "Connected WebSocket clients."})
	m.WSDropped = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_websocket_disconnects_total", Help: "WebSocket disconnections by reason."}, []string{"reason"})
	m.StoreWrites = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_store_commits_total", Help: "Group commits to the store, by kind (durable, status)."}, []string{"kind"})
	m.StoreWriteTime = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "spo2_store_commit_duration_seconds", Help: "Duration of one durable group commit, fsync included.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.ActorRestarts = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_actor_restarts_total", Help: "URL actors restarted after a panic."})
	m.URLCheckers = prometheus.NewGauge(prometheus.GaugeOpts{Name: "spo2_url_checkers", Help: "URL checker actors running: one per registered URL."})
	m.SlackMessages = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_slack_messages_total", Help: "Slack messages delivered, by kind."}, []string{"kind"})
	m.SlackEvents = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_slack_events_delivered_total", Help: "State-change events delivered to Slack."})
	m.SlackRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_slack_retries_total", Help: "Slack delivery retries, by reason (429, 5xx, network)."}, []string{"reason"})
	m.SlackFolded = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_slack_events_folded_total", Help: "Events folded into an '…and N more changes' line because the backlog was full."})
	m.SlackBacklog = prometheus.NewGauge(prometheus.GaugeOpts{Name: "spo2_slack_backlog", Help: "Events waiting for Slack delivery."})
	m.HTTPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_http_requests_total", Help: "API requests by route and status code."}, []string{"route", "code"})

	m.ProbeDials = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_probe_connections_opened_total", Help: "TCP connections opened by probes (kept-alive connections are reused and not counted again)."})
	m.StoreRefused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_store_writes_refused_total", Help: "Store writes refused because the disk is almost full, by kind: durable (client writes, answered 507), status (postponed status and history flushes), announced."}, []string{"kind"})
	for _, kind := range []string{"durable", "status", "announced"} {
		m.StoreRefused.WithLabelValues(kind) // exported as 0 from the start
	}
	m.ProbesInconclusive = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_probes_inconclusive_total", Help: "Probe outcomes ignored because SpO₂ was overloaded when they timed out (or ran out of descriptors or ports)."})
	m.LeasesExpired = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_leases_expired_total", Help: "URLs removed because no PUT renewed their lease within its ttl."})
	m.SlackSuppressed = prometheus.NewCounter(prometheus.CounterOpts{Name: "spo2_slack_events_suppressed_total", Help: "State changes not announced on Slack because a silence covered their URL (a change still differing from the last announced state when the silence ends is announced then)."})
	f(m.SlackSuppressed)
	m.WSResumes = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "spo2_websocket_resumes_total", Help: "WebSocket clients that resumed with ?since=, by what they got: replayed (the events they missed) or snapshot (those were no longer kept)."}, []string{"result"})
	for _, result := range []string{"replayed", "snapshot"} {
		m.WSResumes.WithLabelValues(result) // exported as 0 from the start
	}
	r.MustRegister(m.WSResumes)
	m.outcomes = make(map[string]prometheus.Counter, len(ProbeOutcomes))
	for _, o := range ProbeOutcomes {
		m.outcomes[o] = m.Probes.WithLabelValues(o)
	}

	for _, c := range []prometheus.Collector{m.ProbeDials, m.Probes, m.ProbeLatency, m.ScheduleLag,
		m.ProbesSkipped, m.ProbeResultsDropped, m.StateChanges, m.EventsBroadcast, m.WSClients, m.WSDropped, m.StoreWrites, m.StoreWriteTime,
		m.ActorRestarts, m.URLCheckers, m.SlackMessages, m.SlackEvents, m.SlackRetries, m.SlackFolded, m.SlackBacklog, m.HTTPRequests,
		m.StoreRefused, m.ProbesInconclusive, m.LeasesExpired} {
		f(c)
	}
	return m
}

// CountProbesInFlight registers spo2_probes_in_flight, read from busy (the
// probe pool's count of running probes) at each scrape.
func (m *Metrics) CountProbesInFlight(busy func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_probes_in_flight", Help: "Probes currently running."}, func() float64 { return float64(busy()) }))
}

// CountSilences registers spo2_silences_active, read from active (the
// number of active silences) at each scrape.
func (m *Metrics) CountSilences(active func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_silences_active", Help: "Active silences (POST /silences)."}, func() float64 { return float64(active()) }))
}

// CountStoreFree registers spo2_store_free_bytes, read from free (the free
// space on the store's filesystem) at each scrape; NaN when it cannot be read.
func (m *Metrics) CountStoreFree(free func() (uint64, error)) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_store_free_bytes", Help: "Free bytes on the filesystem holding DB_PATH."}, func() float64 {
		n, err := free()
		if err != nil {
			return math.NaN()
		}
		return float64(n)
	}))
}

// CountDialsInFlight registers spo2_probe_dials_in_flight, read from dialing
// (the prober's count of connections being opened) at each scrape.
func (m *Metrics) CountDialsInFlight(dialing func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_probe_dials_in_flight", Help: "Probe connections being opened (TCP connect and TLS handshake)."},
		func() float64 { return float64(dialing()) }))
}

// CountOverload registers spo2_overloaded, 1 while overloaded() is true.
func (m *Metrics) CountOverload(overloaded func() bool) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_overloaded", Help: "1 while SpO₂ is overloaded (its scheduler stalls, or it runs out of descriptors or ports): probe timeouts are then inconclusive."},
		func() float64 {
			if overloaded() {
				return 1
			}
			return 0
		}))
}

// CountURLs registers spo2_urls{state}, computed by counts (state name →
// number of URLs) at most once a second, so it never drifts from the read
// model and frequent scrapes of 100,000 URLs stay cheap.
func (m *Metrics) CountURLs(counts func() map[string]int) {
	m.Registry.MustRegister(&urlCounter{counts: counts,
		desc: prometheus.NewDesc("spo2_urls", "Registered URLs by current state.", []string{"state"}, nil)})
}

type urlCounter struct {
	counts func() map[string]int
	desc   *prometheus.Desc

	mu   sync.Mutex
	last map[string]int
	at   time.Time
}

func (u *urlCounter) Describe(ch chan<- *prometheus.Desc) { ch <- u.desc }

func (u *urlCounter) Collect(ch chan<- prometheus.Metric) {
	u.mu.Lock()
	if u.last == nil || time.Since(u.at) > time.Second {
		u.last, u.at = u.counts(), time.Now()
	}
	counts := u.last
	u.mu.Unlock()
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(u.desc, prometheus.GaugeValue, float64(n), state)
	}
}

// CountCluster registers, in cluster mode, spo2_cluster_members (the live
// members this member sees, itself included) and spo2_cluster_owned_urls
// (the URLs this member probes: its URL checkers), read at each scrape.
func (m *Metrics) CountCluster(members func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_cluster_members", Help: "Live cluster members this member sees, itself included."},
		func() float64 { return float64(members()) }))
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "spo2_cluster_owned_urls", Help: "URLs this member owns and probes."},
		func() float64 {
			var d dto.Metric
			if err := m.URLCheckers.Write(&d); err != nil {
				return math.NaN()
			}
			return d.GetGauge().GetValue()
		}))
}
