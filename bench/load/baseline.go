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

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/bench/internal/hist"
	"github.com/spo2/spo2/bench/internal/proc"
)

// The bare clients every client baseline runs, one after the other: net/http
// (the contract's reference) and SpO₂'s own prober used bare, without
// actors, pool, state machine, metrics or store, so that spo2's figures
// can be told apart into what the client costs and what the engine adds.
const (
	ClientNetHTTP = "net/http"
	ClientProber  = "spo2 prober"
)

// Clients lists the bare clients in the order they run.
var Clients = []string{ClientNetHTTP, ClientProber}

// bareClient does one GET, reads at most 4 KiB and reports whether an HTTP
// answer came back.
type bareClient interface {
	probe(ctx context.Context, url string) bool
	close()
}

// newBareClient returns the named client: keep-alive with at most maxIdle
// idle connections, perHost of them per host, each kept idleFor.
func newBareClient(kind string, timeout time.Duration, maxIdle, perHost int, idleFor time.Duration) bareClient {
	if kind == ClientProber {
		return &proberClient{p: probe.New(probe.Options{MaxIdleConns: maxIdle, IdleConnTimeout: idleFor}), timeout: timeout}
	}
	tr := newProbeTransport(timeout, maxIdle, perHost, idleFor)
	return &netHTTPClient{tr: tr, timeout: timeout,
		c: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// proberClient is SpO₂'s prober (actors/probe) called directly; its
// per-host idle limit is its own (4).
type proberClient struct {
	p       *probe.Prober
	timeout time.Duration
}

func (c *proberClient) probe(ctx context.Context, url string) bool {
	return c.p.Probe(ctx, url, c.timeout, health.DefaultExpect).Answered
}

func (c *proberClient) close() { c.p.Close() }

// netHTTPClient is net/http's client with redirects not followed.
type netHTTPClient struct {
	tr      *http.Transport
	c       *http.Client
	timeout time.Duration
}

func (c *netHTTPClient) probe(ctx context.Context, url string) bool {
	return probeOnce(ctx, c.c, url, c.timeout)
}

func (c *netHTTPClient) close() { c.tr.CloseIdleConnections() }

// newProbeTransport is the bare net/http client's transport: keep-alive with
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
	Client   string // one of Clients
	URLs     []string
	Interval time.Duration
	Timeout  time.Duration
	Workers  int
	MaxIdle  int
}

// ScheduleResult is what the bare timer-heap + worker-pool client achieved.
type ScheduleResult struct {
	Client     string       `json:"client"`
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
	client   bareClient
	lag      hist.Hist
	started  atomic.Int64
	answered atomic.Int64
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// StartSchedule starts probing and returns at once.
func StartSchedule(cfg ScheduleConfig) *Schedule {
	s := &Schedule{cfg: cfg, client: newBareClient(cfg.Client, cfg.Timeout, cfg.MaxIdle, 4, 2*cfg.Interval)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	jobs := make(chan slot, cfg.Workers)
	for range cfg.Workers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			for j := range jobs {
				s.lag.Record(time.Since(j.at))
				s.started.Add(1)
				if s.client.probe(ctx, cfg.URLs[j.idx]) {
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
	return ScheduleResult{Client: s.cfg.Client, Started: st - started0, Answered: an - answered0, RatePerSec: float64(st-started0) / secs, Lag: s.lag.Summary()}
}

// Stop ends probing and drops idle connections.
func (s *Schedule) Stop() {
	s.cancel()
	s.wg.Wait()
	s.client.close()
}

// SaturationResult is a bare client's maximum: keep-alive GETs in a loop.
type SaturationResult struct {
	Client     string  `json:"client"`
	Workers    int     `json:"workers"`
	Seconds    float64 `json:"seconds"`
	Requests   int64   `json:"requests"`
	RatePerSec float64 `json:"rate_per_sec"`
	NewConns   int64   `json:"new_connections"`
	Machine    float64 `json:"machine_busy_cores"`
}

// RunSaturation has workers GET urls round-robin with the named client, as
// fast as possible, for d.
func RunSaturation(kind string, urls []string, workers int, d, timeout time.Duration) SaturationResult {
	client := newBareClient(kind, timeout, 4096, 4, time.Minute)
	defer client.close()
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
				if client.probe(ctx, urls[i%len(urls)]) {
					n.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	return SaturationResult{Client: kind, Workers: workers, Seconds: secs, Requests: n.Load(), RatePerSec: float64(n.Load()) / secs, Machine: proc.MachineBusy(m0, proc.ReadMachine())}
}
