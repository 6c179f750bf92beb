package health

import "time"

// Outcome is the result of one probe.
type Outcome struct {
	Code      int       // HTTP status, 0 when there was no answer
	Err       string    // readable error, empty when there was an answer
	Kind      ErrorKind // why there was no answer
	Latency   time.Duration
	At        time.Time // when the probe finished
	Answered  bool      // an HTTP response arrived
	ExpectHit bool      // Answered and Code is in the expected set
	// Inconclusive says the outcome tells nothing about the target (SpO₂
	// was overloaded when it timed out): the state machine ignores it.
	Inconclusive bool
}

// Verdict is the state that one outcome points to on its own.
func (o Outcome) Verdict() State {
	switch {
	case !o.Answered:
		return Unreachable
	case o.ExpectHit:
		return Healthy
	default:
		return Unhealthy
	}
}

// Tracker is the state machine of one URL, without the status itself (its
// owner keeps that): only the streaks. The first outcome it sees sets the
// state at once (a first verdict, or a fresh verdict after a restart), and
// so does any outcome while the state is pending or paused; after
// that a healthy URL needs FailureThreshold consecutive failures to turn
// failing, and a failing URL SuccessThreshold consecutive successes to turn
// healthy. A failing URL whose failure changes kind (unhealthy ↔ unreachable)
// changes state at once: it is already known to fail.
//
// The zero Tracker is fresh. A Tracker is not safe for concurrent use; its
// owner (one URL actor) is.
type Tracker struct {
	seen      bool  // an outcome was observed in this incarnation
	failures  uint8 // thresholds are at most 100
	successes uint8
}

// Observe applies one outcome to the current status under the given
// thresholds. The next status always records the outcome's details (code,
// error, latency, check time); changed reports whether the state changed.
// An Inconclusive outcome changes nothing: cur comes back as it is.
func (t *Tracker) Observe(cur Status, o Outcome, failureThreshold, successThreshold int) (next Status, changed bool) {
	n, changed := t.Next(&cur, o, failureThreshold, successThreshold)
	return *n, changed
}

// Next is Observe for a status kept behind a pointer: it returns a new
// status and never modifies cur, so readers holding cur keep a consistent
// value. The new status and its CheckedAt are one allocation; an
// Inconclusive outcome returns cur itself and allocates nothing.
func (t *Tracker) Next(cur *Status, o Outcome, failureThreshold, successThreshold int) (next *Status, changed bool) {
	if o.Inconclusive {
		return cur, false
	}
	verdict := o.Verdict()
	if verdict == Healthy {
		t.successes = min(t.successes+1, MaxThreshold)
		t.failures = 0
	} else {
		t.failures = min(t.failures+1, MaxThreshold)
		t.successes = 0
	}
	previous := cur.State
	state := previous
	switch {
	case !t.seen || previous == Pending || previous == Paused:
		state = verdict
	case previous == Healthy && verdict != Healthy && int(t.failures) >= failureThreshold:
		state = verdict
	case previous.Failing() && verdict == Healthy && int(t.successes) >= successThreshold:
		state = Healthy
	case previous.Failing() && verdict.Failing():
		state = verdict
	}
	t.seen = true

	n := &checkedStatus{Status: *cur, at: o.At}
	n.Code = o.Code
	n.Error = o.Err
	n.ErrorKind = o.Kind
	n.LatencyMS = float64(o.Latency.Microseconds()) / 1000
	n.CheckedAt = &n.at
	if state != previous {
		n.State = state
		n.Since = o.At
		return &n.Status, true
	}
	return &n.Status, false
}

// checkedStatus is a status and the time its CheckedAt points to, allocated
// together.
type checkedStatus struct {
	Status
	at time.Time
}
