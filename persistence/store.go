// Package persistence keeps SpO₂'s registrations in an embedded Badger store.
//
// Four kinds of value live under four key prefixes, each keyed by the URL:
//
//	r/<url>  the registration (JSON): written durably, acknowledged to clients
//	s/<url>  the last status (JSON): written lazily, a best-effort cache
//	a/<url>  the last state announced on Slack: written after delivery
//	h/<url>  the last state changes (history.Log's stored form): written
//	         lazily, like statuses
//
// Deleting a registration deletes all four.
//
// and silences under x/<id> (JSON), written durably before acknowledged.
//
// Durable writes go through one group committer: concurrent callers' writes
// are gathered into one Badger write batch and one fsync, so N writers cost
// far less than N fsyncs. A write's completion is reported only after fsync.
//
// Every write is first admitted by a free-space guard: a write that would
// leave less than Options.MinFree free on the store's filesystem is refused
// with ErrDiskFull, and lazily written statuses wait for space to return.
package persistence

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
)

const (
	prefixRegistration = "r/"
	prefixStatus       = "s/"
	prefixAnnounced    = "a/"
	prefixSilence      = "x/"
	prefixHistory      = "h/"

	// maxGroupOps bounds the operations gathered into one group commit.
	maxGroupOps = 50_000
	// statusFlushInterval is how often lazily written statuses and histories
	// reach Badger (see flushLazy).
	statusFlushInterval = 500 * time.Millisecond
)

// ErrClosed is returned for writes submitted after Close.
var ErrClosed = errors.New("store is closed")

// Op is one change to the registrations: a Put (Reg set) or a Delete (Reg nil).
type Op struct {
	URL string
	Reg *health.Registration
}

// Loaded is one registration read at start-up, with its last persisted status
// (nil when none was saved) and history (nil when empty).
type Loaded struct {
	Reg     health.Registration
	Status  *health.Status
	History *history.Log
}

// CommitObserver is told the duration of every durable group commit and the
// number of operations in it. It may be nil.
type CommitObserver func(d time.Duration, ops int)

// Options tune OpenWith. The zero value is valid.
type Options struct {
	// Observer is told about every durable group commit. May be nil.
	Observer CommitObserver
	// MinFree is the free space, in bytes, writes must leave on the store's
	// filesystem; 0 means DefaultMinFree.
	MinFree uint64
	// FreeSpace reads the store's free space; nil means StatFS of the path.
	FreeSpace FreeSpace
	// OnRefused is told of writes refused for lack of space: kind is
	// "durable" (writes is the number of Apply calls refused), "status" (one
	// postponed status or history flush) or "announced". May be nil.
	OnRefused func(kind string, writes int)
	// HistoryLimit is how many changes LoadAll keeps of each URL's history
	// (history.DefaultLimit when 0).
	HistoryLimit int
}

// Store is the Badger-backed registration store. Its methods are safe for
// concurrent use.
type Store struct {
	db       *badger.DB
	log      *slog.Logger
	observer CommitObserver
	space    *spaceGuard

	commits chan *commit
	stop    chan struct{}
	wg      sync.WaitGroup

	closeOnce sync.Once
	closeMu   sync.RWMutex // held for reading while submitting, for writing by Close
	closed    bool

	statuses     pendingValues[*health.Status] // written lazily, see flushLazy
	histories    pendingValues[*history.Log]
	historyLimit int
}

type commit struct {
	ops  []Op
	done func(error)
}

// Open opens (creating if needed) the store in directory path, with the
// default Options and observer.
func Open(path string, log *slog.Logger, observer CommitObserver) (*Store, error) {
	return OpenWith(path, log, Options{Observer: observer})
}

// OpenWith opens (creating if needed) the store in directory path.
func OpenWith(path string, log *slog.Logger, o Options) (*Store, error) {
	if o.MinFree == 0 {
		o.MinFree = DefaultMinFree
	}
	if o.FreeSpace == nil {
		o.FreeSpace = StatFS(path)
	}
	if err := checkRoomToOpen(path, o.FreeSpace); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	// Badger maps its write-ahead logs (2 × MemTableSize) and value logs
	// (2 × ValueLogFileSize) as sparse files: the mapping takes no space, only
	// the bytes written do, and those the space guard counts. What it cannot
	// count is Badger's own background work, which MinFree covers: flushing a
	// full memtable into a table (up to 8 MiB) and compacting level 0 (up to
	// five such tables, plus the part of the next level they overlap).
	opts := badger.DefaultOptions(path).
		WithSyncWrites(false). // the group committer fsyncs once per group
		WithLogger(badgerLogger{log}).
		WithNumMemtables(2).
		WithMemTableSize(8 << 20).
		WithBlockCacheSize(8 << 20).
		WithNumCompactors(2).
		WithValueThreshold(64 << 10)
	db, err := badger.Open(opts)
	if err != nil {
		return nil, diskFull(fmt.Errorf("open store %s: %w", path, err))
	}
	s := &Store{
		db: db, log: log, observer: o.Observer,
		space:        &spaceGuard{path: path, minFree: o.MinFree, free: o.FreeSpace, now: time.Now, log: log, onRefused: o.OnRefused},
		commits:      make(chan *commit, 4096),
		stop:         make(chan struct{}),
		historyLimit: o.HistoryLimit,
	}
	s.wg.Add(2)
	go s.runCommitter()
	go s.runLazyFlusher()
	return s, nil
}

// FreeBytes reads the free space on the store's filesystem now.
func (s *Store) FreeBytes() (uint64, error) { return s.space.free() }

// Close finishes queued durable writes, saves pending statuses and
// histories and closes Badger. Writes submitted afterwards fail with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.flushLazy()
		if cerr := s.db.Close(); cerr != nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	})
	return err
}

// badgerLogger sends Badger's warnings and errors to slog and drops its
// chatty info and debug lines.
type badgerLogger struct{ log *slog.Logger }

func (l badgerLogger) Errorf(f string, a ...any)   { l.log.Error(fmt.Sprintf(f, a...), "lib", "badger") }
func (l badgerLogger) Warningf(f string, a ...any) { l.log.Warn(fmt.Sprintf(f, a...), "lib", "badger") }
func (l badgerLogger) Infof(string, ...any)        {}
func (l badgerLogger) Debugf(string, ...any)       {}
