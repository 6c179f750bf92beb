package main

import (
	"time"

	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/scrape"
	"github.com/spo2/spo2/bench/internal/spo2"
)

// Sample is one reading of the running spo2, taken every -sample.
type Sample struct {
	T            float64        `json:"t_s"` // seconds since the measured period began
	FDs          int            `json:"fds"` // -1 when /proc could not be read (the process is gone)
	Sockets      int            `json:"sockets"`
	TCP          map[string]int `json:"tcp_states"`
	RSS          int64          `json:"rss_bytes"`
	Heap         float64        `json:"heap_inuse_bytes"`
	Goroutines   float64        `json:"goroutines"`
	InFlight     float64        `json:"probes_in_flight"`
	CPUCores     float64        `json:"cpu_cores"`      // since the previous sample; -1 for the first
	ProbesPerSec float64        `json:"probes_per_sec"` // since the previous sample
	LagP99ms     float64        `json:"lag_p99_ms"`     // since the previous sample, every URL; -1 when none
	LatePct      float64        `json:"late_pct"`       // since the previous sample: share of probes started over 1 s late; -1 when none
	FalseAlarms  int            `json:"false_alarm_urls"`
	HostileOpen  int64          `json:"hostile_conns_open"` // held by the hostile listeners, server side
	ScrapeError  string         `json:"scrape_error,omitempty"`

	m scrape.Metrics
	p proc.Sample
}

// takeSample reads /proc and /metrics of s; prev (nil for the first) gives
// the rates.
func takeSample(s *spo2.Instance, t0 time.Time, prev *Sample, alarms *Alarms, h *Hostile) Sample {
	x := Sample{T: time.Since(t0).Seconds(), LagP99ms: -1, LatePct: -1, CPUCores: -1, ProbesPerSec: -1}
	if p, err := proc.Read(s.Pid()); err == nil {
		x.p = p
		x.FDs, x.Sockets, x.RSS = p.FDs, p.Sockets, p.RSS
	} else {
		x.FDs, x.Sockets, x.RSS = -1, -1, -1
	}
	if st, err := proc.TCPStates(s.Pid()); err == nil {
		x.TCP = st
	}
	m, err := s.Metrics()
	if err != nil {
		x.ScrapeError = err.Error()
	} else {
		x.m = m
		x.Heap, x.Goroutines, x.InFlight = m.HeapInuse, m.Goroutines, m.InFlight
	}
	if prev != nil && prev.FDs >= 0 && x.FDs >= 0 {
		x.CPUCores = proc.CPUCores(prev.p, x.p)
	}
	if prev != nil {
		if err == nil && prev.ScrapeError == "" {
			x.ProbesPerSec = 0
			if secs := x.T - prev.T; secs > 0 {
				x.ProbesPerSec = (m.ProbesTotal() - prev.m.ProbesTotal()) / secs
			}
			x.LagP99ms = lagMs(prev.m, m, 0.99)
			x.LatePct = latePct(prev.m, m)
		}
	}
	if alarms != nil {
		x.FalseAlarms = alarms.Counts().FalseAlarmURLs
	}
	if h != nil {
		for _, st := range h.Stats() {
			x.HostileOpen += st.Open
		}
	}
	return x
}

func lagMs(a, b scrape.Metrics, q float64) float64 {
	v, ok := scrape.LagQuantile(a, b, q)
	if !ok {
		return -1 // nothing observed
	}
	return v * 1000
}

// lateBound is the schedule lag, in seconds, beyond which a probe counts as
// late; it must be a bucket bound of spo2_schedule_lag_seconds.
const lateBound = 1.0

func latePct(a, b scrape.Metrics) float64 {
	v, ok := scrape.LagShareAbove(a, b, lateBound)
	if !ok {
		return -1
	}
	return 100 * v
}
