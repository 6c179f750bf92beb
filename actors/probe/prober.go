// Package probe performs one HTTP health probe and classifies its outcome.
//
// A Prober is shared by every URL actor; a Pool of workers bounds the probes
// in flight. The prober never follows redirects (a 3xx is an answer), reads at most
// BodyLimit bytes of a body, and gives each probe one deadline that covers
// connecting, the TLS handshake, the headers and the body read. The
// connections a probe opens end with it: none outlives its deadline.
package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
)

// BodyLimit is the most of a response body a probe reads before closing.
const BodyLimit = 4 << 10

// Options tune the shared HTTP transport.
type Options struct {
	// MaxIdleConns bounds kept-alive idle connections across all hosts
	// (each costs about 27 KiB and a file descriptor). 0 disables keep-alive.
	MaxIdleConns int
	// IdleConnTimeout closes idle connections after this long; it should be a
	// little more than the usual probe interval so the next probe reuses them.
	IdleConnTimeout time.Duration
	// InsecureSkipVerify turns off certificate verification (tests only).
	InsecureSkipVerify bool
	// OnDial, when set, is called for every connection the prober opens.
	OnDial func()
	// Allow, when set, limits the addresses probes connect to; a refused
	// connection is an "other" outcome.
	Allow *target.Policy
	// Overload, when set, is told when SpO₂ runs out of local resources,
	// and makes a timeout during which SpO₂ stalled inconclusive.
	Overload *Overload
}

// Prober runs probes. It is safe for concurrent use.
type Prober struct {
	transport *http.Transport
	dialer    *dialer
	overload  *Overload
	maxIdle   int
	reuse     atomic.Bool // keep connections alive after a probe
	hosts     hosts
}

// probeHeader is shared, read-only, by every probe request: the transport
// does not modify request headers.
var probeHeader = http.Header{"User-Agent": {"SpO2/1 (health probe)"}}

// New returns a prober with its own transport. It loads the system's root
// certificates first (once per process, tens of milliseconds), so that the
// first https probe does not spend its timeout on SpO₂'s own start-up.
func New(o Options) *Prober {
	if !o.InsecureSkipVerify {
		_, _ = x509.SystemCertPool()
	}
	d := newDialer(o.Allow, &tls.Config{
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // opt-in, tests only
		ClientSessionCache: tls.NewLRUClientSessionCache(4096),
	}, o.OnDial)
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            d.DialContext,
		DialTLSContext:         d.DialTLSContext,
		DisableCompression:     true,
		DisableKeepAlives:      o.MaxIdleConns == 0,
		MaxIdleConns:           o.MaxIdleConns,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        o.IdleConnTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      false,
	}
	p := &Prober{transport: tr, dialer: d, overload: o.Overload, maxIdle: o.MaxIdleConns}
	p.reuse.Store(o.MaxIdleConns > 0)
	return p
}

// Dialing returns the number of connections being opened (TCP connect and
// TLS handshake) now. Each belongs to a running probe.
func (p *Prober) Dialing() int { return int(p.dialer.dialing.Load()) }

// Close drops idle connections.
func (p *Prober) Close() { p.transport.CloseIdleConnections() }

// Probe sends one GET to url with the given timeout and judges the answer
// against expect. It never panics on a bad target and always returns within
// about timeout (or sooner when ctx ends); when it returns, every connection
// it was opening is closed. The timeout starts when Probe is called.
//
// A timeout during which SpO₂'s scheduler stalled (see Overload.Doubtful),
// and a failure because SpO₂ ran out of descriptors or ports, are
// Inconclusive.
func (p *Prober) Probe(ctx context.Context, url string, timeout time.Duration, expect health.Expect) health.Outcome {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	dials := &probeDials{ctx: ctx}
	out := health.Outcome{}
	req, err := http.NewRequestWithContext(context.WithValue(ctx, probeDialsKey{}, dials), http.MethodGet, url, nil)
	if err == nil {
		req.Header = probeHeader
		req.Close = !p.reuse.Load()
		if u := req.URL.User; u != nil { // user:password@ in the URL: basic auth
			pw, _ := u.Password()
			req.Header = probeHeader.Clone()
			req.SetBasicAuth(u.Username(), pw)
		}
		// The transport, not an http.Client: redirects are answers, not
		// followed, and the client's per-request header copies and cancel
		// contexts are not needed.
		var resp *http.Response
		resp, err = p.transport.RoundTrip(req)
		if err == nil {
			_, _ = io.CopyN(io.Discard, resp.Body, BodyLimit)
			resp.Body.Close()
			out.Answered = true
			out.Code = resp.StatusCode
			out.ExpectHit = expect.Contains(resp.StatusCode)
		}
	}
	out.At = time.Now()
	out.Latency = out.At.Sub(start)
	cancel()
	dials.finish()
	if err != nil {
		out.Kind, out.Err = Classify(err, timeout)
		switch {
		case exhausted(err):
			p.overload.Signal("out of local resources: " + out.Err)
			out.Inconclusive = true
		case out.Kind == health.KindTimeout && p.overload.Doubtful(start, timeout):
			out.Inconclusive = true
		}
	}
	return out
}
