package actors

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Event is one change streamed to subscribers (WebSocket clients, the Slack
// batcher). AppendJSON appends its wire form: a JSON object whose "type"
// names it, followed by "seq", the event's place in this process's stream
// (the broadcaster numbers events as it publishes them). A record inside an
// event is encoded exactly as GET /all and GET /status encode it
// (health.Record.AppendJSON): the same bytes on every path, with no HTML
// escaping of custom data.
type Event interface {
	EventType() string
	AppendJSON(b []byte, seq uint64) []byte
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
	// Labels are the URL's labels when the event was published, for the
	// stream's label filter. Not streamed.
	Labels health.Labels
}

// EventType names the event.
func (StatusChanged) EventType() string { return TypeStatus }

// AppendJSON appends {"type":"status","seq":…,"url":…,"state":…,
// "previous":…,"code":…,"error":…,"error_kind":…,"latency_ms":…,"at":…}.
func (e StatusChanged) AppendJSON(b []byte, seq uint64) []byte {
	b = appendHead(b, TypeStatus, seq)
	b = append(b, `,"url":`...)
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
	// Previous are the URL's labels before this change (nil for a new URL),
	// for the stream's label filter. Not streamed.
	Previous health.Labels
}

// EventType names the event.
func (Registered) EventType() string { return TypeRegistered }

// AppendJSON appends {"type":"registered","seq":…,"record":{…}}.
func (e Registered) AppendJSON(b []byte, seq uint64) []byte {
	return appendRecordEvent(b, TypeRegistered, seq, &e.Record)
}

// Removed says a URL is no longer watched.
type Removed struct {
	URL    string
	Reason string
	// Data is the custom data the URL had. Not streamed.
	Data json.RawMessage
	// Labels are the labels the URL had, for the stream's label filter. Not
	// streamed.
	Labels health.Labels
}

// EventType names the event.
func (Removed) EventType() string { return TypeRemoved }

// AppendJSON appends {"type":"removed","seq":…,"url":…,"reason":…}.
func (e Removed) AppendJSON(b []byte, seq uint64) []byte {
	b = appendHead(b, TypeRemoved, seq)
	b = append(b, `,"url":`...)
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

// AppendJSON appends {"type":"snapshot","seq":…,"record":{…}}; seq is the
// one the snapshot is consistent with.
func (e Snapshot) AppendJSON(b []byte, seq uint64) []byte {
	return appendRecordEvent(b, TypeSnapshot, seq, &e.Record)
}

// appendHead appends {"type":typ,"seq":seq without the closing brace.
func appendHead(b []byte, typ string, seq uint64) []byte {
	b = append(b, `{"type":"`...)
	b = append(b, typ...)
	b = append(b, `","seq":`...)
	return strconv.AppendUint(b, seq, 10)
}

// appendRecordEvent appends {"type":typ,"seq":seq,"record":{…}}.
func appendRecordEvent(b []byte, typ string, seq uint64, rec *health.Record) []byte {
	b = appendHead(b, typ, seq)
	b = append(b, `,"record":`...)
	b = rec.AppendJSON(b)
	return append(b, '}')
}

// Synced ends a snapshot, or the replay of missed events to a client that
// resumed. Its seq is the last event the client has now seen (or that the
// snapshot already shows): the one to resume from.
type Synced struct{}

// EventType names the event.
func (Synced) EventType() string { return TypeSynced }

// AppendJSON appends {"type":"synced","seq":…}.
func (Synced) AppendJSON(b []byte, seq uint64) []byte {
	return append(appendHead(b, TypeSynced, seq), '}')
}

// RemovalReasonDeleted is the reason of a removal through the API.
const RemovalReasonDeleted = "deleted"

// RemovalReasonUnmatched tells a stream client with a label filter that a
// URL's labels changed so that it no longer matches; the URL is still
// registered.
const RemovalReasonUnmatched = "unmatched"
