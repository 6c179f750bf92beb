// Package persistence keeps SpO₂'s registrations in an embedded Badger store.
//
// Three kinds of value live under three key prefixes, each keyed by the URL:
//
//	r/<url>  the registration (JSON): written durably, acknowledged to clients
//	s/<url>  the last status (JSON): written lazily, a best-effort cache
//	a/<url>  the last state announced on Slack: written after delivery
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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/health"
)

const (
	prefixRegistration = "r/"
	prefixStatus       = "s/"
	prefixAnnounced    = "a/"

	// maxGroupOps bounds the operations gathered into one group commit.
	maxGroupOps = 50_000
	// statusFlushInterval is how often lazily written statuses reach Badger.
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
// (nil when none was saved).
type Loaded struct {
	Reg    health.Registration
	Status *health.Status
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
	// postponed status flush) or "announced". May be nil.
	OnRefused func(kind string, writes int)
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

	statusMu      sync.Mutex
	statusPending map[string]*health.Status // nil value: delete
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
		space:         &spaceGuard{path: path, minFree: o.MinFree, free: o.FreeSpace, now: time.Now, log: log, onRefused: o.OnRefused},
		commits:       make(chan *commit, 4096),
		stop:          make(chan struct{}),
		statusPending: make(map[string]*health.Status),
	}
	s.wg.Add(2)
	go s.runCommitter()
	go s.runStatusFlusher()
	return s, nil
}

// Apply submits ops as one durable write and returns at once; done is called,
// from another goroutine, after the ops are fsynced (nil) or have failed.
// Ops of one call are applied in order; calls are applied in submission order.
func (s *Store) Apply(ops []Op, done func(error)) {
	s.closeMu.RLock()
	defer s.closeMu.RUnlock()
	if s.closed {
		done(ErrClosed)
		return
	}
	s.commits <- &commit{ops: ops, done: done}
}

// Write applies ops durably and waits for the result.
func (s *Store) Write(ctx context.Context, ops []Op) error {
	res := make(chan error, 1)
	s.Apply(ops, func(err error) { res <- err })
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Store) runCommitter() {
	defer s.wg.Done()
	for {
		var first *commit
		select {
		case first = <-s.commits:
		case <-s.stop:
			// Close holds closeMu, so nothing more can arrive: drain what is queued.
			for {
				select {
				case c := <-s.commits:
					s.commitGroup([]*commit{c})
				default:
					return
				}
			}
		}
		group := []*commit{first}
		n := len(first.ops)
	gather:
		for n < maxGroupOps {
			select {
			case c := <-s.commits:
				group = append(group, c)
				n += len(c.ops)
			default:
				break gather
			}
		}
		s.commitGroup(group)
	}
}

// commitGroup writes a group as one batch and one fsync, and tells every
// caller in it the one outcome: a group fails or succeeds as a whole, and the
// committer goes on with the next group either way.
func (s *Store) commitGroup(group []*commit) {
	start := time.Now()
	n := 0
	for _, c := range group {
		n += len(c.ops)
	}
	err := s.writeGroup(group, n)
	if s.observer != nil {
		s.observer(time.Since(start), n)
	}
	for _, c := range group {
		c.done(err)
	}
}

// writeGroup returns nil once the group is fsynced. A refusal of the space
// guard is not logged here (the guard logs when refusals start and end); any
// other failure is.
func (s *Store) writeGroup(group []*commit, n int) error {
	failed := func(err error) error {
		err = diskFull(err)
		s.log.Error("durable write failed", "ops", n, "err", err)
		return err
	}
	// Encode everything first: the guard needs the size, and a large batch
	// may reach the disk in parts while it is staged.
	kvs := make([]keyValue, 0, n)
	var size uint64
	for _, c := range group {
		for _, op := range c.ops {
			var err error
			if kvs, err = encode(kvs, op); err != nil {
				return failed(err)
			}
		}
	}
	for _, kv := range kvs {
		size += uint64(len(kv.key) + len(kv.value) + entryOverhead)
	}
	if err := s.space.admit("durable", len(group), size); err != nil {
		return err
	}
	s.statusMu.Lock()
	for _, c := range group {
		for _, op := range c.ops {
			if op.Reg == nil {
				delete(s.statusPending, op.URL)
			}
		}
	}
	s.statusMu.Unlock()
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, kv := range kvs {
		var err error
		if kv.del {
			err = wb.Delete(kv.key)
		} else {
			err = wb.Set(kv.key, kv.value)
		}
		if err != nil {
			return failed(fmt.Errorf("stage %.200q: %w", kv.key, err))
		}
	}
	if err := wb.Flush(); err != nil {
		return failed(fmt.Errorf("write batch of %d ops: %w", n, err))
	}
	if err := s.db.Sync(); err != nil {
		return failed(fmt.Errorf("sync store: %w", err))
	}
	return nil
}

// keyValue is one staged Badger write: a set, or a delete of key.
type keyValue struct {
	key, value []byte
	del        bool
}

// encode appends op's Badger writes to kvs: a put sets r/<url>; a delete
// removes r/, s/ and a/ of the URL.
func encode(kvs []keyValue, op Op) ([]keyValue, error) {
	if op.Reg == nil {
		for _, p := range []string{prefixRegistration, prefixStatus, prefixAnnounced} {
			kvs = append(kvs, keyValue{key: []byte(p + op.URL), del: true})
		}
		return kvs, nil
	}
	b, err := health.MarshalJSON(op.Reg)
	if err != nil {
		return kvs, fmt.Errorf("encode %s: %w", op.URL, err)
	}
	return append(kvs, keyValue{key: []byte(prefixRegistration + op.URL), value: b}), nil
}

// SaveStatus records url's latest status lazily: it reaches the disk within
// about half a second, and a crash may lose it. It never blocks on I/O.
func (s *Store) SaveStatus(url string, st health.Status) {
	s.statusMu.Lock()
	s.statusPending[url] = &st
	s.statusMu.Unlock()
}

func (s *Store) runStatusFlusher() {
	defer s.wg.Done()
	t := time.NewTicker(statusFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flushStatuses()
		case <-s.stop:
			return
		}
	}
}

// flushStatuses writes the pending statuses in one batch. While the disk is
// short of space they stay pending (a newer status of the same URL replaces
// them) and are tried again at the next tick.
func (s *Store) flushStatuses() {
	s.statusMu.Lock()
	pending := s.statusPending
	s.statusPending = make(map[string]*health.Status)
	s.statusMu.Unlock()
	if len(pending) == 0 {
		return
	}
	encoded := make(map[string][]byte, len(pending))
	var size uint64
	for url, st := range pending {
		b, _ := json.Marshal(st)
		encoded[url] = b
		size += uint64(len(prefixStatus) + len(url) + len(b) + entryOverhead)
	}
	if s.space.admit("status", 1, size) != nil {
		s.statusMu.Lock()
		for url, st := range pending {
			if _, newer := s.statusPending[url]; !newer {
				s.statusPending[url] = st
			}
		}
		s.statusMu.Unlock()
		return
	}
	// A status written just after its URL was deleted is left as an orphan;
	// LoadAll deletes orphans.
	var err error
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for url, b := range encoded {
		if err = wb.Set([]byte(prefixStatus+url), b); err != nil {
			break
		}
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		s.log.Warn("saving statuses failed", "count", len(pending), "err", err)
	}
}

// LoadAll reads every registration with its last status. Statuses and
// announcements left behind by a removed URL are deleted.
func (s *Store) LoadAll() ([]Loaded, error) {
	regs := make(map[string]int)
	var out []Loaded
	var orphans [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: []byte(prefixRegistration)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var r health.Registration
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &r) }); err != nil {
				return fmt.Errorf("decode registration %q: %w", it.Item().Key(), err)
			}
			regs[r.URL] = len(out)
			out = append(out, Loaded{Reg: r})
		}
		it.Close()

		it = txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: []byte(prefixStatus)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			key := it.Item().KeyCopy(nil)
			i, ok := regs[string(key[len(prefixStatus):])]
			if !ok {
				orphans = append(orphans, key)
				continue
			}
			var st health.Status
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &st) }); err != nil || !st.State.Valid() {
				continue // a damaged cache entry: the URL starts pending
			}
			out[i].Status = &st
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load registrations: %w", err)
	}
	var size uint64
	for _, k := range orphans {
		size += uint64(len(k) + entryOverhead)
	}
	if len(orphans) > 0 && s.space.admit("status", 1, size) == nil {
		wb := s.db.NewWriteBatch()
		for _, k := range orphans {
			_ = wb.Delete(k)
		}
		if err := wb.Flush(); err != nil {
			s.log.Warn("deleting orphan statuses failed", "count", len(orphans), "err", err)
		}
	}
	return out, nil
}

// LoadAnnounced returns the last state announced on Slack for each URL.
func (s *Store) LoadAnnounced() (map[string]health.State, error) {
	out := make(map[string]health.State)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte(prefixAnnounced)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			url := string(it.Item().Key()[len(prefixAnnounced):])
			_ = it.Item().Value(func(v []byte) error {
				out[url] = health.State(v)
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load announced states: %w", err)
	}
	return out, nil
}

// SaveAnnounced records the states just announced on Slack, durably. URLs no
// longer registered are skipped, so a removed URL leaves nothing behind.
// While the disk is short of space it saves nothing and returns an error
// wrapping ErrDiskFull.
func (s *Store) SaveAnnounced(states map[string]health.State) error {
	var size uint64
	for url, st := range states {
		size += uint64(len(prefixAnnounced) + len(url) + len(st) + entryOverhead)
	}
	if err := s.space.admit("announced", 1, size); err != nil {
		return fmt.Errorf("save %d announced states: %w", len(states), err)
	}
	err := s.db.Update(func(txn *badger.Txn) error {
		for url, st := range states {
			if _, err := txn.Get([]byte(prefixRegistration + url)); errors.Is(err, badger.ErrKeyNotFound) {
				continue
			} else if err != nil {
				return err
			}
			if err := txn.Set([]byte(prefixAnnounced+url), []byte(st)); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		err = s.db.Sync()
	}
	if err != nil {
		return diskFull(fmt.Errorf("save %d announced states: %w", len(states), err))
	}
	return nil
}

// FreeBytes reads the free space on the store's filesystem now.
func (s *Store) FreeBytes() (uint64, error) { return s.space.free() }

// Close finishes queued durable writes, saves pending statuses and closes
// Badger. Writes submitted afterwards fail with ErrClosed.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.closeMu.Lock()
		s.closed = true
		s.closeMu.Unlock()
		close(s.stop)
		s.wg.Wait()
		s.flushStatuses()
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
