package health

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// appendURLDataProbe appends `{"url":…,"data":…,"probe":{…}`, the opening
// fields a record and a stored registration share; data is written as is
// (compact JSON), "null" when empty.
func appendURLDataProbe(b []byte, url string, data []byte, probe *Settings) []byte {
	b = append(b, `{"url":`...)
	b = AppendJSONString(b, url)
	b = append(b, `,"data":`...)
	if len(data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, data...)
	}
	b = append(b, `,"probe":`...)
	return probe.appendJSON(b)
}

// AppendJSON appends r's JSON encoding to b: the same bytes as encoding/json
// with HTML escaping off, several times faster, for snapshots of 100,000
// records.
func (r *Record) AppendJSON(b []byte) []byte {
	b = appendURLDataProbe(b, r.URL, r.Data, &r.Probe)
	b = append(b, `,"labels":`...)
	b = r.Labels.appendJSON(b)
	b = append(b, `,"expires_at":`...)
	if r.ExpiresAt == nil {
		b = append(b, "null"...)
	} else {
		b = AppendJSONTime(b, *r.ExpiresAt)
	}
	b = append(b, `,"silenced":`...)
	b = strconv.AppendBool(b, r.Silenced)
	b = append(b, `,"uptime":`...)
	b = r.Uptime.AppendJSON(b)
	b = append(b, `,"status":`...)
	b = r.Status.AppendJSON(b)
	b = append(b, `,"created_at":`...)
	b = AppendJSONTime(b, r.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = AppendJSONTime(b, r.UpdatedAt)
	return append(b, '}')
}

// appendJSON appends s's JSON encoding to b, as Settings.MarshalJSON writes
// it.
func (s *Settings) appendJSON(b []byte) []byte {
	b = append(b, `{"interval":`...)
	b = AppendJSONString(b, s.Interval.String())
	b = append(b, `,"timeout":`...)
	b = AppendJSONString(b, s.Timeout.String())
	b = append(b, `,"failure_threshold":`...)
	b = strconv.AppendInt(b, int64(s.FailureThreshold), 10)
	b = append(b, `,"success_threshold":`...)
	b = strconv.AppendInt(b, int64(s.SuccessThreshold), 10)
	b = append(b, `,"expect":`...)
	b = AppendJSONString(b, s.Expect.String())
	return append(b, '}')
}

// AppendJSON appends s's JSON encoding to b, as encoding/json would.
func (s *Status) AppendJSON(b []byte) []byte {
	b = append(b, `{"state":`...)
	b = AppendJSONString(b, string(s.State))
	b = append(b, `,"code":`...)
	b = strconv.AppendInt(b, int64(s.Code), 10)
	b = append(b, `,"error":`...)
	b = AppendJSONString(b, s.Error)
	b = append(b, `,"error_kind":`...)
	b = AppendJSONString(b, string(s.ErrorKind))
	b = append(b, `,"latency_ms":`...)
	b = AppendJSONFloat(b, s.LatencyMS)
	b = append(b, `,"checked_at":`...)
	if s.CheckedAt == nil {
		b = append(b, "null"...)
	} else {
		b = AppendJSONTime(b, *s.CheckedAt)
	}
	b = append(b, `,"since":`...)
	b = AppendJSONTime(b, s.Since)
	return append(b, '}')
}

// MarshalJSON encodes v like json.Marshal but without escaping <, > and &,
// so custom data is stored and answered byte for byte as the client sent it.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// AppendJSONTime appends t as a JSON string in RFC 3339 with nanoseconds, as
// encoding/json would.
func AppendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		m, _ := json.Marshal(t.UTC()) // out of RFC 3339 range: let encoding/json decide
		return append(b, m...)
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendJSONFloat appends f as encoding/json would (NaN and ±Inf as 0).
func AppendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return append(b, '0')
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		m, _ := json.Marshal(f)
		return append(b, m...)
	}
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s as a JSON string: quotes, backslashes and control
// characters escaped, U+2028 and U+2029 escaped, invalid UTF-8 replaced by
// U+FFFD — as encoding/json does with HTML escaping off.
func AppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
