package health

// State is the health verdict of one URL.
type State string

// The states a URL can be in. Pending is the only state without a verdict.
const (
	Pending     State = "pending"
	Healthy     State = "healthy"
	Unhealthy   State = "unhealthy"
	Unreachable State = "unreachable"
	// Paused is a URL a client paused: it is not probed until resumed, and
	// is neither healthy nor failing.
	Paused State = "paused"
)

// Valid reports whether s is one of the known states.
func (s State) Valid() bool {
	switch s {
	case Pending, Healthy, Unhealthy, Unreachable, Paused:
		return true
	}
	return false
}

// Failing reports whether s is a failing verdict (unhealthy or unreachable).
func (s State) Failing() bool { return s == Unhealthy || s == Unreachable }

// AllStates lists every state in display order.
var AllStates = []State{Pending, Healthy, Unhealthy, Unreachable, Paused}
