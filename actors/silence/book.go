package silence

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Store keeps silences across restarts, each under its id as an opaque
// value. SaveSilence and DeleteSilence return only once the change is on
// disk. persistence.Store implements it.
type Store interface {
	SaveSilence(id string, value []byte) error
	DeleteSilence(id string) error
	LoadSilences() ([][]byte, error)
}

// Change says which silences started and which ended. A Book sends one per
// Add, End or expiry, after the Book's Set already shows it.
type Change struct {
	Started []Silence
	Ended   []Silence
}

// ErrNotFound is returned by End for an id that is not active.
var ErrNotFound = errors.New("no active silence with that id")

// Book owns the active silences. Add and End write to the store before they
// change anything, so a silence acknowledged to a client survives a crash.
// Adopt, Forget and Replace take in changes another writer already stored
// (in a cluster, another member, seen through the shared store) and write
// nothing.
// A silence ends by itself at its EndsAt, on a timer (one for the soonest
// end, not a poll). Every change is reported to the function given to
// OnChange. Safe for concurrent use; Current never blocks.
type Book struct {
	store Store
	log   *slog.Logger

	set atomic.Pointer[Set]

	mu       sync.Mutex
	active   map[string]Silence
	timer    *time.Timer
	timerAt  time.Time
	onChange func(Change)
	closed   bool
}

// Open loads the silences of store. Those already over are dropped (and
// deleted from the store); the others are active at once and end on time.
// A stored value that cannot be read is logged and skipped.
func Open(store Store, log *slog.Logger) (*Book, error) {
	raws, err := store.LoadSilences()
	if err != nil {
		return nil, fmt.Errorf("load silences: %w", err)
	}
	b := &Book{store: store, log: log, active: make(map[string]Silence)}
	now := time.Now()
	for _, raw := range raws {
		var s Silence
		if err := json.Unmarshal(raw, &s); err != nil {
			log.Error("skipping a stored silence that cannot be read", "err", err)
			continue
		}
		if s.Ended(now) {
			if err := store.DeleteSilence(s.ID); err != nil {
				log.Warn("deleting an expired silence failed; it is dropped again at the next start", "id", s.ID, "err", err)
			}
			continue
		}
		b.active[s.ID] = s
	}
	b.mu.Lock()
	b.publish(now)
	b.mu.Unlock()
	return b, nil
}

// OnChange sets the function told of every later change, from the goroutine
// that made it (a request's, or the timer's); it must not block. Call it
// before the changes it should see.
func (b *Book) OnChange(f func(Change)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onChange = f
}

// Current returns the active silences now (nil when none).
func (b *Book) Current() *Set { return b.set.Load() }

// Silenced reports whether an active silence covers url with labels labels.
func (b *Book) Silenced(url string, labels health.Labels) bool {
	return b.set.Load().Matches(url, labels)
}

// Add makes s active once it is stored durably. s must be valid and end in
// the future.
func (b *Book) Add(s Silence) error {
	value, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode silence %s: %w", s.ID, err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("silences are closed")
	}
	if err := b.store.SaveSilence(s.ID, value); err != nil {
		return fmt.Errorf("save silence %s: %w", s.ID, err)
	}
	b.active[s.ID] = s
	b.publish(time.Now())
	b.log.Info("silence started", "id", s.ID, "url", s.URL, "labels", s.Labels, "reason", s.Reason, "ends_at", s.EndsAt)
	b.tell(Change{Started: []Silence{s}})
	return nil
}

// End ends the active silence id once its deletion is stored durably, and
// returns it; ErrNotFound when no active silence has that id.
func (b *Book) End(id string) (Silence, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.active[id]
	if !ok {
		return Silence{}, ErrNotFound
	}
	if err := b.store.DeleteSilence(id); err != nil {
		return Silence{}, fmt.Errorf("delete silence %s: %w", id, err)
	}
	delete(b.active, id)
	b.publish(time.Now())
	b.log.Info("silence ended", "id", id, "by", "request")
	b.tell(Change{Ended: []Silence{s}})
	return s, nil
}

// Adopt makes the silence stored as raw active without writing it to the
// store: one another writer already stored (another member of a cluster).
// It replaces an active silence of the same id; when raw is the active
// silence itself, nothing changes. A silence already over is not started,
// and ends the active silence of its id, if any. A change is told like
// Add's (a replacement as the old one ended and the new one started). It
// fails only when raw cannot be decoded; after Close it does nothing.
func (b *Book) Adopt(raw []byte) error {
	var s Silence
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("decode silence: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	now := time.Now()
	if s.Ended(now) {
		b.forget(s.ID, now)
		return nil
	}
	var c Change
	if old, ok := b.active[s.ID]; ok {
		if same(&old, &s) {
			return nil
		}
		c.Ended = []Silence{old}
	}
	c.Started = []Silence{s}
	b.active[s.ID] = s
	b.publish(now)
	b.log.Debug("silence adopted", "id", s.ID, "url", s.URL, "labels", s.Labels, "ends_at", s.EndsAt)
	b.tell(c)
	return nil
}

// Forget ends the active silence id without deleting it from the store:
// another writer already did. An id that is not active is ignored.
func (b *Book) Forget(id string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.forget(id, time.Now())
}

// forget ends the active silence id locally and tells it. Called with mu
// held.
func (b *Book) forget(id string, now time.Time) {
	s, ok := b.active[id]
	if !ok {
		return
	}
	delete(b.active, id)
	b.publish(now)
	b.log.Debug("silence forgotten", "id", id)
	b.tell(Change{Ended: []Silence{s}})
}

// Replace makes exactly the silences stored as raws active, without
// writing to the store (after reloading everything another writer stored).
// Values that cannot be decoded are logged and skipped, silences already
// over are left out. One Change tells every silence started, replaced or
// ended (none when nothing changed). After Close it does nothing.
func (b *Book) Replace(raws [][]byte) {
	now := time.Now()
	next := make(map[string]Silence, len(raws))
	for _, raw := range raws {
		var s Silence
		if err := json.Unmarshal(raw, &s); err != nil {
			b.log.Error("skipping a stored silence that cannot be read", "err", err)
			continue
		}
		if !s.Ended(now) {
			next[s.ID] = s
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	var c Change
	for id, old := range b.active {
		if s, ok := next[id]; !ok || !same(&old, &s) {
			c.Ended = append(c.Ended, old)
		}
	}
	for id, s := range next {
		if old, ok := b.active[id]; !ok || !same(&old, &s) {
			c.Started = append(c.Started, s)
		}
	}
	if len(c.Started) == 0 && len(c.Ended) == 0 {
		return
	}
	sortByEnd(c.Started)
	sortByEnd(c.Ended)
	b.active = next
	b.publish(now)
	b.log.Debug("silences replaced", "active", len(next), "started", len(c.Started), "ended", len(c.Ended))
	b.tell(c)
}

// same reports whether a and b are the same silence, field for field.
func same(a, b *Silence) bool {
	return a.ID == b.ID && a.URL == b.URL && a.Labels == b.Labels && a.Reason == b.Reason &&
		a.StartsAt.Equal(b.StartsAt) && a.EndsAt.Equal(b.EndsAt)
}

// Close stops the timer; nothing ends or changes afterwards.
func (b *Book) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.timer != nil {
		b.timer.Stop()
	}
}

// expire ends every silence whose time has come; the timer calls it.
func (b *Book) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	now := time.Now()
	b.timerAt = time.Time{}
	var ended []Silence
	for id, s := range b.active {
		if !s.Ended(now) {
			continue
		}
		ended = append(ended, s)
		delete(b.active, id)
		// Not durable on purpose: a silence still stored after its end is
		// dropped when loaded.
		if err := b.store.DeleteSilence(id); err != nil {
			b.log.Warn("deleting an ended silence failed; it is dropped at the next start", "id", id, "err", err)
		}
	}
	b.publish(now)
	if len(ended) == 0 {
		return
	}
	sortByEnd(ended)
	for _, s := range ended {
		b.log.Info("silence ended", "id", s.ID, "by", "time")
	}
	b.tell(Change{Ended: ended})
}

// publish installs the Set of the active silences and arms the timer for
// the soonest end. Called with mu held.
func (b *Book) publish(now time.Time) {
	list := make([]Silence, 0, len(b.active))
	for _, s := range b.active {
		list = append(list, s)
	}
	set := NewSet(list)
	b.set.Store(set)
	if set == nil || b.closed {
		return
	}
	next := set.list[0].EndsAt
	if b.timer != nil && next.Equal(b.timerAt) {
		return
	}
	if b.timer != nil {
		b.timer.Stop()
	}
	b.timerAt = next
	b.timer = time.AfterFunc(max(next.Sub(now), 0), b.expire)
}

// tell reports c. Called with mu held, so changes are told in order.
func (b *Book) tell(c Change) {
	if b.onChange != nil {
		b.onChange(c)
	}
}
