package main

import (
	"github.com/spo2/spo2/bench/internal/farm"
	"github.com/spo2/spo2/bench/internal/proc"
	"github.com/spo2/spo2/bench/internal/spo2"
)

// Results is everything one run measured; it is written as JSON to -out.
type Results struct {
	Machine    proc.Machine      `json:"machine"`
	Config     Config            `json:"config"`
	Farm       FarmInfo          `json:"farm"`
	Badger     *BadgerResult     `json:"badger,omitempty"`
	Saturation *SaturationResult `json:"saturation,omitempty"`
	Baseline   *BaselineRun      `json:"baseline,omitempty"`
	// SaturationProber and BaselineProber are the same baselines run with
	// SpO₂'s own prober as the bare client.
	SaturationProber *SaturationResult `json:"saturation_spo2_prober,omitempty"`
	BaselineProber   *BaselineRun      `json:"baseline_spo2_prober,omitempty"`
	Idle             *IdleRun          `json:"idle,omitempty"`
	Probe            *ProbeRun         `json:"probe,omitempty"`
	Restart          *RestartRun       `json:"restart,omitempty"`
	MaxRate          *MaxRateRun       `json:"maxrate,omitempty"`
	Rows             []Row             `json:"rows"`
	Errors           []string          `json:"errors,omitempty"`
	Seconds          float64           `json:"seconds"`
}

// FarmInfo describes the target farm.
type FarmInfo struct {
	URLs       int    `json:"urls"`
	Listeners  int    `json:"listeners"`
	Fast       int    `json:"fast"`
	Fail503    int    `json:"fail_503"`
	Slow       int    `json:"slow"`
	Refused    int    `json:"refused"`
	SampleURL  string `json:"sample_url"`
	Distinct   bool   `json:"distinct_hosts"`
	HarnessCPU string `json:"note"`
}

// BaselineRun is the bare timer-heap + worker-pool client at spo2's schedule.
type BaselineRun struct {
	Schedule          ScheduleResult `json:"schedule"`
	Farm              farm.Window    `json:"farm"`
	HarnessCores      float64        `json:"harness_cores"` // the farm (the client runs in a child process)
	ClientCores       float64        `json:"client_cores"`  // the client's process
	ClientCPUPerProbe float64        `json:"client_cpu_us_per_probe"`
}

// IdleRun registers N URLs into a spo2 whose interval is 24h, so nothing
// probes: registration throughput, memory per idle URL, snapshot.
type IdleRun struct {
	EmptyRSS      int64          `json:"empty_rss_bytes"`
	EmptyRSSFile  int64          `json:"empty_rss_file_bytes"` // of EmptyRSS, mapped files
	RSSFile       int64          `json:"rss_file_bytes"`       // of RSS, mapped files (Badger's tables)
	EmptyHeap     float64        `json:"empty_heap_inuse_bytes"`
	RSS           int64          `json:"rss_bytes"`
	Heap          float64        `json:"heap_inuse_bytes"`
	Registered    int            `json:"registered"`
	RSSPerURL     float64        `json:"rss_per_url_bytes"`
	HeapPerURL    float64        `json:"heap_per_url_bytes"`
	Goroutines    float64        `json:"goroutines"`
	Bulk          spo2.RegResult `json:"bulk"`
	Put8          spo2.RegResult `json:"put_8"`
	Put64         spo2.RegResult `json:"put_64"`
	Snapshot      SnapshotResult `json:"snapshot"`
	ShutdownSecs  float64        `json:"shutdown_seconds"`
	ShutdownError string         `json:"shutdown_error,omitempty"`
}

// ProbeRun is the steady state at the configured interval.
type ProbeRun struct {
	Bulk          spo2.RegResult     `json:"bulk_while_empty"`
	Farm          farm.Window        `json:"farm"`
	LagP50ms      float64            `json:"lag_p50_ms"`
	LagP99ms      float64            `json:"lag_p99_ms"`
	LagSamples    uint64             `json:"lag_samples"`
	DurP50ms      float64            `json:"probe_duration_p50_ms"`
	DurP99ms      float64            `json:"probe_duration_p99_ms"`
	Probes        map[string]float64 `json:"probes_by_outcome"`
	ProbesPerSec  float64            `json:"spo2_probes_per_sec"`
	Skipped       float64            `json:"skipped"`
	MaxInFlight   float64            `json:"max_in_flight"`
	CPUCores      float64            `json:"cpu_cores"`
	CPUPerProbe   float64            `json:"cpu_us_per_probe"`
	HarnessCores  float64            `json:"harness_cores"`
	EmptyRSS      int64              `json:"empty_rss_bytes"`
	RSS           int64              `json:"rss_bytes"`
	MaxRSS        int64              `json:"max_rss_bytes"`
	RSSPerURL     float64            `json:"rss_per_url_bytes"`
	Heap          float64            `json:"heap_inuse_bytes"`
	Goroutines    float64            `json:"goroutines"`
	FDs           int                `json:"fds"`
	Sockets       int                `json:"sockets"`
	Snapshot      SnapshotResult     `json:"snapshot"`
	FanOut        FanOutResult       `json:"fanout"`
	Resume        *ResumeResult      `json:"resume,omitempty"`
	ShutdownSecs  float64            `json:"shutdown_seconds"`
	ShutdownError string             `json:"shutdown_error,omitempty"`
}

// RestartRun is the restart with N registrations.
type RestartRun struct {
	ReadySecs     float64 `json:"ready_seconds"`
	AllProbedSecs float64 `json:"all_probed_seconds"`
	Seen          int64   `json:"urls_seen"`
	Visible       int     `json:"urls_visible"`
	ShutdownSecs  float64 `json:"shutdown_seconds"`
	ShutdownError string  `json:"shutdown_error,omitempty"`
}

// MaxRateRun registers the fast targets at a 1s interval, offering more
// probes than spo2 can run, and measures what it sustains.
type MaxRateRun struct {
	URLs         int         `json:"urls"`
	Offered      float64     `json:"offered_per_sec"`
	Farm         farm.Window `json:"farm"`
	ProbesPerSec float64     `json:"spo2_probes_per_sec"`
	CPUCores     float64     `json:"cpu_cores"`
	LagP99ms     float64     `json:"lag_p99_ms"`
	MaxInFlight  float64     `json:"max_in_flight"`
}
