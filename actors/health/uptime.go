package health

import (
	"math"
	"strconv"
)

// Uptime is the share of time a URL spent healthy over the last 24 hours
// (Day) and 7 days (Week), each from 0 to 1. The zero Uptime is unknown (a
// URL without a verdict yet) and encodes as JSON null; a window without any
// time under a verdict holds NaN and encodes as null.
type Uptime struct {
	Known     bool
	Day, Week float64
}

// AppendJSON appends null or {"24h":…,"7d":…}.
func (u Uptime) AppendJSON(b []byte) []byte {
	if !u.Known {
		return append(b, "null"...)
	}
	b = append(b, `{"24h":`...)
	b = appendShare(b, u.Day)
	b = append(b, `,"7d":`...)
	b = appendShare(b, u.Week)
	return append(b, '}')
}

// MarshalJSON encodes u as AppendJSON does.
func (u Uptime) MarshalJSON() ([]byte, error) { return u.AppendJSON(nil), nil }

func appendShare(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}
