package slack

import (
	"sort"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Incident is an open mass failure: the URLs in it, each with its latest
// event, and the moments that decide when it is over. Not safe for
// concurrent use.
type Incident struct {
	urls    map[string]Event
	total   int // URLs that ever joined, removed ones included
	removed int

	// Started is when the mass failure was detected.
	Started time.Time
	// LastChange is when a URL last joined or changed state in it.
	LastChange time.Time
	// ClearedAt is when the failing URLs stopped being a mass; zero while
	// they are one.
	ClearedAt time.Time
}

// NewIncident opens a mass failure at now for the URLs in failing. events
// are their changes (oldest first) that the notice shows; a URL without one
// (announced on its own line already) is recorded with its state only.
func NewIncident(now time.Time, failing map[string]health.State, events []Event) *Incident {
	inc := &Incident{urls: make(map[string]Event, len(failing)), total: len(failing), Started: now, LastChange: now}
	for _, ev := range events {
		inc.urls[ev.URL] = ev
	}
	for url, st := range failing {
		if _, ok := inc.urls[url]; !ok {
			inc.urls[url] = Event{URL: url, State: st}
		}
	}
	return inc
}

// Has reports whether url is part of the mass failure.
func (i *Incident) Has(url string) bool {
	_, ok := i.urls[url]
	return ok
}

// Absorb records ev, a change of a URL in the mass failure or of one joining
// it, at now.
func (i *Incident) Absorb(ev Event, now time.Time) {
	if !i.Has(ev.URL) {
		i.total++
	}
	i.urls[ev.URL] = ev
	i.LastChange = now
}

// Remove takes url out of the mass failure (it was removed); the recovery
// notice counts it as removed.
func (i *Incident) Remove(url string) {
	if i.Has(url) {
		delete(i.urls, url)
		i.removed++
	}
}

// Withdraw takes url out of the mass failure as if it had never been in it,
// and reports whether it was: a silence began for url. The recovery notice
// does not mention it.
func (i *Incident) Withdraw(url string) bool {
	if !i.Has(url) {
		return false
	}
	delete(i.urls, url)
	i.total--
	return true
}

// URLs returns the URLs in the mass failure, in no particular order.
func (i *Incident) URLs() []string {
	urls := make([]string, 0, len(i.urls))
	for url := range i.urls {
		urls = append(urls, url)
	}
	return urls
}

// Failing returns how many of its URLs are failing.
func (i *Incident) Failing() int {
	n := 0
	for _, ev := range i.urls {
		if ev.State.Failing() {
			n++
		}
	}
	return n
}

// Recovery describes the end of the mass failure at now, and returns the
// states that count as announced once its notice is delivered (none for a
// URL paused meanwhile). The caller
// fills in the present counts (MassRecovery.Now) when the notice is sent.
func (i *Incident) Recovery(now time.Time) (MassRecovery, map[string]health.State) {
	rec := MassRecovery{Total: i.total, Removed: i.removed, Lasted: now.Sub(i.Started),
		StillByState: make(map[health.State]int)}
	announce := make(map[string]health.State, len(i.urls))
	for url, ev := range i.urls {
		switch {
		case ev.State.Failing():
			announce[url] = ev.State
			rec.StillByState[ev.State]++
			rec.Still = append(rec.Still, ev)
		case ev.State == health.Healthy:
			announce[url] = ev.State
			rec.Recovered++
		}
		// A URL paused meanwhile neither recovered nor still fails; its last
		// announced state stays until it is resumed.
	}
	sort.Slice(rec.Still, func(a, b int) bool { return rec.Still[a].URL < rec.Still[b].URL })
	return rec, announce
}
