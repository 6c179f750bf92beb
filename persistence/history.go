package persistence

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/actors/target"
)

// Lazily written histories: each URL's last state changes, saved with the
// statuses every statusFlushInterval, best effort. A crash loses the changes
// of the last moments; a clean Close saves them all.

// SaveHistory marks url's history as changed: its stored form is written at
// the next flush, read from h then (so the flush saves the newest changes).
// It never blocks on I/O and does not allocate once url is marked.
func (s *Store) SaveHistory(url string, h *history.Log) {
	s.historyMu.Lock()
	s.historyPending[url] = h
	s.historyMu.Unlock()
}

// forgetPendingHistories drops the pending histories of the URLs a group
// deletes: a history written after its URL's delete would outlive it.
func (s *Store) forgetPendingHistories(group []*commit) {
	s.historyMu.Lock()
	defer s.historyMu.Unlock()
	if len(s.historyPending) == 0 {
		return
	}
	for _, c := range group {
		for _, op := range c.ops {
			if op.Reg == nil {
				delete(s.historyPending, op.URL)
			}
		}
	}
}

// flushHistories writes the pending histories in one batch. While the disk
// is short of space they stay pending and are tried again at the next tick
// (a refusal counts as a postponed "status" flush).
// A history written just after its URL was deleted is left as an orphan;
// LoadAll deletes orphans, and drops the changes older than a registration
// from its history, so a URL registered again starts empty.
func (s *Store) flushHistories() {
	s.historyMu.Lock()
	pending := s.historyPending
	if len(pending) == 0 {
		s.historyMu.Unlock()
		return
	}
	s.historyPending = make(map[string]*history.Log)
	s.historyMu.Unlock()
	type kv struct{ key, value []byte }
	kvs := make([]kv, 0, len(pending))
	var size uint64
	for url, h := range pending {
		v := h.AppendBinary(nil)
		kvs = append(kvs, kv{[]byte(prefixHistory + url), v})
		size += uint64(len(prefixHistory) + len(url) + len(v) + entryOverhead)
	}
	if s.space.admit("status", 1, size) != nil {
		s.historyMu.Lock()
		for url, h := range pending {
			if _, newer := s.historyPending[url]; !newer {
				s.historyPending[url] = h
			}
		}
		s.historyMu.Unlock()
		return
	}
	var err error
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, e := range kvs {
		if err = wb.Set(e.key, e.value); err != nil {
			break
		}
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		s.log.Warn("saving histories failed", "count", len(pending), "err", err)
	}
}

// loadHistories reads every stored history into out, by the index of its
// URL in regs, and returns the keys of histories whose URL is not
// registered. A history that does not decode is dropped (logged): the URL
// starts with an empty one.
func (s *Store) loadHistories(txn *badger.Txn, regs map[string]int, out []Loaded) (orphans [][]byte) {
	it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, PrefetchSize: 256, Prefix: []byte(prefixHistory)})
	defer it.Close()
	for it.Rewind(); it.Valid(); it.Next() {
		key := it.Item().Key()
		i, ok := regs[string(key[len(prefixHistory):])]
		if !ok {
			orphans = append(orphans, it.Item().KeyCopy(nil))
			continue
		}
		notBefore := out[i].Reg.CreatedAt.UnixNano()
		err := it.Item().Value(func(v []byte) error {
			h, err := history.Decode(v, s.historyLimit, notBefore)
			out[i].History = h
			return err
		})
		if err != nil {
			s.log.Warn("dropping a damaged history", "url", target.Mask(string(key[len(prefixHistory):])), "err", err)
		}
	}
	return orphans
}
