package persistence

import (
	"context"
	"fmt"
	"time"
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
	var arena []byte
	for _, c := range group {
		for _, op := range c.ops {
			kvs, arena = encode(kvs, arena, op)
		}
	}
	var size uint64
	for _, kv := range kvs {
		size += uint64(len(kv.key) + len(kv.value) + entryOverhead)
	}
	if err := s.space.admit("durable", len(group), size); err != nil {
		return err
	}
	s.statuses.forgetDeleted(group)
	s.histories.forgetDeleted(group)
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
// removes r/, s/, a/ and h/ of the URL. Keys and values of puts are carved out of
// arena, one allocation for many registrations: append only writes past the
// slices already handed out, so they stay valid when arena grows.
func encode(kvs []keyValue, arena []byte, op Op) ([]keyValue, []byte) {
	if op.Reg == nil {
		for _, p := range []string{prefixRegistration, prefixStatus, prefixAnnounced, prefixHistory} {
			kvs = append(kvs, keyValue{key: []byte(p + op.URL), del: true})
		}
		return kvs, arena
	}
	if need := 512 + 2*len(op.URL) + len(op.Reg.Data); cap(arena)-len(arena) < need {
		arena = make([]byte, 0, max(arenaSize, 2*need))
	}
	start := len(arena)
	arena = append(append(arena, prefixRegistration...), op.URL...)
	key := arena[start:len(arena):len(arena)]
	start = len(arena)
	arena = op.Reg.AppendJSON(arena)
	return append(kvs, keyValue{key: key, value: arena[start:len(arena):len(arena)]}), arena
}

// arenaSize is the size of one encoding arena: room for about a hundred
// registrations.
const arenaSize = 64 << 10
