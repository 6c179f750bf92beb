package actors

import (
	"slices"
	"strconv"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// TypeRecords names the event that carries a batch of snapshot records in
// the compact encoding (see CompactEncoder).
const TypeRecords = "records"

// Positions of a record's fields in its compact form, an array. The order is
// part of the wire format (docs/api.md): fields are only ever added at the
// end.
const (
	CompactURL = iota
	CompactData
	CompactProbe
	CompactLabels
	CompactExpiresAt
	CompactSilenced
	CompactUptime
	CompactState
	CompactCode
	CompactError
	CompactErrorKind
	CompactLatencyMS
	CompactCheckedAt
	CompactSince
	CompactCreatedAt
	CompactUpdatedAt
	CompactFields // how many fields a compact record has
)

// CompactEncoder encodes a snapshot's records as "records" events: each
// record an array of its fields in the fixed order above, with the values
// many URLs share (probe settings, label sets, states, error messages and
// kinds) sent once in a table and referred to by their index, and times as
// Unix milliseconds (null for none). Custom data is sent as is. One encoder
// serves one snapshot, frame after frame in order: a frame's table holds
// only the entries it adds, and indexes count from the first frame's first
// entry. A client decodes the frames in order with one table.
//
// Times lose what is below the millisecond; everything else a record holds
// is kept. It is not safe for concurrent use.
type CompactEncoder struct {
	byBytes    map[string]int          // table entries by kind and JSON
	bySettings map[health.Settings]int // probe settings already in the table
	entries    int                     // entries in the table so far
	table      []byte                  // this frame's new entries, comma-separated
	rows       []byte                  // this frame's records, comma-separated
	scratch    []byte                  // a candidate table entry, kind byte first
	keys       []string                // a label set's keys, sorted
}

// Table entry kinds: the same JSON used in two roles is two entries, so
// that a decoder may derive what each role needs from its own entries.
const (
	kindString byte = 's'
	kindLabels byte = 'l'
	kindProbe  byte = 'p'
)

// NewCompactEncoder returns an encoder for one snapshot.
func NewCompactEncoder() *CompactEncoder {
	return &CompactEncoder{byBytes: make(map[string]int), bySettings: make(map[health.Settings]int)}
}

// AppendFrame appends to b one "records" event holding recs (taken after
// the event seq), and the "synced" event after it when last is set, as a
// JSON array: [{"type":"records","seq":…,"table_at":N,"table":[…],
// "records":[[…],…]}(,{"type":"synced","seq":…})].
func (e *CompactEncoder) AppendFrame(b []byte, recs []health.Record, seq uint64, last bool) []byte {
	at := e.entries
	e.table, e.rows = e.table[:0], e.rows[:0]
	for i := range recs {
		if i > 0 {
			e.rows = append(e.rows, ',')
		}
		e.rows = e.appendRecord(e.rows, &recs[i])
	}
	b = append(b, '[')
	b = appendHead(b, TypeRecords, seq)
	b = append(b, `,"table_at":`...)
	b = strconv.AppendInt(b, int64(at), 10)
	b = append(b, `,"table":[`...)
	b = append(b, e.table...)
	b = append(b, `],"records":[`...)
	b = append(b, e.rows...)
	b = append(b, "]}"...)
	if last {
		b = Synced{}.AppendJSON(append(b, ','), seq)
	}
	return append(b, ']')
}

// appendRecord appends r's compact form.
func (e *CompactEncoder) appendRecord(b []byte, r *health.Record) []byte {
	b = append(b, '[')
	b = health.AppendJSONString(b, r.URL)
	b = append(b, ',')
	if len(r.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, r.Data...)
	}
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.probe(&r.Probe)), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.labels(r.Labels)), 10)
	b = append(b, ',')
	b = appendMillis(b, r.ExpiresAt)
	if r.Silenced {
		b = append(b, ",1,"...)
	} else {
		b = append(b, ",0,"...)
	}
	if r.Uptime.Known {
		b = append(b, '[')
		b = appendShare(b, r.Uptime.Day)
		b = append(b, ',')
		b = appendShare(b, r.Uptime.Week)
		b = append(b, ']')
	} else {
		b = append(b, "null"...)
	}
	s := &r.Status
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.str(string(s.State))), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(s.Code), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.str(s.Error)), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(e.str(string(s.ErrorKind))), 10)
	b = append(b, ',')
	b = health.AppendJSONFloat(b, s.LatencyMS)
	b = append(b, ',')
	b = appendMillis(b, s.CheckedAt)
	b = append(b, ',')
	b = appendMillis(b, &s.Since)
	b = append(b, ',')
	b = appendMillis(b, &r.CreatedAt)
	b = append(b, ',')
	b = appendMillis(b, &r.UpdatedAt)
	return append(b, ']')
}

// str returns the table index of the string s.
func (e *CompactEncoder) str(s string) int {
	e.scratch = append(e.scratch[:0], kindString)
	e.scratch = health.AppendJSONString(e.scratch, s)
	return e.entry()
}

// labels returns the table index of the label set l, an object with sorted
// keys ({} for none).
func (e *CompactEncoder) labels(l health.Labels) int {
	e.keys = e.keys[:0]
	for k := range l {
		e.keys = append(e.keys, k)
	}
	slices.Sort(e.keys)
	e.scratch = append(e.scratch[:0], kindLabels, '{')
	for i, k := range e.keys {
		if i > 0 {
			e.scratch = append(e.scratch, ',')
		}
		e.scratch = health.AppendJSONString(e.scratch, k)
		e.scratch = append(e.scratch, ':')
		e.scratch = health.AppendJSONString(e.scratch, l[k])
	}
	e.scratch = append(e.scratch, '}')
	return e.entry()
}

// probe returns the table index of the probe settings p, written as a
// record's "probe" object.
func (e *CompactEncoder) probe(p *health.Settings) int {
	if i, ok := e.bySettings[*p]; ok {
		return i
	}
	e.scratch = append(e.scratch[:0], kindProbe)
	e.scratch = append(e.scratch, `{"interval":`...)
	e.scratch = health.AppendJSONString(e.scratch, p.Interval.String())
	e.scratch = append(e.scratch, `,"timeout":`...)
	e.scratch = health.AppendJSONString(e.scratch, p.Timeout.String())
	e.scratch = append(e.scratch, `,"failure_threshold":`...)
	e.scratch = strconv.AppendInt(e.scratch, int64(p.FailureThreshold), 10)
	e.scratch = append(e.scratch, `,"success_threshold":`...)
	e.scratch = strconv.AppendInt(e.scratch, int64(p.SuccessThreshold), 10)
	e.scratch = append(e.scratch, `,"expect":`...)
	e.scratch = health.AppendJSONString(e.scratch, p.Expect.String())
	e.scratch = append(e.scratch, '}')
	i := e.entry()
	e.bySettings[*p] = i
	return i
}

// entry returns the table index of the entry in e.scratch (kind byte, then
// JSON), adding it to this frame's table when it is new.
func (e *CompactEncoder) entry() int {
	if i, ok := e.byBytes[string(e.scratch)]; ok {
		return i
	}
	i := e.entries
	e.entries++
	e.byBytes[string(e.scratch)] = i
	if len(e.table) > 0 {
		e.table = append(e.table, ',')
	}
	e.table = append(e.table, e.scratch[1:]...)
	return i
}

// appendMillis appends t as Unix milliseconds, null for nil or the zero
// time.
func appendMillis(b []byte, t *time.Time) []byte {
	if t == nil || t.IsZero() {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, t.UnixMilli(), 10)
}

// appendShare appends an uptime share as Uptime.AppendJSON writes it (null
// for NaN).
func appendShare(b []byte, f float64) []byte {
	if f != f {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
