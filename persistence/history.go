package persistence

import (
	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/actors/target"
)

// SaveHistory marks url's history as changed (see flushLazy): its stored
// form is written at the next flush, read from h then (so the flush saves
// the newest changes). It never blocks on I/O and does not allocate once
// url is marked.
func (s *Store) SaveHistory(url string, h *history.Log) { s.histories.set(url, h) }

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
