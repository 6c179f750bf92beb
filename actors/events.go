package actors

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Event is one change streamed to subscribers (WebSocket clients, the Slack
// batcher). AppendJSON appends its wire form: a JSON object whose "type"
// names it. A record inside an event is encoded exactly as GET /all and
// GET /status encode it (health.Record.AppendJSON): the same bytes on every
// path, with no HTML escaping of custom data.
type Event interface {
	EventType() string
	AppendJSON(b []byte) []byte
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
	URL       string
	State     health.State
	Previous  health.State
	Code      int
	Error     string
	ErrorKind health.ErrorKind
	LatencyMS float64
	At        time.Time
	// PreviousSince is when the previous state began (zero when unknown); it
	// lets alerts say how long the previous state lasted. Not streamed.
	PreviousSince time.Time
}

// EventType names the event.
func (StatusChanged) EventType() string { return TypeStatus }

// AppendJSON appends {"type":"status","url":…,"state":…,"previous":…,
// "code":…,"error":…,"error_kind":…,"latency_ms":…,"at":…}.
func (e StatusChanged) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"status","url":`...)
	b = health.AppendJSONString(b, e.URL)
	b = append(b, `,"state":`...)
	b = health.AppendJSONString(b, string(e.State))
	b = append(b, `,"previous":`...)
	b = health.AppendJSONString(b, string(e.Previous))
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(e.Code), 10)
	b = append(b, `,"error":`...)
	b = health.AppendJSONString(b, e.Error)
	b = append(b, `,"error_kind":`...)
	b = health.AppendJSONString(b, string(e.ErrorKind))
	b = append(b, `,"latency_ms":`...)
	b = health.AppendJSONFloat(b, e.LatencyMS)
	b = append(b, `,"at":`...)
	b = health.AppendJSONTime(b, e.At)
	return append(b, '}')
}

// Registered says a URL was added, or its data or settings changed.
type Registered struct {
	Record health.Record
	// New is true when the URL was not registered before. Not streamed.
	New bool
}

// EventType names the event.
func (Registered) EventType() string { return TypeRegistered }

// AppendJSON appends {"type":"registered","record":{…}}.
func (e Registered) AppendJSON(b []byte) []byte {
	return appendRecordEvent(b, TypeRegistered, &e.Record)
}

// Removed says a URL is no longer watched.
type Removed struct {
	URL    string
	Reason string
	// Data is the custom data the URL had. Not streamed.
	Data json.RawMessage
}

// EventType names the event.
func (Removed) EventType() string { return TypeRemoved }

// AppendJSON appends {"type":"removed","url":…,"reason":…}.
func (e Removed) AppendJSON(b []byte) []byte {
	b = append(b, `{"type":"removed","url":`...)
	b = health.AppendJSONString(b, e.URL)
	b = append(b, `,"reason":`...)
	b = health.AppendJSONString(b, e.Reason)
	return append(b, '}')
}

// Snapshot carries one full record to a client that just connected.
type Snapshot struct {
	Record health.Record
}

// EventType names the event.
func (Snapshot) EventType() string { return TypeSnapshot }

// AppendJSON appends {"type":"snapshot","record":{…}}.
func (e Snapshot) AppendJSON(b []byte) []byte { return appendRecordEvent(b, TypeSnapshot, &e.Record) }

// appendRecordEvent appends {"type":typ,"record":{…}}.
func appendRecordEvent(b []byte, typ string, rec *health.Record) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","record":`...)
	b = rec.AppendJSON(b)
	return append(b, '}')
}

// Synced follows the last snapshot event.
type Synced struct{}

// EventType names the event.
func (Synced) EventType() string { return TypeSynced }

// AppendJSON appends {"type":"synced"}.
func (Synced) AppendJSON(b []byte) []byte { return append(b, `{"type":"synced"}`...) }

// RemovalReasonDeleted is the reason of a removal through the API.
const RemovalReasonDeleted = "deleted"
