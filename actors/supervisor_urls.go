package actors

import (
	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
)

// urlSlot is what the supervisor holds for one URL: its latest registration
// (nil while its removal is being written) and its checker (nil before it is
// spawned and after it is stopped).
type urlSlot struct {
	reg     *health.Registration
	checker *actor.PID
}

// latest returns the latest registration of url, pending writes included,
// or nil.
func (s *Supervisor) latest(url string) *health.Registration {
	return s.urls[url].reg
}

// setLatest makes reg the latest registration of url; nil forgets it.
func (s *Supervisor) setLatest(url string, reg *health.Registration) {
	slot := s.urls[url]
	slot.reg = reg
	s.putSlot(url, slot)
}

// registered counts the URLs with a registration, pending writes included.
// It walks every URL: for start-up and Ready, not for a hot path.
func (s *Supervisor) registered() int {
	n := 0
	for _, slot := range s.urls {
		if slot.reg != nil {
			n++
		}
	}
	return n
}

// putSlot stores slot as url's, or forgets url when slot holds nothing.
func (s *Supervisor) putSlot(url string, slot urlSlot) {
	if slot == (urlSlot{}) {
		delete(s.urls, url)
		return
	}
	s.urls[url] = slot
}

// entryOf returns the read-model entry of the failed checker child: from
// the message it failed on when that names it (an attach, a probe result:
// the usual case, found at once), otherwise by looking for child among the
// checkers. Nil if child is no longer a checker of a registered URL.
func (s *Supervisor) entryOf(child *actor.PID, message any) *readmodel.Entry {
	var named *readmodel.Entry
	switch m := message.(type) {
	case attach:
		named = m.entry
	case *probeRun:
		named = m.c.entry
	}
	if named != nil {
		if pid := s.urls[named.Registration().URL].checker; pid != nil && pid.Equal(child) {
			return named
		}
		return nil // stopped since: no longer its URL's checker
	}
	for u, slot := range s.urls {
		if slot.checker != nil && slot.checker.Equal(child) {
			return s.cfg.Model.Get(u)
		}
	}
	return nil
}
