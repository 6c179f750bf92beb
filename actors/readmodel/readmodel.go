// Package readmodel keeps the current record of every registered URL in
// memory, so that reads (GET /all, GET /status, WebSocket snapshots, Slack
// rendering) never ask the URL actors.
//
// Writers: the supervisor adds, updates and removes registrations; each URL
// actor stores its own status through its Entry, without taking any lock.
// Readers see each registration and each status as an immutable value.
package readmodel

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/spo2/spo2/actors/health"
)

// Entry is the live view of one URL. Its registration and status are replaced
// atomically, never modified in place.
type Entry struct {
	reg    atomic.Pointer[health.Registration]
	status atomic.Pointer[health.Status]
}

// Registration returns the current registration.
func (e *Entry) Registration() *health.Registration { return e.reg.Load() }

// Status returns the current status.
func (e *Entry) Status() *health.Status { return e.status.Load() }

// SetRegistration replaces the registration.
func (e *Entry) SetRegistration(r *health.Registration) { e.reg.Store(r) }

// SetStatus replaces the status.
func (e *Entry) SetStatus(s *health.Status) { e.status.Store(s) }

// CompareAndSwapStatus replaces the status with s only if it is still old,
// and reports whether it did: of two writers, the one that read a status
// the other has replaced since loses.
func (e *Entry) CompareAndSwapStatus(old, s *health.Status) bool {
	return e.status.CompareAndSwap(old, s)
}

// Record joins the current registration and status.
func (e *Entry) Record() health.Record { return health.NewRecord(e.reg.Load(), e.status.Load()) }

// Ref is a registration and status captured together at one moment.
type Ref struct {
	Reg    *health.Registration
	Status *health.Status
}

// Record joins the captured registration and status.
func (r Ref) Record() health.Record { return health.NewRecord(r.Reg, r.Status) }

// Model is the set of entries, safe for concurrent use.
type Model struct {
	mu      sync.RWMutex
	entries map[string]*Entry
}

// New returns an empty model.
func New() *Model { return &Model{entries: make(map[string]*Entry)} }

// Put adds url with the given registration and status, or replaces the
// registration of an existing entry (keeping its status). It returns the entry.
func (m *Model) Put(r *health.Registration, s *health.Status) *Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[r.URL]; ok {
		e.SetRegistration(r)
		return e
	}
	e := &Entry{}
	e.SetRegistration(r)
	e.SetStatus(s)
	m.entries[r.URL] = e
	return e
}

// Remove forgets url and returns its last entry, or nil.
func (m *Model) Remove(url string) *Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[url]
	delete(m.entries, url)
	return e
}

// Get returns the entry of url, or nil.
func (m *Model) Get(url string) *Entry {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.entries[url]
}

// Len returns the number of registered URLs.
func (m *Model) Len() int {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.entries)
}

// Snapshot captures every entry at one moment, sorted by URL.
func (m *Model) Snapshot() []Ref {
	refs := m.Refs()
	sort.Slice(refs, func(i, j int) bool { return refs[i].Reg.URL < refs[j].Reg.URL })
	return refs
}

// Refs captures every entry at one moment, in no particular order; it costs
// a fraction of Snapshot, which sorts.
func (m *Model) Refs() []Ref {
	m.mu.RLock()
	defer m.mu.RUnlock()
	refs := make([]Ref, 0, len(m.entries))
	for _, e := range m.entries {
		refs = append(refs, Ref{Reg: e.reg.Load(), Status: e.status.Load()})
	}
	return refs
}

// Counts returns how many URLs are in each state.
func (m *Model) Counts() map[health.State]int {
	counts := make(map[health.State]int, len(health.AllStates))
	for _, s := range health.AllStates {
		counts[s] = 0
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	for _, e := range m.entries {
		counts[e.status.Load().State]++
	}
	return counts
}
