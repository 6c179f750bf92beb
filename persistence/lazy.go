package persistence

import (
	"encoding/json"
	"sync"
	"time"
)

// Lazily written values: each URL's latest status (s/) and its history of
// state changes (h/), saved together every statusFlushInterval, best effort.
// A crash loses the changes of the last moments; a clean Close saves them
// all. A value written just after its URL was deleted is left as an orphan;
// LoadAll deletes orphans (and drops history older than a registration, so
// a URL registered again starts empty).

// pendingValues holds the values waiting for the next lazy flush: the
// newest one of each URL. Safe for concurrent use.
type pendingValues[V any] struct {
	mu sync.Mutex
	m  map[string]V
}

// set makes v the value of url to write at the next flush.
func (p *pendingValues[V]) set(url string, v V) {
	p.mu.Lock()
	if p.m == nil {
		p.m = make(map[string]V)
	}
	p.m[url] = v
	p.mu.Unlock()
}

// take empties the set and returns what it held (nil when empty).
func (p *pendingValues[V]) take() map[string]V {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) == 0 {
		return nil
	}
	taken := p.m
	p.m = make(map[string]V, len(taken))
	return taken
}

// putBack returns values taken but not written, unless a newer value of the
// same URL came meanwhile.
func (p *pendingValues[V]) putBack(taken map[string]V) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for url, v := range taken {
		if _, newer := p.m[url]; !newer {
			p.m[url] = v
		}
	}
}

// forgetDeleted drops the values of the URLs a group deletes: a value
// written after its URL's delete would outlive it.
func (p *pendingValues[V]) forgetDeleted(group []*commit) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.m) == 0 {
		return
	}
	for _, c := range group {
		for _, op := range c.ops {
			if op.Reg == nil {
				delete(p.m, op.URL)
			}
		}
	}
}

func (s *Store) runLazyFlusher() {
	defer s.wg.Done()
	t := time.NewTicker(statusFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			s.flushLazy()
		case <-s.stop:
			return
		}
	}
}

// flushLazy writes the pending statuses and histories in one batch. While
// the disk is short of space they stay pending (a newer value of the same
// URL replaces them) and are tried again at the next tick; the refusal
// counts as a postponed "status" flush.
func (s *Store) flushLazy() {
	statuses, histories := s.statuses.take(), s.histories.take()
	if len(statuses)+len(histories) == 0 {
		return
	}
	kvs := make([]keyValue, 0, len(statuses)+len(histories))
	var size uint64
	add := func(key string, value []byte) {
		kvs = append(kvs, keyValue{key: []byte(key), value: value})
		size += uint64(len(key) + len(value) + entryOverhead)
	}
	for url, st := range statuses {
		b, _ := json.Marshal(st)
		add(prefixStatus+url, b)
	}
	for url, h := range histories {
		add(prefixHistory+url, h.AppendBinary(nil))
	}
	if s.space.admit("status", 1, size) != nil {
		s.statuses.putBack(statuses)
		s.histories.putBack(histories)
		return
	}
	var err error
	wb := s.db.NewWriteBatch()
	defer wb.Cancel()
	for _, kv := range kvs {
		if err = wb.Set(kv.key, kv.value); err != nil {
			break
		}
	}
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		s.log.Warn("saving statuses and histories failed", "statuses", len(statuses), "histories", len(histories), "err", err)
	}
}
