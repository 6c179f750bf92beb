package persistence

import (
	"encoding/json"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Lazily written statuses: the latest status of each URL, saved every
// statusFlushInterval, a best-effort cache.

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
			s.flushHistories()
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
