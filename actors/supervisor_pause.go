package actors

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/target"
)

// A paused URL's state is paused: the supervisor sets it when the pause is
// durable (the checker stops its timer and drops a probe in flight), and the
// first verdict after a resume replaces it.

// initialStatus is the status of a URL new to the read model.
func initialStatus(reg *health.Registration, now time.Time) *health.Status {
	if reg.Paused {
		return pausedStatus(nil, now)
	}
	return &health.Status{State: health.Pending, Since: now}
}

// loadedStatus is the status a URL read at start-up begins with: its saved
// one, unless that disagrees with whether it is paused (statuses are saved
// lazily; the registration is durable).
func loadedStatus(reg *health.Registration, saved *health.Status, now time.Time) *health.Status {
	switch {
	case reg.Paused && (saved == nil || saved.State != health.Paused):
		return pausedStatus(saved, now)
	case saved == nil || (!reg.Paused && saved.State == health.Paused):
		return &health.Status{State: health.Pending, Since: now}
	}
	return saved
}

// pausedStatus is the status of a URL paused at now; it keeps the time of
// the last probe, from.
func pausedStatus(from *health.Status, now time.Time) *health.Status {
	st := &health.Status{State: health.Paused, Since: now}
	if from != nil {
		st.CheckedAt = from.CheckedAt
	}
	return st
}

// pauseOrResume brings entry's state in line with its registration, just
// made durable: a URL just paused gets the paused state, and pausedFrom is
// the status it had; a paused URL just resumed keeps the paused state until
// its first verdict, and resumed is true.
func (s *Supervisor) pauseOrResume(entry *readmodel.Entry, now time.Time) (pausedFrom *health.Status, resumed bool) {
	reg := entry.Registration()
	for {
		cur := entry.Status()
		switch {
		case reg.Paused && cur.State != health.Paused:
			if paused := pausedStatus(cur, now); entry.CompareAndSwapStatus(cur, paused) {
				s.addPauseToHistory(entry, cur, paused)
				return cur, false
			}
			// the checker stored a verdict meanwhile: pause that one
		case !reg.Paused && cur.State == health.Paused:
			return nil, true
		default:
			return nil, false
		}
	}
}

// addPauseToHistory adds the change of entry's URL from the status from to
// the paused status to to its history, before any record shows the pause, so
// that the record's uptime already counts it.
func (s *Supervisor) addPauseToHistory(entry *readmodel.Entry, from, to *health.Status) {
	deps := s.cfg.Checkers
	h := entry.AddChange(history.NewChange(to.Since, health.Paused, from.State, 0, ""), deps.HistoryLimit)
	if deps.Histories != nil {
		deps.Histories.SaveHistory(entry.Registration().URL, h)
	}
}

// announcePause saves and publishes the change of entry's URL from the
// status from to the paused status to.
func (s *Supervisor) announcePause(ctx actor.Context, entry *readmodel.Entry, from, to *health.Status) {
	reg := entry.Registration()
	s.cfg.Metrics.StateChanges.WithLabelValues(string(health.Paused)).Inc()
	if st := s.cfg.Checkers.Statuses; st != nil {
		st.SaveStatus(reg.URL, *to)
	}
	s.cfg.Log.Info("state changed", "url", target.Mask(reg.URL), "state", health.Paused, "previous", from.State)
	ctx.Send(s.cfg.Broadcaster, StatusChanged{URL: reg.URL, State: health.Paused, Previous: from.State, At: to.Since,
		PreviousSince: from.Since, Labels: reg.Labels})
}

// pausedSince reports whether the URL of a checker's state change has been
// paused since the change: the change is stale, and not published.
func (s *Supervisor) pausedSince(msg checkerStatus) bool {
	return msg.entry.Status().State == health.Paused
}
