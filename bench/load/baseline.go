package main

import (
	"container/heap"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/bench/internal/hist"
	"github.com/spo2/spo2/bench/internal/proc"
)

// newProbeTransport is the bare baseline's client transport: keep-alive with
// a bounded idle pool, no compression, short dial and header timeouts.
func newProbeTransport(timeout time.Duration, maxIdle, perHost int, idleFor time.Duration) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: -1}).DialContext,
		MaxIdleConns:          maxIdle,
		MaxIdleConnsPerHost:   perHost,
		IdleConnTimeout:       idleFor,
		DisableCompression:    true,
		ResponseHeaderTimeout: timeout,
		TLSHandshakeTimeout:   timeout,
	}
}

// probeOnce does one GET, reads at most 4 KiB and reports whether an HTTP
// answer came back.
func probeOnce(ctx context.Context, c *http.Client, url string, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return false
	}
	resp, err := c.Do(req)
	if err != nil {
		return false
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	return true
}

// ScheduleConfig drives the bare scheduled baseline.
type ScheduleConfig struct {
	URLs     []string
	Interval time.Duration
	Timeout  time.Duration
	Workers  int
	MaxIdle  int
}

// ScheduleResult is what the bare timer-heap + worker-pool client achieved.
type ScheduleResult struct {
	Started    int64        `json:"started"`
	Answered   int64        `json:"answered"`
	RatePerSec float64      `json:"rate_per_sec"`
	Lag        hist.Summary `json:"lag"`
}

type slot struct {
	at  time.Time
	idx int32
}

type slotHeap []slot

func (h slotHeap) Len() int           { return len(h) }
func (h slotHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h slotHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *slotHeap) Push(x any)        { *h = append(*h, x.(slot)) }
func (h *slotHeap) Pop() any {
	old := *h
	s := old[len(old)-1]
	*h = old[:len(old)-1]
	return s
}

// Schedule is a running bare baseline: one timer heap feeding a worker pool,
// every URL on a fixed-rate schedule with its first probe spread over one
// interval.
type Schedule struct {
	cfg      ScheduleConfig
	tr       *http.Transport
	lag      hist.Hist
	started  atomic.Int64
	answered atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// StartSchedule starts probing and returns at once.
func StartSchedule(cfg ScheduleConfig) *Schedule {
	s := &Schedule{cfg: cfg, tr: newProbeTransport(cfg.Timeout, cfg.MaxIdle, 4, 2*cfg.Interval)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	client := &http.Client{Transport: s.tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	jobs := make(chan slot, cfg.Workers)
	for range cfg.Workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for j := range jobs {
				s.lag.Record(time.Since(j.at))
				s.started.Add(1)
				if probeOnce(ctx, client, cfg.URLs[j.idx], cfg.Timeout) {
					s.answered.Add(1)
				}
			}
		}()
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(jobs)
		now := time.Now()
		h := make(slotHeap, len(cfg.URLs))
		for i := range h {
			h[i] = slot{at: now.Add(time.Duration(rand.Int64N(int64(cfg.Interval)))), idx: int32(i)}
		}
		heap.Init(&h)
		t := time.NewTimer(time.Hour)
		defer t.Stop()
		for {
			next := h[0]
			if d := time.Until(next.at); d > 0 {
				t.Reset(d)
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				continue
			}
			select {
			case jobs <- next:
			case <-ctx.Done():
				return
			}
			h[0].at = next.at.Add(cfg.Interval)
			heap.Fix(&h, 0)
		}
	}()
	return s
}

// Mark returns the counters now, to diff over a window.
func (s *Schedule) Mark() (started, answered int64) { return s.started.Load(), s.answered.Load() }

// ResetLag forgets lags recorded so far (the warm-up).
func (s *Schedule) ResetLag() { s.lag.Reset() }

// Result reports the window since the marks taken secs seconds ago.
func (s *Schedule) Result(started0, answered0 int64, secs float64) ScheduleResult {
	st, an := s.Mark()
	return ScheduleResult{Started: st - started0, Answered: an - answered0, RatePerSec: float64(st-started0) / secs, Lag: s.lag.Summary()}
}

// Stop ends probing and drops idle connections.
func (s *Schedule) Stop() {
	s.cancel()
	s.wg.Wait()
	s.tr.CloseIdleConnections()
}

// SaturationResult is the bare net/http maximum: keep-alive GETs in a loop.
type SaturationResult struct {
	Workers    int     `json:"workers"`
	Seconds    float64 `json:"seconds"`
	Requests   int64   `json:"requests"`
	RatePerSec float64 `json:"rate_per_sec"`
	NewConns   int64   `json:"new_connections"`
	Machine    float64 `json:"machine_busy_cores"`
}

// RunSaturation has workers GET urls round-robin, as fast as possible, for d.
func RunSaturation(urls []string, workers int, d, timeout time.Duration) SaturationResult {
	tr := newProbeTransport(timeout, 4096, 4, time.Minute)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	m0 := proc.ReadMachine()
	start := time.Now()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; ctx.Err() == nil; i += workers {
				if probeOnce(ctx, client, urls[i%len(urls)], timeout) {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return SaturationResult{Workers: workers, Seconds: secs, Requests: n.Load(), RatePerSec: float64(n.Load()) / secs, Machine: proc.MachineBusy(m0, proc.ReadMachine())}
}
