package persistence

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// Silences, each under x/<id>, written and deleted durably (fsynced before
// the call returns). The value is opaque here (the silence package's JSON).

// SaveSilence stores value under id durably. While the disk is short of
// space it saves nothing and returns an error wrapping ErrDiskFull.
func (s *Store) SaveSilence(id string, value []byte) error {
	key := []byte(prefixSilence + id)
	if err := s.space.admit("durable", 1, uint64(len(key)+len(value)+entryOverhead)); err != nil {
		return fmt.Errorf("save silence %s: %w", id, err)
	}
	if err := s.syncedUpdate(func(txn *badger.Txn) error { return txn.Set(key, value) }); err != nil {
		return diskFull(fmt.Errorf("save silence %s: %w", id, err))
	}
	return nil
}

// DeleteSilence deletes the silence id durably; deleting an unknown id is
// not an error.
func (s *Store) DeleteSilence(id string) error {
	key := []byte(prefixSilence + id)
	if err := s.space.admit("durable", 1, uint64(len(key)+entryOverhead)); err != nil {
		return fmt.Errorf("delete silence %s: %w", id, err)
	}
	if err := s.syncedUpdate(func(txn *badger.Txn) error { return txn.Delete(key) }); err != nil {
		return diskFull(fmt.Errorf("delete silence %s: %w", id, err))
	}
	return nil
}

// LoadSilences returns every stored silence value.
func (s *Store) LoadSilences() ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{PrefetchValues: true, Prefix: []byte(prefixSilence)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			v, err := it.Item().ValueCopy(nil)
			if err != nil {
				return err
			}
			out = append(out, v)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	return out, nil
}

// ReplaceSilences makes the stored silences exactly silences (id → value),
// in one transaction, durably: a cluster member's local copy after it read
// the registry whole. While the disk is short of space it changes nothing
// and returns an error wrapping ErrDiskFull.
func (s *Store) ReplaceSilences(silences map[string][]byte) error {
	size := uint64(0)
	for id, v := range silences {
		size += uint64(len(prefixSilence) + len(id) + len(v) + entryOverhead)
	}
	if err := s.space.admit("durable", len(silences), size); err != nil {
		return fmt.Errorf("replace silences: %w", err)
	}
	err := s.syncedUpdate(func(txn *badger.Txn) error {
		var gone [][]byte
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixSilence)})
		for it.Rewind(); it.Valid(); it.Next() {
			if _, keep := silences[string(it.Item().Key()[len(prefixSilence):])]; !keep {
				gone = append(gone, it.Item().KeyCopy(nil))
			}
		}
		it.Close()
		for _, k := range gone {
			if err := txn.Delete(k); err != nil {
				return err
			}
		}
		for id, v := range silences {
			if err := txn.Set([]byte(prefixSilence+id), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return diskFull(fmt.Errorf("replace silences: %w", err))
	}
	return nil
}

// syncedUpdate runs f in one Badger transaction, then fsyncs.
func (s *Store) syncedUpdate(f func(txn *badger.Txn) error) error {
	if err := s.db.Update(f); err != nil {
		return err
	}
	return s.db.Sync()
}
