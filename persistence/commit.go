package persistence

import (
	"context"
	"fmt"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Durable writes: the group committer gathers concurrent callers' operations
// into one Badger write batch and one fsync.

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
