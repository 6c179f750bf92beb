package persistence

import "github.com/spo2/spo2/actors/health"

// SaveStatus records url's latest status lazily (see flushLazy): it reaches
// the disk within about half a second, and a crash may lose it. It never
// blocks on I/O.
func (s *Store) SaveStatus(url string, st health.Status) { s.statuses.set(url, &st) }
