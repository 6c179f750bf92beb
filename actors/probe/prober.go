// Package probe performs one HTTP health probe and classifies its outcome.
//
// A Prober is shared by every URL actor; a Pool of workers bounds the probes
// in flight. The prober never follows redirects (a 3xx is an answer), reads at most
// BodyLimit bytes of a body, and gives each probe one deadline that covers
// connecting, the TLS handshake, the headers and the body read. The
// connections a probe opens end with it: none outlives its deadline.
package probe

import (
	"bufio"
	"context"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
)

// BodyLimit is the most of a response body a probe reads before closing.
const BodyLimit = 4 << 10

// Options tune a prober.
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
	// Member, when set, is the cluster member's name, added to the probes'
	// User-Agent: "SpO2/1 (health probe; member=<Member>)".
	Member string
}

// Prober runs probes on the probe's own goroutine: it dials, writes the
// request and reads the answer itself (fasthttp parses the response), with
// no goroutine per connection and, on a kept-alive connection, almost no
// allocation. It is safe for concurrent use.
type Prober struct {
	*keepAlive
	dialer   *dialer
	overload *Overload
	idle     idleConns
	// userHeader is the request's User-Agent line.
	userHeader string
}

// New returns a prober. It loads the system's root certificates first (once
// per process, tens of milliseconds), so that the first https probe does not
// spend its timeout on SpO₂'s own start-up.
func New(o Options) *Prober {
	return &Prober{
		keepAlive:  newKeepAlive(o.MaxIdleConns),
		dialer:     newDialer(o.Allow, newTLSConfig(o.InsecureSkipVerify), o.OnDial),
		overload:   o.Overload,
		idle:       idleConns{max: o.MaxIdleConns, timeout: o.IdleConnTimeout},
		userHeader: "\r\nUser-Agent: " + UserAgent(o.Member) + "\r\n",
	}
}

// UserAgent returns the User-Agent of the probes of member ("" in single
// node mode).
func UserAgent(member string) string {
	if member == "" {
		return userAgent
	}
	return "SpO2/1 (health probe; member=" + member + ")"
}

// Dialing returns the number of connections being opened (TCP connect and
// TLS handshake) now. Each belongs to a running probe.
func (p *Prober) Dialing() int { return int(p.dialer.dialing.Load()) }

// Close drops idle connections.
func (p *Prober) Close() { p.idle.closeAll() }

// requestBufs holds request buffers between probes.
var requestBufs = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

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
	code, err := p.do(ctx, url, start.Add(timeout))
	out := health.Outcome{At: time.Now()}
	out.Latency = out.At.Sub(start)
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		judge(&out, err, start, timeout, p.overload)
		return out
	}
	out.Answered, out.Code, out.ExpectHit = true, code, expect.Contains(code)
	return out
}

// do sends the request and returns the status code. A kept-alive
// connection that fails before any byte of an answer (the server closed it
// while idle) is replaced by a new one, once.
func (p *Prober) do(ctx context.Context, url string, deadline time.Time) (int, error) {
	t, err := parseTarget(url)
	if err != nil {
		return 0, err
	}
	keep := p.reuse.Load()
	buf := requestBufs.Get().(*[]byte)
	defer requestBufs.Put(buf)
	*buf = t.appendRequest((*buf)[:0], p.userHeader, !keep)
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	for retried := false; ; retried = true {
		c := p.idle.get(t.key, time.Now())
		reused := c != nil
		if !reused {
			if c, err = p.open(ctx, t.key, deadline); err != nil {
				return 0, err
			}
		}
		code, reusable, err := c.roundTrip(ctx, *buf, deadline, resp)
		if err != nil {
			c.close()
			if reused && !retried && c.read == 0 && !isTimeout(err) && ctx.Err() == nil {
				continue
			}
			return 0, err
		}
		if keep && reusable {
			p.idle.put(c, time.Now())
		} else {
			c.close()
		}
		return code, nil
	}
}

// open dials a new connection, bounded by the probe's deadline and ctx.
func (p *Prober) open(ctx context.Context, key connKey, deadline time.Time) (*conn, error) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	nc, err := p.dialer.dial(ctx, key.secure, key.addr)
	if err != nil {
		return nil, err
	}
	return newConn(nc, key), nil
}

// roundTrip writes req and reads the answer's status and headers, then at
// most BodyLimit bytes of its body. reusable reports whether the connection
// can serve another request; a failure to read the body is not an error (the
// status is the answer) but makes the connection unusable.
func (c *conn) roundTrip(ctx context.Context, req []byte, deadline time.Time, resp *fasthttp.Response) (code int, reusable bool, err error) {
	if err := c.nc.SetDeadline(deadline); err != nil {
		return 0, false, err
	}
	if ctx.Done() != nil {
		stop := context.AfterFunc(ctx, c.expire)
		defer stop()
	}
	c.read, c.readErr = 0, nil
	if _, err := c.nc.Write(req); err != nil {
		return 0, false, err
	}
	if err := c.readHeader(resp); err != nil {
		return 0, false, err
	}
	code = resp.Header.StatusCode()
	if c.spoiled {
		return code, false, nil
	}
	reusable = !resp.Header.ConnectionClose() && code != fasthttp.StatusSwitchingProtocols
	if code < 200 || code == fasthttp.StatusNoContent || code == fasthttp.StatusNotModified {
		return code, reusable, nil // no body
	}
	if resp.ReadBody(c.br, BodyLimit) != nil {
		return code, false, nil
	}
	if resp.Header.ContentLength() == -1 && resp.Header.ReadTrailer(c.br) != nil { // chunked
		return code, false, nil
	}
	return code, reusable, nil
}

// maxInterim bounds the informational (1xx) answers skipped before the
// final one.
const maxInterim = 8

// readHeader reads the status line and headers of the final answer,
// skipping informational ones (except 101).
func (c *conn) readHeader(resp *fasthttp.Response) error {
	for n := 0; ; n++ {
		if err := c.readOneHeader(resp); err != nil {
			return err
		}
		code := resp.Header.StatusCode()
		if code >= 200 || code == fasthttp.StatusSwitchingProtocols {
			return nil
		}
		if n == maxInterim {
			return &protocolError{reason: "protocol error: too many informational responses"}
		}
	}
}

// readOneHeader reads one status line and header block. A failure of the
// network is returned as the network's error; anything else the parser
// refuses is a protocolError, whose message never quotes what was received.
func (c *conn) readOneHeader(resp *fasthttp.Response) error {
	err := resp.Header.Read(c.br)
	if err == nil {
		return nil
	}
	var small *fasthttp.ErrSmallBuffer
	if errors.As(err, &small) && c.readErr == nil {
		// Headers larger than the buffer: read them through a larger one.
		// The connection's own buffer no longer holds what follows, so the
		// body is not read and the connection is not kept.
		c.spoiled = true
		if err = resp.Header.Read(bufio.NewReaderSize(c.br, maxHeaderBytes)); errors.As(err, &small) {
			return &protocolError{reason: "protocol error: response headers too large"}
		}
	}
	switch {
	case err == nil:
		return nil
	case c.readErr != nil && (err == io.EOF || err == fasthttp.ErrTimeout || errors.Is(err, c.readErr)):
		if c.readErr == io.EOF && c.read > 0 {
			return io.ErrUnexpectedEOF
		}
		return c.readErr
	}
	return &protocolError{reason: "protocol error: malformed HTTP response"}
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}
