package slack

import (
	"log/slog"

	"github.com/spo2/spo2/actors/health"
)

// AnnouncementStore keeps the last state announced on Slack per URL across
// restarts. persistence.Store implements it.
type AnnouncementStore interface {
	LoadAnnounced() (map[string]health.State, error)
	SaveAnnounced(map[string]health.State) error
}

// Announced is the last state announced per URL, held twice. In memory a
// state counts as announced as soon as its change is queued, so each change
// is queued once. In the store it counts only once Slack accepted the
// message carrying it (Save), so a change that never reached Slack is still
// unannounced at the next start, which then announces the URL's state. A URL
// never announced counts as announced healthy.
//
// Last, Set, Forget and Len are for one goroutine (the batcher); Save may be
// called from any goroutine.
type Announced struct {
	store     AnnouncementStore
	log       *slog.Logger
	last      map[string]health.State
	delivered map[string]health.State // what Slack accepted (loaded, then Delivered)
}

// LoadAnnounced reads the states saved in store. When they cannot be read
// the failure is logged and every URL counts as announced healthy, so failing
// URLs are announced again rather than not at all.
func LoadAnnounced(store AnnouncementStore, log *slog.Logger) *Announced {
	a := &Announced{store: store, log: log, last: make(map[string]health.State),
		delivered: make(map[string]health.State)}
	loaded, err := store.LoadAnnounced()
	if err != nil {
		log.Error("loading announced states failed; every failing URL will be announced again", "err", err)
		return a
	}
	a.last = loaded
	for url, st := range loaded {
		a.delivered[url] = st
	}
	return a
}

// Last returns the last state queued or announced for url; healthy when none.
func (a *Announced) Last(url string) health.State {
	if st, ok := a.last[url]; ok {
		return st
	}
	return health.Healthy
}

// Set records that a change of url to st is queued.
func (a *Announced) Set(url string, st health.State) { a.last[url] = st }

// Forget drops url (it was removed); the store drops it with the
// registration.
func (a *Announced) Forget(url string) {
	delete(a.last, url)
	delete(a.delivered, url)
}

// Delivered records, in memory, states that Slack accepted; call it on the
// batcher's goroutine (Save persists them).
func (a *Announced) Delivered(states map[string]health.State) {
	for url, st := range states {
		a.delivered[url] = st
	}
}

// Revert takes back url's queued change: its last state becomes the last
// one Slack accepted (healthy when none). The batcher calls it when a change
// is withdrawn before it was sent.
func (a *Announced) Revert(url string) {
	if st, ok := a.delivered[url]; ok {
		a.last[url] = st
		return
	}
	delete(a.last, url)
}

// Len returns the number of URLs with a recorded state.
func (a *Announced) Len() int { return len(a.last) }

// Save durably records states that Slack accepted. A failure is logged: the
// URLs may then be announced again after a restart.
func (a *Announced) Save(states map[string]health.State) {
	if len(states) == 0 {
		return
	}
	if err := a.store.SaveAnnounced(states); err != nil {
		a.log.Error("persisting announced states failed; they may be announced again after a restart",
			"urls", len(states), "err", err)
	}
}
