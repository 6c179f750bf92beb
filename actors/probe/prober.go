// Package probe performs one HTTP health probe and classifies its outcome.
//
// A Prober is shared by every URL actor; a Pool of workers bounds the probes
// in flight. The prober never follows redirects (a 3xx is an answer), reads at most
// BodyLimit bytes of a body, and gives each probe one deadline that covers
// connecting, the TLS handshake, the headers and the body read.
package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	neturl "net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/actors/health"
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
}

// Prober runs probes. It is safe for concurrent use.
type Prober struct {
	transport *http.Transport
	maxIdle   int
	reuse     atomic.Bool // keep connections alive after a probe
}

// probeHeader is shared, read-only, by every probe request: the transport
// does not modify request headers.
var probeHeader = http.Header{"User-Agent": {"SpO2/1 (health probe)"}}

// New returns a prober with its own transport.
func New(o Options) *Prober {
	dialer := &net.Dialer{KeepAlive: -1}
	dial := dialer.DialContext
	if o.OnDial != nil {
		dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
			o.OnDial()
			return dialer.DialContext(ctx, network, addr)
		}
	}
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            dial,
		DisableCompression:     true,
		DisableKeepAlives:      o.MaxIdleConns == 0,
		MaxIdleConns:           o.MaxIdleConns,
		MaxIdleConnsPerHost:    4,
		IdleConnTimeout:        o.IdleConnTimeout,
		MaxResponseHeaderBytes: 64 << 10,
		ForceAttemptHTTP2:      false,
		TLSClientConfig: &tls.Config{
			InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // opt-in, tests only
			ClientSessionCache: tls.NewLRUClientSessionCache(4096),
		},
	}
	p := &Prober{transport: tr, maxIdle: o.MaxIdleConns}
	p.reuse.Store(o.MaxIdleConns > 0)
	return p
}

// FitHosts tells the prober how many distinct host:port pairs are watched.
// Connections are kept alive only while they all fit the idle pool: with
// more hosts than idle slots, a kept connection is evicted before its host
// is probed again, so keeping it costs memory and churn and saves no dial.
func (p *Prober) FitHosts(n int) {
	p.reuse.Store(p.maxIdle > 0 && n <= p.maxIdle)
}

// KeepsAlive reports whether probes currently keep their connections.
func (p *Prober) KeepsAlive() bool { return p.reuse.Load() }

// Close drops idle connections.
func (p *Prober) Close() { p.transport.CloseIdleConnections() }

// Probe sends one GET to url with the given timeout and judges the answer
// against expect. It never panics on a bad target and always returns within
// about timeout (or sooner when ctx ends).
func (p *Prober) Probe(ctx context.Context, url string, timeout time.Duration, expect health.Expect) health.Outcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	out := health.Outcome{}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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
	if err != nil {
		out.Kind, out.Err = Classify(err, timeout)
	}
	return out
}

// Classify names the kind of a probe error and gives a readable message that
// contains the kind's word ("connection refused", "timeout after 5s", …).
func Classify(err error, timeout time.Duration) (health.ErrorKind, string) {
	var (
		dnsErr    *net.DNSError
		netErr    net.Error
		recErr    tls.RecordHeaderError
		certErr   *tls.CertificateVerificationError
		alertErr  tls.AlertError
		opErr     *net.OpError
		sysRefuse = isErrno(err, errConnRefused)
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		return health.KindTimeout, fmt.Sprintf("timeout after %s", timeout)
	case errors.Is(err, context.Canceled):
		return health.KindOther, "other: probe cancelled"
	case errors.As(err, &dnsErr):
		return health.KindDNS, fmt.Sprintf("dns lookup of %s failed: %s", dnsErr.Name, dnsErr.Err)
	case sysRefuse:
		return health.KindRefused, "connection refused"
	case errors.As(err, &certErr), errors.As(err, &recErr), errors.As(err, &alertErr):
		return health.KindTLS, withKind("tls", innermost(err))
	case isErrno(err, errConnReset) || isErrno(err, errBrokenPipe):
		return health.KindReset, "connection reset by peer"
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return health.KindReset, "connection reset: server closed the connection without a complete response"
	case isProtocolError(err):
		return health.KindProtocol, withKind("protocol error", innermost(err))
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return health.KindTLS, withKind("tls", innermost(err))
	}
	return health.KindOther, withKind("other", innermost(err))
}

// withKind prefixes msg with "word: " unless it already says word.
func withKind(word, msg string) string {
	if strings.Contains(msg, word) {
		return msg
	}
	return word + ": " + msg
}

// innermost drops the `Get "url": ` prefix of a *url.Error, keeping the cause.
func innermost(err error) string {
	var ue *neturl.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}
