package main

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// BadgerResult is the raw store's speed on this disk, measured in the same
// run as spo2's registration figures.
type BadgerResult struct {
	WriteBatchPerSec float64 `json:"writebatch_records_per_sec"`
	Sync1PerSec      float64 `json:"synced_txns_1_writer_per_sec"`
	Sync8PerSec      float64 `json:"synced_txns_8_writers_per_sec"`
	Sync64PerSec     float64 `json:"synced_txns_64_writers_per_sec"`
}

// benchValue is about the size of one spo2 record.
var benchValue = []byte(`{"url":"http://127.0.0.2:40000/u/123456","data":{"customer":123456,"index":"bench"},"probe":{"interval":"10s","timeout":"5s","failure_threshold":3,"success_threshold":1,"expect":"200-399"},"status":{"state":"pending"},"created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:00:00Z"}`)

// RunBadger measures WriteBatch records/s and synced transactions/s with 1,
// 8 and 64 writers (median of three runs of d each), in a fresh directory
// under tmp.
func RunBadger(tmp string, records int, d time.Duration) (BadgerResult, error) {
	var r BadgerResult
	dir, err := os.MkdirTemp(tmp, "badger-")
	if err != nil {
		return r, fmt.Errorf("badger temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	db, err := badger.Open(badger.DefaultOptions(dir).WithSyncWrites(true).WithLogger(nil))
	if err != nil {
		return r, fmt.Errorf("open badger in %s: %w", dir, err)
	}
	defer db.Close()

	start := time.Now()
	wb := db.NewWriteBatch()
	for i := range records {
		if err := wb.Set(fmt.Appendf(nil, "wb/%09d", i), benchValue); err != nil {
			wb.Cancel()
			return r, fmt.Errorf("writebatch set: %w", err)
		}
	}
	if err := wb.Flush(); err != nil {
		return r, fmt.Errorf("writebatch flush: %w", err)
	}
	if err := db.Sync(); err != nil {
		return r, fmt.Errorf("badger sync: %w", err)
	}
	r.WriteBatchPerSec = float64(records) / time.Since(start).Seconds()

	for _, w := range []struct {
		n   int
		out *float64
	}{{1, &r.Sync1PerSec}, {8, &r.Sync8PerSec}, {64, &r.Sync64PerSec}} {
		// Median of three: fsync times vary with whatever else the disk does.
		var rates []float64
		for range 3 {
			rate, err := syncedTxns(db, w.n, d)
			if err != nil {
				return r, err
			}
			rates = append(rates, rate)
		}
		slices.Sort(rates)
		*w.out = rates[1]
	}
	return r, nil
}

func syncedTxns(db *badger.DB, writers int, d time.Duration) (float64, error) {
	var n atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(deadline); i++ {
				key := fmt.Appendf(nil, "tx%d/%02d/%09d", writers, w, i)
				if err := db.Update(func(txn *badger.Txn) error { return txn.Set(key, benchValue) }); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, fmt.Errorf("badger synced txn with %d writers: %w", writers, err)
	}
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}
