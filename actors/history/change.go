// Package history keeps the recent state changes of each URL in memory,
// compactly, and computes uptime from them.
//
// A URL's changes live in one Log, bounded to a limit (100 by default), the
// oldest dropped first. A Log is created at a URL's first change and grows
// with its changes, so a URL that never changes state costs nothing and one
// that rarely does costs a few dozen bytes. A change is 12 bytes.
package history

import (
	"strconv"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// DefaultLimit is how many changes a Log keeps when no limit is given.
const DefaultLimit = 100

// MaxLimit is the largest limit a Log accepts.
const MaxLimit = 10_000

// Change is one state change of a URL: the state it entered, the one it
// left, the probe's HTTP code and error kind, and when. It is 12 bytes:
// its time is two 32-bit halves, so that it needs only 4-byte alignment.
type Change struct {
	atLo, atHi uint32 // unix nanoseconds
	code       uint16
	pair       uint8 // state<<4 | previous, indexes in states
	kind       uint8 // index in kinds
}

// states and kinds number the values a Change stores. The numbers are
// persisted: append new values (16 at most), never reorder. A state missing
// from the table is stored as 0 and read back as "".
var (
	states = [...]health.State{"", health.Pending, health.Healthy, health.Unhealthy, health.Unreachable,
		health.Paused} // a URL that is not probed
	kinds = [...]health.ErrorKind{health.KindNone, health.KindRefused, health.KindTimeout, health.KindDNS,
		health.KindTLS, health.KindReset, health.KindProtocol, health.KindOther}
)

// NewChange packs one change. A code outside 0-65535 is stored as 0; an
// error kind it does not know as "other".
func NewChange(at time.Time, state, previous health.State, code int, kind health.ErrorKind) Change {
	c := Change{pair: stateIndex(state)<<4 | stateIndex(previous)}
	c.setAt(at.UnixNano())
	if code >= 0 && code <= 0xffff {
		c.code = uint16(code)
	}
	c.kind = uint8(len(kinds) - 1) // other
	for i, k := range kinds {
		if k == kind {
			c.kind = uint8(i)
		}
	}
	return c
}

// nanos returns the change's time in unix nanoseconds.
func (c Change) nanos() int64 { return int64(uint64(c.atHi)<<32 | uint64(c.atLo)) }

func (c *Change) setAt(nanos int64) { c.atLo, c.atHi = uint32(nanos), uint32(uint64(nanos)>>32) }

func stateIndex(s health.State) uint8 {
	for i, v := range states {
		if v == s {
			return uint8(i)
		}
	}
	return 0
}

func stateAt(i uint8) health.State {
	if int(i) < len(states) {
		return states[i]
	}
	return ""
}

// At is when the change happened.
func (c Change) At() time.Time { return time.Unix(0, c.nanos()).UTC() }

// State is the state the URL entered.
func (c Change) State() health.State { return stateAt(c.pair >> 4) }

// Previous is the state the URL left.
func (c Change) Previous() health.State { return stateAt(c.pair & 0xf) }

// Code is the HTTP status of the probe that made the change, 0 without an
// answer.
func (c Change) Code() int { return int(c.code) }

// ErrorKind is why the probe that made the change got no answer ("" when it
// got one).
func (c Change) ErrorKind() health.ErrorKind {
	if int(c.kind) < len(kinds) {
		return kinds[c.kind]
	}
	return health.KindOther
}

// AppendJSON appends {"state":…,"previous":…,"code":…,"error_kind":…,"at":…}.
func (c Change) AppendJSON(b []byte) []byte {
	b = append(b, `{"state":`...)
	b = health.AppendJSONString(b, string(c.State()))
	b = append(b, `,"previous":`...)
	b = health.AppendJSONString(b, string(c.Previous()))
	b = append(b, `,"code":`...)
	b = strconv.AppendUint(b, uint64(c.code), 10)
	b = append(b, `,"error_kind":`...)
	b = health.AppendJSONString(b, string(c.ErrorKind()))
	b = append(b, `,"at":`...)
	b = health.AppendJSONTime(b, c.At())
	return append(b, '}')
}
