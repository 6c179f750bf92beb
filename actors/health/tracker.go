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

// Tracker is the state machine of one URL. It starts in the state it is given
// (pending for a new URL, the persisted state after a restart). The first
// outcome it sees sets the state at once (a first verdict, or a fresh verdict
// after a restart); after that a healthy URL needs FailureThreshold consecutive
// failures to turn failing, and a failing URL SuccessThreshold consecutive
// successes to turn healthy. A failing URL whose failure changes kind
// (unhealthy ↔ unreachable) changes state at once: it is already known to fail.
//
// A Tracker is not safe for concurrent use; its owner (one URL actor) is.
type Tracker struct {
	status    Status
	fresh     bool // no outcome observed yet in this incarnation
	failures  int
	successes int
}

// NewTracker starts a tracker from a known status.
func NewTracker(start Status) Tracker {
	return Tracker{status: start, fresh: true}
}

// Status returns the current status.
func (t *Tracker) Status() Status { return t.status }

// Observe applies one outcome under the given thresholds. It always records the
// outcome's details (code, error, latency, check time) and returns the previous
// state and whether the state changed.
func (t *Tracker) Observe(o Outcome, failureThreshold, successThreshold int) (previous State, changed bool) {
	previous = t.status.State
	verdict := o.Verdict()
	if verdict == Healthy {
		t.successes++
		t.failures = 0
	} else {
		t.failures++
		t.successes = 0
	}
	next := previous
	switch {
	case t.fresh || previous == Pending:
		next = verdict
	case previous == Healthy && verdict != Healthy && t.failures >= failureThreshold:
		next = verdict
	case previous.Failing() && verdict == Healthy && t.successes >= successThreshold:
		next = Healthy
	case previous.Failing() && verdict.Failing():
		next = verdict
	}
	t.fresh = false

	at := o.At
	t.status.Code = o.Code
	t.status.Error = o.Err
	t.status.ErrorKind = o.Kind
	t.status.LatencyMS = float64(o.Latency.Microseconds()) / 1000
	t.status.CheckedAt = &at
	if next != previous {
		t.status.State = next
		t.status.Since = at
		return previous, true
	}
	return previous, false
}
