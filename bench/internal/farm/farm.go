// Package farm is a set of loopback HTTP targets for the harnesses: each URL
// answers 200, 503, late, or sits on a closed port, and the farm counts every
// request and how far each URL's inter-arrival time is from the interval.
package farm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/bench/internal/hist"
	"github.com/spo2/spo2/bench/internal/proc"
)

// Behavior is how a farm target answers.
type Behavior uint32

// Target behaviours.
const (
	Fast    Behavior = iota // 200 at once
	Fail503                 // 503 at once
	Slow                    // answers only after SlowFor, i.e. beyond the probe timeout
	Refused                 // a closed port: connection refused
)

func (b Behavior) String() string {
	return [...]string{"fast", "503", "slow", "refused"}[b]
}

// Config sizes the target farm.
type Config struct {
	URLs          int
	Listeners     int     // distinct listening sockets (host:port pairs in listener mode)
	DistinctHosts bool    // every URL gets its own 127.x.y.z host, served by wildcard listeners
	Share503      float64 // share of URLs answering 503
	ShareSlow     float64 // share of URLs sleeping beyond the timeout
	ShareRefused  float64 // share of URLs pointing at a closed port
	SlowFor       time.Duration
}

// Farm is a set of loopback HTTP targets that count every request per URL
// and the deviation of each URL's inter-arrival time from the expected
// interval.
type Farm struct {
	cfg      Config
	start    time.Time
	urls     []string
	behavior []atomic.Uint32
	count    []atomic.Uint32
	last     []atomic.Int64 // monotonic ns of the last arrival, 0 = never
	seen     []atomic.Uint32
	members  *members // who probed: per-member counts and each URL's last prober

	total       atomic.Int64
	epoch       atomic.Uint32
	seenCount   atomic.Int64
	lastNewSeen atomic.Int64 // monotonic ns when seenCount last grew
	windowStart atomic.Int64 // inter-arrivals count only when both arrivals are after this
	expected    atomic.Int64 // expected interval, ns
	dev         hist.Hist    // |inter-arrival − expected|
	early       atomic.Int64 // inter-arrivals shorter than expected
	conns       atomic.Int64 // connections accepted

	servers []*http.Server
	wg      sync.WaitGroup
}

// hostFor returns the IP of listener i (listener mode): 127.0.a.b, b in 2…251.
func hostFor(i int) string {
	return fmt.Sprintf("127.0.%d.%d", i/250, 2+i%250)
}

// urlHost returns the distinct host of URL id (distinct-host mode).
func urlHost(id int) string {
	return fmt.Sprintf("127.%d.%d.%d", 1+id>>16, (id>>8)&255, id&255)
}

// behaviorFor spreads behaviours over ids deterministically.
func behaviorFor(id int, c Config) Behavior {
	u := float64(uint32(uint64(id)*2654435761)) / (1 << 32)
	switch {
	case u < c.ShareRefused:
		return Refused
	case u < c.ShareRefused+c.ShareSlow:
		return Slow
	case u < c.ShareRefused+c.ShareSlow+c.Share503:
		return Fail503
	}
	return Fast
}

// Start opens the listeners and serves until Close.
func Start(cfg Config) (*Farm, error) {
	f := &Farm{
		cfg:      cfg,
		start:    time.Now(),
		urls:     make([]string, cfg.URLs),
		behavior: make([]atomic.Uint32, cfg.URLs),
		count:    make([]atomic.Uint32, cfg.URLs),
		last:     make([]atomic.Int64, cfg.URLs),
		seen:     make([]atomic.Uint32, cfg.URLs),
		members:  newMembers(cfg.URLs),
	}
	f.epoch.Store(1)
	type lis struct {
		host string
		port int
	}
	var open []lis
	var closedPorts []lis
	quiet := log.New(io.Discard, "", 0)
	for i := 0; i < cfg.Listeners; i++ {
		host := hostFor(i)
		bind := host + ":0"
		if cfg.DistinctHosts {
			bind = "0.0.0.0:0" // accepts 127.0.0.0/8 on any address; non-loopback peers are rejected
		}
		l, err := net.Listen("tcp", bind)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("farm listener %d on %s: %w", i, bind, err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		open = append(open, lis{host, port})
		srv := &http.Server{
			Handler:           http.HandlerFunc(f.serve),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    8 << 10,
			ErrorLog:          quiet,
		}
		srv.ConnState = func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				f.conns.Add(1)
			}
		}
		if cfg.DistinctHosts {
			srv.ConnContext = rejectNonLoopback
		}
		f.servers = append(f.servers, srv)
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				slog.Error("farm listener stopped", "addr", l.Addr().String(), "err", err)
			}
		}()
		if i%10 == 0 {
			// A port that was free a moment ago and that nobody listens on.
			c, err := net.Listen("tcp", host+":0")
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("farm closed port on %s: %w", host, err)
			}
			closedPorts = append(closedPorts, lis{host, c.Addr().(*net.TCPAddr).Port})
			c.Close()
		}
	}
	for id := 0; id < cfg.URLs; id++ {
		b := behaviorFor(id, cfg)
		f.behavior[id].Store(uint32(b))
		t := open[id%len(open)]
		if b == Refused {
			t = closedPorts[id%len(closedPorts)]
		}
		host := t.host
		if cfg.DistinctHosts {
			host = urlHost(id)
		}
		f.urls[id] = "http://" + net.JoinHostPort(host, strconv.Itoa(t.port)) + "/u/" + strconv.Itoa(id)
	}
	return f, nil
}

func rejectNonLoopback(ctx context.Context, c net.Conn) context.Context {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		c.Close()
	}
	return ctx
}

// Close stops every listener.
func (f *Farm) Close() {
	for _, s := range f.servers {
		s.Close()
	}
	f.wg.Wait()
}

// URLs returns every target URL, indexed by id.
func (f *Farm) URLs() []string { return f.urls }

// Behavior returns the current behaviour of URL id.
func (f *Farm) Behavior(id int) Behavior { return Behavior(f.behavior[id].Load()) }

// Set changes the behaviour of the given URLs (used to flip 200 → 503).
func (f *Farm) Set(ids []int, b Behavior) {
	for _, id := range ids {
		f.behavior[id].Store(uint32(b))
	}
}

// IDs returns the ids whose initial behaviour is b.
func (f *Farm) IDs(b Behavior) []int {
	var ids []int
	for id := range f.urls {
		if behaviorFor(id, f.cfg) == b {
			ids = append(ids, id)
		}
	}
	return ids
}

// Visible is the number of URLs whose probes reach the farm (all but refused).
func (f *Farm) Visible() int { return f.cfg.URLs - len(f.IDs(Refused)) }

func (f *Farm) mono() int64 { return int64(time.Since(f.start)) }

func (f *Farm) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if len(p) < 4 || p[:3] != "/u/" {
		http.NotFound(w, r)
		return
	}
	id, err := strconv.Atoi(p[3:])
	if err != nil || id < 0 || id >= len(f.urls) {
		http.NotFound(w, r)
		return
	}
	f.record(id)
	f.members.record(id, r.UserAgent())
	switch Behavior(f.behavior[id].Load()) {
	case Fail503:
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "down\n")
	case Slow:
		t := time.NewTimer(f.cfg.SlowFor)
		select {
		case <-r.Context().Done():
		case <-t.C:
		}
		t.Stop()
		io.WriteString(w, "late\n")
	default:
		io.WriteString(w, "ok\n")
	}
}

func (f *Farm) record(id int) {
	now := f.mono()
	f.total.Add(1)
	f.count[id].Add(1)
	prev := f.last[id].Swap(now)
	if ws := f.windowStart.Load(); ws > 0 && prev >= ws {
		d := now - prev - f.expected.Load()
		if d < 0 {
			f.early.Add(1)
			d = -d
		}
		f.dev.Record(time.Duration(d))
	}
	ep := f.epoch.Load()
	if old := f.seen[id].Load(); old != ep && f.seen[id].CompareAndSwap(old, ep) {
		f.seenCount.Add(1)
		f.lastNewSeen.Store(now)
	}
}

// Mark is the farm's state at one instant, to diff over a window.
type Mark struct {
	At    time.Time
	Total int64
	Conns int64

	machine proc.MachineSample
}

// BeginWindow starts a measurement window: inter-arrival deviations are
// reset and counted against interval, and a new epoch of "URLs seen" begins.
func (f *Farm) BeginWindow(interval time.Duration) Mark {
	f.expected.Store(int64(interval))
	f.dev.Reset()
	f.early.Store(0)
	f.BeginEpoch()
	f.windowStart.Store(f.mono())
	return Mark{At: time.Now(), Total: f.total.Load(), Conns: f.conns.Load(), machine: proc.ReadMachine()}
}

// BeginEpoch restarts the count of distinct URLs seen.
func (f *Farm) BeginEpoch() {
	f.seenCount.Store(0)
	f.lastNewSeen.Store(0)
	f.epoch.Add(1)
}

// Seen returns how many distinct URLs were requested since BeginEpoch, and
// when the last new one arrived.
func (f *Farm) Seen() (int64, time.Time) {
	at := f.lastNewSeen.Load()
	return f.seenCount.Load(), f.start.Add(time.Duration(at))
}

// Window is what the farm saw during one window.
type Window struct {
	Seconds       float64      `json:"seconds"`
	Requests      int64        `json:"requests"`
	RatePerSec    float64      `json:"rate_per_sec"`
	Expected      float64      `json:"expected_requests"`
	AchievedPct   float64      `json:"achieved_pct"`
	URLsSeen      int64        `json:"urls_seen"`
	URLsVisible   int          `json:"urls_visible"`
	Deviation     hist.Summary `json:"interarrival_deviation"`
	EarlyArrivals int64        `json:"early_arrivals"`
	NewConns      int64        `json:"new_connections"`
	MachineCores  float64      `json:"machine_busy_cores"` // every process on the machine
}

// EndWindow closes a window begun at m. visible is how many URLs were
// scheduled against the farm, interval their interval.
func (f *Farm) EndWindow(m Mark, visible int, interval time.Duration) Window {
	secs := time.Since(m.At).Seconds()
	req := f.total.Load() - m.Total
	f.windowStart.Store(0)
	w := Window{
		Seconds: secs, Requests: req, RatePerSec: float64(req) / secs,
		URLsSeen: f.seenCount.Load(), URLsVisible: visible,
		Deviation: f.dev.Summary(), EarlyArrivals: f.early.Load(),
		NewConns: f.conns.Load() - m.Conns, MachineCores: proc.MachineBusy(m.machine, proc.ReadMachine()),
	}
	if interval > 0 {
		w.Expected = float64(visible) * secs / interval.Seconds()
		if w.Expected > 0 {
			w.AchievedPct = 100 * float64(req) / w.Expected
		}
	}
	return w
}

// Conns returns every connection the farm has accepted.
func (f *Farm) Conns() int64 { return f.conns.Load() }

// Total returns every request the farm has served.
func (f *Farm) Total() int64 { return f.total.Load() }
