package persistence

import (
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/health"
)

// The last state announced on Slack per URL, written after delivery.

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
