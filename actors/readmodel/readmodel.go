// Package readmodel keeps the current record of every registered URL in
// memory, so that reads (GET /all, GET /status, WebSocket snapshots, Slack
// rendering) never ask the URL actors.
//
// Writers: the supervisor adds, updates and removes registrations; each URL
// actor stores its own status through its Entry, without taking any lock,
// and adds its state changes to the entry's history (under that history's
// own lock). Readers see each registration and each status as an immutable
// value; records carry the uptime computed from the history when read.
package readmodel

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
)

// Entry is the live view of one URL. Its registration and status are replaced
// atomically, never modified in place.
type Entry struct {
	reg    atomic.Pointer[health.Registration]
	status atomic.Pointer[health.Status]
	model  *Model
	hist   atomic.Pointer[history.Log] // nil until the first state change
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

// History returns the URL's state changes; nil (an empty history) before
// the first.
func (e *Entry) History() *history.Log { return e.hist.Load() }

// SetHistory replaces the history (at start-up, with the stored one).
func (e *Entry) SetHistory(l *history.Log) { e.hist.Store(l) }

// AddChange adds c to the URL's history, creating it, bounded to limit
// changes, at the first change. It returns the history.
func (e *Entry) AddChange(c history.Change, limit int) *history.Log {
	l := e.hist.Load()
	if l == nil {
		l = history.New(limit)
		if !e.hist.CompareAndSwap(nil, l) {
			l = e.hist.Load()
		}
	}
	l.Add(c)
	return l
}

// Record joins the current registration and status, with the uptime as of
// now.
func (e *Entry) Record() health.Record { return e.ref().RecordAt(time.Now()) }

func (e *Entry) ref() Ref {
	return Ref{Reg: e.reg.Load(), Status: e.status.Load(), Hist: e.hist.Load(), model: e.model}
}

// Ref is a registration, status and history captured together at one
// moment.
type Ref struct {
	Reg    *health.Registration
	Status *health.Status
	Hist   *history.Log
	model  *Model
}

// Record joins the captured registration and status, with the uptime as of
// now, and tells whether the URL is silenced now.
func (r Ref) Record() health.Record { return r.RecordAt(time.Now()) }

// RecordAt joins the captured registration and status, with the uptime as
// of the time now, and tells whether the URL is silenced now.
func (r Ref) RecordAt(now time.Time) health.Record {
	rec := health.NewRecord(r.Reg, r.Status)
	rec.Silenced = r.model.silenced(r.Reg)
	rec.Uptime = r.Hist.Uptime(r.Reg.CreatedAt, r.Status.State, now)
	return rec
}

// Silenced reports whether an active silence covers the URL now. It is
// asked when a record is built, not when the Ref is captured: capturing
// 100,000 Refs reads no registration.
func (r Ref) Silenced() bool { return r.model.silenced(r.Reg) }

// Silencer tells whether an active silence covers a URL with the given
// labels; silence.Book implements it. It must be cheap: GET /all asks it
// for every URL.
type Silencer interface {
	Silenced(url string, labels health.Labels) bool
}

// Model is the set of entries, safe for concurrent use.
type Model struct {
	mu       sync.RWMutex
	entries  map[string]*Entry
	silencer Silencer
}

// New returns an empty model.
func New() *Model { return &Model{entries: make(map[string]*Entry)} }

// SetSilencer makes records tell whether their URL is silenced. Call it
// before the model is used; without it no URL is silenced.
func (m *Model) SetSilencer(s Silencer) { m.silencer = s }

// silenced reports whether reg's URL is silenced now; false on a nil Model.
func (m *Model) silenced(reg *health.Registration) bool {
	return m != nil && m.silencer != nil && m.silencer.Silenced(reg.URL, reg.Labels)
}

// Put adds url with the given registration and status, or replaces the
// registration of an existing entry (keeping its status). It returns the entry.
func (m *Model) Put(r *health.Registration, s *health.Status) *Entry {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e, ok := m.entries[r.URL]; ok {
		e.SetRegistration(r)
		return e
	}
	e := &Entry{model: m}
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
		refs = append(refs, e.ref())
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
