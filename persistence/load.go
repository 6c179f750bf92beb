package persistence

import (
	"encoding/json"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/health"
)

// Reading every registration at start-up.

// LoadAll reads every registration with its last status and history.
// Statuses and histories left behind by a removed URL are deleted.
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
		orphans = append(orphans, s.loadHistories(txn, regs, out)...)
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
			s.log.Warn("deleting orphan statuses and histories failed", "count", len(orphans), "err", err)
		}
	}
	return out, nil
}
