package actors

import (
	"encoding/json"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Event is one change streamed to subscribers (WebSocket clients, the Slack
// batcher). Every event marshals to a JSON object whose "type" names it.
type Event interface {
	EventType() string
}

// Event type names, as they appear in the "type" field.
const (
	TypeSnapshot   = "snapshot"
	TypeSynced     = "synced"
	TypeRegistered = "registered"
	TypeStatus     = "status"
	TypeRemoved    = "removed"
)

// StatusChanged says a URL's state changed. It is sent only on changes, not on
// every probe.
type StatusChanged struct {
	URL       string           `json:"url"`
	State     health.State     `json:"state"`
	Previous  health.State     `json:"previous"`
	Code      int              `json:"code"`
	Error     string           `json:"error"`
	ErrorKind health.ErrorKind `json:"error_kind"`
	LatencyMS float64          `json:"latency_ms"`
	At        time.Time        `json:"at"`
	// PreviousSince is when the previous state began (zero when unknown); it
	// lets alerts say how long the previous state lasted. Not streamed.
	PreviousSince time.Time `json:"-"`
}

// EventType names the event.
func (StatusChanged) EventType() string { return TypeStatus }

// MarshalJSON adds the type field.
func (e StatusChanged) MarshalJSON() ([]byte, error) {
	type plain StatusChanged
	return json.Marshal(struct {
		Type string `json:"type"`
		plain
	}{TypeStatus, plain(e)})
}

// Registered says a URL was added, or its data or settings changed.
type Registered struct {
	Record health.Record `json:"record"`
	// New is true when the URL was not registered before. Not streamed.
	New bool `json:"-"`
}

// EventType names the event.
func (Registered) EventType() string { return TypeRegistered }

// MarshalJSON adds the type field.
func (e Registered) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type   string        `json:"type"`
		Record health.Record `json:"record"`
	}{TypeRegistered, e.Record})
}

// Removed says a URL is no longer watched.
type Removed struct {
	URL    string `json:"url"`
	Reason string `json:"reason"`
	// Data is the custom data the URL had. Not streamed.
	Data json.RawMessage `json:"-"`
}

// EventType names the event.
func (Removed) EventType() string { return TypeRemoved }

// MarshalJSON adds the type field.
func (e Removed) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Type   string `json:"type"`
		URL    string `json:"url"`
		Reason string `json:"reason"`
	}{TypeRemoved, e.URL, e.Reason})
}

// Snapshot carries one full record to a client that just connected.
type Snapshot struct {
	Record health.Record `json:"record"`
}

// EventType names the event.
func (Snapshot) EventType() string { return TypeSnapshot }

// MarshalJSON adds the type field.
func (e Snapshot) MarshalJSON() ([]byte, error) { return e.AppendJSON(nil), nil }

// AppendJSON appends the event's JSON to b, without reflection: snapshots
// carry every record.
func (e *Snapshot) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"snapshot","record":`...)
	b = e.Record.AppendJSON(b)
	return append(b, '}')
}

// Synced follows the last snapshot event.
type Synced struct{}

// EventType names the event.
func (Synced) EventType() string { return TypeSynced }

// syncedJSON is the encoding of Synced.
const syncedJSON = `{"type":"synced"}`

// MarshalJSON writes {"type":"synced"}.
func (Synced) MarshalJSON() ([]byte, error) { return []byte(syncedJSON), nil }

// RemovalReasonDeleted is the reason of a removal through the API.
const RemovalReasonDeleted = "deleted"
