// Package registry keeps SpO₂'s shared registrations in etcd, the registry
// of record of a cluster: every member writes through it and watches it.
//
// Under the key prefix P (Config.Prefix, "/<cluster name>/"):
//
//	P r/<url>  a registration, the bytes the Badger store keeps under r/
//	           (health.Registration.AppendJSON)
//	P x/<id>   a silence, the bytes silence.Book hands its store
//	P a/<url>  the last state announced on Slack (the state string)
//
// Deleting a registration deletes its announced state with it. Everything
// else under P (such as the membership keys of the cluster provider) is not
// this package's.
//
// Every failure to reach etcd within Config.Timeout is reported as an error
// wrapping ErrUnavailable. A request that timed out may still have been
// committed: an error does not prove that nothing changed, and the watch
// shows what did.
package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/spo2/spo2/persistence"
)

// ErrUnavailable is wrapped by every error that comes from not reaching
// etcd in time, or etcd refusing a request. Its text leads the wrapping
// error's: "registry unavailable: <cause>".
var ErrUnavailable = errors.New("registry unavailable")

// ErrClosed is returned for writes submitted after Close.
var ErrClosed = errors.New("registry is closed")

// DefaultTimeout bounds one etcd request when Config.Timeout is 0.
const DefaultTimeout = 3 * time.Second

// Key prefixes under Config.Prefix.
const (
	prefixRegistration = "r/"
	prefixSilence      = "x/"
	prefixAnnounced    = "a/"
	// watchEnd ends the key range holding registrations and silences: every
	// key from r/ up to and including those starting with x/ ('0' follows '/').
	watchEnd = "x0"
)

// Config configures Open.
type Config struct {
	// Endpoints are etcd's client URLs ("http://127.0.0.1:2379").
	Endpoints []string
	// Prefix is put before every key; "/spo2/" when empty. A missing
	// trailing slash is added.
	Prefix string
	// Timeout bounds every etcd request; DefaultTimeout when 0.
	Timeout time.Duration
	// Log receives one line per event that matters (an outage, its end, a
	// lost watch); slog.Default() when nil.
	Log *slog.Logger
	// Observer is told the duration and the number of registration
	// operations of every transaction Apply commits, failed ones included.
	// May be nil.
	Observer persistence.CommitObserver
}

// Registry is etcd as the registry of record. Open does not need etcd to be
// up: requests made while it is down wait up to Config.Timeout and fail
// with ErrUnavailable, and work again once it is back. Its methods are safe
// for concurrent use.
type Registry struct {
	cli      *clientv3.Client
	prefix   string
	timeout  time.Duration
	log      *slog.Logger
	observer persistence.CommitObserver

	calls chan *call
	stop  chan struct{}
	wg    sync.WaitGroup

	closeOnce sync.Once
	closeMu   sync.RWMutex // held for reading while submitting, for writing by Close
	closed    bool
}

// Open creates the etcd client and starts the committer. It fails only on a
// bad configuration, never because etcd is down.
func Open(cfg Config) (*Registry, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("open registry: no etcd endpoints")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = "/spo2/"
	}
	if !strings.HasSuffix(cfg.Prefix, "/") {
		cfg.Prefix += "/"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: cfg.Endpoints,
		// No DialTimeout: the client connects in the background, so Open
		// does not wait for etcd.
		DialKeepAliveTime:    10 * time.Second,
		DialKeepAliveTimeout: 5 * time.Second,
		// The client's own log repeats every retry; this package logs the
		// outages itself.
		Logger: zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("open registry %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	r := &Registry{
		cli: cli, prefix: cfg.Prefix, timeout: cfg.Timeout, log: cfg.Log, observer: cfg.Observer,
		calls: make(chan *call, 4096),
		stop:  make(chan struct{}),
	}
	r.wg.Add(1)
	go r.runCommitter()
	return r, nil
}

// Close commits the writes already submitted (each still bounded by the
// timeout), ends every Watch and closes the client. Writes submitted
// afterwards fail with ErrClosed.
func (r *Registry) Close() error {
	var err error
	r.closeOnce.Do(func() {
		r.closeMu.Lock()
		r.closed = true
		r.closeMu.Unlock()
		close(r.stop)
		r.wg.Wait()
		if cerr := r.cli.Close(); cerr != nil && !errors.Is(cerr, context.Canceled) {
			err = fmt.Errorf("close registry: %w", cerr)
		}
	})
	return err
}

// Reachable makes one cheap round trip to etcd (a count of one key) and
// returns nil when etcd answered within the timeout, or an error wrapping
// ErrUnavailable.
func (r *Registry) Reachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if _, err := r.cli.Get(ctx, r.prefix+prefixRegistration, clientv3.WithCountOnly()); err != nil {
		return r.unavailable("reach etcd", err)
	}
	return nil
}

// UnavailableError is every error of a request etcd did not answer in time
// or refused. Its text is "registry unavailable: <what>: <cause>", whatever
// wraps it (errors.As finds it), and errors.Is(err, ErrUnavailable) holds.
type UnavailableError struct{ err error }

func (e *UnavailableError) Error() string { return e.err.Error() }
func (e *UnavailableError) Unwrap() error { return e.err }

// unavailable wraps err, the failure of doing what, with ErrUnavailable. A
// request that ran out of time says so in words.
func (r *Registry) unavailable(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return &UnavailableError{fmt.Errorf("%w: %s: etcd did not answer within %s", ErrUnavailable, what, r.timeout)}
	}
	return &UnavailableError{fmt.Errorf("%w: %s: %w", ErrUnavailable, what, err)}
}
