package main

import (
	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/spo2"
)

// Results is everything one run measured, written as JSON.
type Results struct {
	Machine proc.Machine  `json:"machine"`
	Config  Config        `json:"config"`
	Sizes   []*SizeResult `json:"sizes"`
	Errors  []string      `json:"errors,omitempty"`
}

// SizeResult is one fleet measured on a single node and on the cluster.
type SizeResult struct {
	Size    Size       `json:"size"`
	Visible int        `json:"urls_visible"` // URLs whose probes reach the farm
	Single  ModeResult `json:"single"`
	Cluster ModeResult `json:"cluster"`
	// Failover is the cluster losing its last member to kill -9.
	Failover *Failover `json:"failover,omitempty"`
}

// ModeResult is one deployment's figures for a fleet.
type ModeResult struct {
	Idle  *IdleResult  `json:"idle,omitempty"`
	Probe *ProbeResult `json:"probe,omitempty"`
}

// IdleResult is registration with nothing probing.
type IdleResult struct {
	Put          spo2.RegResult `json:"put"`
	Bulk         spo2.RegResult `json:"bulk"`
	RSSEmptyMiB  []float64      `json:"rss_empty_mib"`        // per member, before registering
	RSSPerURLKiB []float64      `json:"rss_per_idle_url_kib"` // per member
}

// ProbeResult is a probing window.
type ProbeResult struct {
	Bulk            spo2.RegResult     `json:"bulk"`
	Window          farm.Window        `json:"window"`
	PerMemberPerSec map[string]float64 `json:"probes_per_sec_by_member,omitempty"`
	Owned           map[string]float64 `json:"owned_urls_by_member,omitempty"`
	Cores           map[string]float64 `json:"cpu_cores"` // per process: members (or spo2) and etcd
	CPUPerProbeUS   float64            `json:"cpu_per_probe_us"`
	RSSPerURLKiB    []float64          `json:"rss_per_url_probing_kib"` // per member
}

// Failover is what followed kill -9 of one member.
type Failover struct {
	Member         string  `json:"member"`
	URLs           int     `json:"urls"`              // URLs the farm saw it probe last
	DetectedS      float64 `json:"detected_s"`        // kill → no survivor lists it (-1: never)
	FirstReprobeS  float64 `json:"first_reprobe_s"`   // kill → first of its URLs probed by a survivor
	MedianReprobeS float64 `json:"median_reprobe_s"`  // … half of them
	AllReprobedS   float64 `json:"all_reprobed_s"`    // … all of them (-1: not within the bound)
	Missing        int     `json:"missing,omitempty"` // URLs never re-probed within the bound
}
