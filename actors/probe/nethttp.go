package probe

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// NetHTTPProber runs probes with net/http's Transport. It behaves as
// Prober does, and costs more per probe: the transport runs a reader and a
// writer goroutine per connection and allocates per request. It is kept as
// the reference the lean Prober is tested and measured against. It is safe
// for concurrent use.
type NetHTTPProber struct {
	*keepAlive
	transport *http.Transport
	dialer    *dialer
	overload  *Overload
}

// probeHeader is shared, read-only, by every probe request: the transport
// does not modify request headers.
var probeHeader = http.Header{"User-Agent": {userAgent}}

// NewNetHTTP returns a net/http prober with its own transport. Like New, it
// loads the system's root certificates first.
func NewNetHTTP(o Options) *NetHTTPProber {
	d := newDialer(o.Allow, newTLSConfig(o.InsecureSkipVerify), o.OnDial)
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
	return &NetHTTPProber{keepAlive: newKeepAlive(o.MaxIdleConns), transport: tr, dialer: d, overload: o.Overload}
}

// Dialing is Prober.Dialing.
func (p *NetHTTPProber) Dialing() int { return int(p.dialer.dialing.Load()) }

// Close drops idle connections.
func (p *NetHTTPProber) Close() { p.transport.CloseIdleConnections() }

// Probe is Prober.Probe.
func (p *NetHTTPProber) Probe(ctx context.Context, url string, timeout time.Duration, expect health.Expect) health.Outcome {
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
		judge(&out, err, start, timeout, p.overload)
	}
	return out
}
