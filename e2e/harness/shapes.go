package harness

import (
	"encoding/json"
	"fmt"
	"time"
)

// ProbeSettings is a record's "probe" object as the API shows it.
type ProbeSettings struct {
	Interval         string `json:"interval"`
	Timeout          string `json:"timeout"`
	FailureThreshold int    `json:"failure_threshold"`
	SuccessThreshold int    `json:"success_threshold"`
	Expect           string `json:"expect"`
}

// Status is a record's "status" object as the API shows it.
type Status struct {
	State     string     `json:"state"`
	Code      int        `json:"code"`
	Error     string     `json:"error"`
	ErrorKind string     `json:"error_kind"`
	LatencyMS float64    `json:"latency_ms"`
	CheckedAt *time.Time `json:"checked_at"`
	Since     time.Time  `json:"since"`
}

// Record is one registration with its status, as GET /status, GET /all and
// the WebSocket's snapshot and registered events carry it.
type Record struct {
	URL       string            `json:"url"`
	Data      json.RawMessage   `json:"data"`
	Probe     ProbeSettings     `json:"probe"`
	Labels    map[string]string `json:"labels"`
	ExpiresAt *time.Time        `json:"expires_at"`
	Silenced  bool              `json:"silenced"`
	Uptime    *Uptime           `json:"uptime"`
	Status    Status            `json:"status"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// Uptime is a record's "uptime" (nil while the URL is pending): the share
// of time healthy over each window, nil for a window without a verdict.
type Uptime struct {
	Day  *float64 `json:"24h"`
	Week *float64 `json:"7d"`
}

// Change is one entry of GET /history.
type Change struct {
	State     string    `json:"state"`
	Previous  string    `json:"previous"`
	Code      int       `json:"code"`
	ErrorKind string    `json:"error_kind"`
	At        time.Time `json:"at"`
}

// Event is any WebSocket event; which fields are set depends on Type.
type Event struct {
	Type      string    `json:"type"`
	Record    *Record   `json:"record"`
	URL       string    `json:"url"`
	State     string    `json:"state"`
	Previous  string    `json:"previous"`
	Code      int       `json:"code"`
	Error     string    `json:"error"`
	ErrorKind string    `json:"error_kind"`
	LatencyMS float64   `json:"latency_ms"`
	At        time.Time `json:"at"`
	Reason    string    `json:"reason"`
	Seq       uint64    `json:"seq"`
}

// String shows the event's type and the fields that matter for it.
func (e Event) String() string {
	switch e.Type {
	case "snapshot", "registered":
		if e.Record != nil {
			return fmt.Sprintf("%s(%s %s data=%s)", e.Type, e.Record.URL, e.Record.Status.State, e.Record.Data)
		}
	case "status":
		return fmt.Sprintf("status(%s %s←%s code=%d kind=%q err=%q)", e.URL, e.State, e.Previous, e.Code, e.ErrorKind, e.Error)
	case "removed":
		return fmt.Sprintf("removed(%s reason=%q)", e.URL, e.Reason)
	}
	return e.Type
}

// JSONEqual reports whether two JSON texts hold the same value (key order
// and spacing aside); invalid JSON is equal to nothing.
func JSONEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return string(xb) == string(yb)
}
