package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spo2/spo2/actors/target"
)

// orphanDialTimeout bounds a dial that no probe asked for (there is none
// today: every request the transport sends is a probe's).
const orphanDialTimeout = 30 * time.Second

// probeDials ties the connections a probe opens to the probe. net/http dials
// on a context detached from the request's cancellation (so that a late
// connection may serve another request), but it keeps the request's values:
// the probe passes itself as one, and every dial and TLS handshake it causes
// ends with the probe — by its deadline or its cancellation — instead of
// lingering until the kernel's SYN retries (about two minutes) or the peer
// give up. The probe then waits for its dials to be gone before it returns,
// so its pool slot covers them: MAX_PROBES_IN_FLIGHT bounds dials too.
type probeDials struct {
	ctx     context.Context // the probe's
	mu      sync.Mutex
	active  int
	over    bool          // the probe finished: no new dial starts
	drained chan struct{} // closed when over and the last dial ends
}

type probeDialsKey struct{}

// enter registers a dial; false when the probe is already over.
func (pd *probeDials) enter() bool {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.over {
		return false
	}
	pd.active++
	return true
}

func (pd *probeDials) leave() {
	pd.mu.Lock()
	defer pd.mu.Unlock()
	if pd.active--; pd.active == 0 && pd.drained != nil {
		close(pd.drained)
		pd.drained = nil
	}
}

// finish marks the probe over and waits for its dials to end. The probe's
// context must be done already, so they end promptly.
func (pd *probeDials) finish() {
	pd.mu.Lock()
	pd.over = true
	if pd.active == 0 {
		pd.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	pd.drained = ch
	pd.mu.Unlock()
	<-ch
}

// dialer opens the probes' connections: TCP, then TLS for https, each
// bounded by its probe, and only to addresses the target policy allows.
type dialer struct {
	open    net.Dialer // for names the policy allows wherever they resolve
	checked net.Dialer // checks every address it connects to
	allow   *target.Policy
	tls     *tls.Config
	onDial  func()
	dialing atomic.Int64
}

func newDialer(allow *target.Policy, tlsConfig *tls.Config, onDial func()) *dialer {
	d := &dialer{allow: allow, tls: tlsConfig, onDial: onDial}
	d.open = net.Dialer{KeepAlive: -1}
	d.checked = net.Dialer{KeepAlive: -1, Control: d.control}
	return d
}

// control refuses to connect to an address the policy does not allow; it
// runs after name resolution, on the address actually dialled.
func (d *dialer) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("address %q: %w", address, target.ErrNotAllowed)
	}
	if !d.allow.AllowsAddr(ap.Addr()) {
		return target.ErrNotAllowed
	}
	return nil
}

// begin bounds ctx by the probe that caused the dial and counts the dial;
// end must be called when the dial (and handshake) is over.
func (d *dialer) begin(ctx context.Context) (bounded context.Context, end func(), err error) {
	pd, _ := ctx.Value(probeDialsKey{}).(*probeDials)
	if pd == nil {
		bounded, cancel := context.WithTimeout(ctx, orphanDialTimeout)
		d.dialing.Add(1)
		return bounded, func() { cancel(); d.dialing.Add(-1) }, nil
	}
	if !pd.enter() {
		return nil, nil, context.Canceled
	}
	d.dialing.Add(1)
	var cancel context.CancelFunc
	if dl, ok := pd.ctx.Deadline(); ok {
		bounded, cancel = context.WithDeadline(ctx, dl) // net.Dialer spreads it over the addresses
	} else {
		bounded, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(pd.ctx, cancel)
	return bounded, func() {
		stop()
		cancel()
		d.dialing.Add(-1)
		pd.leave()
	}, nil
}

// dialTCP connects, checking the addresses unless the host is a name the
// policy allows wherever it resolves.
func (d *dialer) dialTCP(ctx context.Context, network, addr string) (net.Conn, error) {
	if d.onDial != nil {
		d.onDial()
	}
	nd := &d.open
	if d.allow != nil {
		host, _, _ := net.SplitHostPort(addr)
		if _, err := netip.ParseAddr(host); err == nil || !d.allow.AllowsName(host) {
			nd = &d.checked
		}
	}
	return nd.DialContext(ctx, network, addr)
}

// DialContext is the transport's dial for http URLs.
func (d *dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, end, err := d.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	return d.dialTCP(ctx, network, addr)
}

// DialTLSContext is the transport's dial for https URLs: the handshake is
// done here, bounded like the dial (the transport's own handshake would run
// on the detached context, unbounded).
func (d *dialer) DialTLSContext(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, end, err := d.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer end()
	conn, err := d.dialTCP(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return d.handshake(ctx, conn, addr)
}

// dial opens a connection for a probe that dials on its own goroutine
// (Prober): ctx is the probe's, so the dial and the handshake end with it,
// and the dial is over when dial returns.
func (d *dialer) dial(ctx context.Context, secure bool, addr string) (net.Conn, error) {
	d.dialing.Add(1)
	defer d.dialing.Add(-1)
	conn, err := d.dialTCP(ctx, "tcp", addr)
	if err != nil || !secure {
		return conn, err
	}
	return d.handshake(ctx, conn, addr)
}

// handshake runs the TLS handshake on conn, bounded by ctx; the server name
// is addr's host. It closes conn when the handshake fails.
func (d *dialer) handshake(ctx context.Context, conn net.Conn, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		conn.Close()
		return nil, err
	}
	cfg := d.tls.Clone()
	cfg.ServerName = host
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, &handshakeError{err: err}
	}
	return tc, nil
}

// newTLSConfig returns the probes' TLS configuration: certificates verified
// (unless insecure, for tests) and sessions resumed. It loads the system's
// root certificates first (once per process, tens of milliseconds), so that
// the first https probe does not spend its timeout on SpO₂'s own start-up.
func newTLSConfig(insecure bool) *tls.Config {
	if !insecure {
		_, _ = x509.SystemCertPool()
	}
	return &tls.Config{
		InsecureSkipVerify: insecure, //nolint:gosec // opt-in, tests only
		ClientSessionCache: tls.NewLRUClientSessionCache(4096),
	}
}

// handshakeError marks an error of the TLS handshake.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "tls handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }
