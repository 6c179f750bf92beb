package api

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// A POST /bulk body of 10,000 items went through encoding/json twice per
// item (the array, then each item with a decoder of its own). The functions
// here read the common shape directly: a valid JSON array of objects whose
// keys are the known field names, spelled exactly, once each, with plain
// strings (no escapes) where strings are expected. Anything else — invalid
// JSON, a key in another case, a repeated or unknown key, an escape, a null
// or a value of another type — is declined and left to encoding/json, so
// every answer and every error message stays the one encoding/json gives.

// splitArray returns the items of body when body is one valid JSON array,
// as slices of body; ok is false otherwise.
func splitArray(body []byte) (items []json.RawMessage, ok bool) {
	if !json.Valid(body) {
		return nil, false
	}
	i := skipSpace(body, 0)
	if body[i] != '[' {
		return nil, false
	}
	items = make([]json.RawMessage, 0, bytes.Count(body, []byte(`"url"`)))
	i = skipSpace(body, i+1)
	if body[i] == ']' {
		return items, true
	}
	for {
		end := skipValue(body, i)
		items = append(items, body[i:end])
		i = skipSpace(body, end)
		if body[i] == ']' {
			return items, true
		}
		i = skipSpace(body, i+1) // the comma
	}
}

// readBulkItem reads m, a valid JSON value (an item of an array splitArray
// accepted), into b when it has the common shape (see above); ok is false
// when it has not, and b is then unspecified. It never reads past m, whatever
// m holds.
func readBulkItem(m json.RawMessage) (b bulkItem, ok bool) {
	if len(m) == 0 || m[0] != '{' {
		return b, false
	}
	var seen uint16
	i := skipSpace(m, 1)
	if byteAt(m, i) == '}' {
		return b, true
	}
	for {
		key, end, plain := stringAt(m, i)
		if !plain {
			return b, false
		}
		if i = skipSpace(m, end); byteAt(m, i) != ':' {
			return b, false
		}
		i = skipSpace(m, i+1)
		end = skipValue(m, i)
		v := m[i:end]
		if len(v) == 0 {
			return b, false
		}
		var bit uint16
		switch key {
		case "url":
			bit = 1
			if b.URL, ok = plainString(v); !ok {
				return b, false
			}
		case "data":
			bit = 2
			b.Data = json.RawMessage(v)
		case "interval":
			bit = 4
			if b.Interval, ok = plainStringPtr(v); !ok {
				return b, false
			}
		case "timeout":
			bit = 8
			if b.Timeout, ok = plainStringPtr(v); !ok {
				return b, false
			}
		case "expect":
			bit = 16
			if b.Expect, ok = plainStringPtr(v); !ok {
				return b, false
			}
		case "failure_threshold":
			bit = 32
			if v[0] == 'n' { // null
				return b, false
			}
			raw := json.RawMessage(v)
			b.FailureThreshold = &raw
		case "success_threshold":
			bit = 64
			if v[0] == 'n' {
				return b, false
			}
			raw := json.RawMessage(v)
			b.SuccessThreshold = &raw
		case "ttl":
			bit = 128
			if b.TTL, ok = plainStringPtr(v); !ok {
				return b, false
			}
		case "pause":
			bit = 256
			switch string(v) {
			case "true":
				b.Pause = new(true)
			case "false":
				b.Pause = new(false)
			default: // null, or not a boolean
				return b, false
			}
		default:
			return b, false
		}
		if seen&bit != 0 {
			return b, false // a repeated key
		}
		seen |= bit
		switch i = skipSpace(m, end); byteAt(m, i) {
		case '}':
			return b, skipSpace(m, i+1) == len(m)
		case ',':
			i = skipSpace(m, i+1)
		default:
			return b, false
		}
	}
}

// byteAt returns b[i], or 0 past the end of b.
func byteAt(b []byte, i int) byte {
	if i < len(b) {
		return b[i]
	}
	return 0
}

// plainStringPtr is plainString for an optional field.
func plainStringPtr(v []byte) (*string, bool) {
	s, ok := plainString(v)
	if !ok {
		return nil, false
	}
	return &s, true
}

// plainString returns the text of v when v is a JSON string without escapes.
func plainString(v []byte) (string, bool) {
	s, end, plain := stringAt(v, 0)
	return s, plain && end == len(v)
}

// stringAt reads the JSON string starting at b[i]; plain is false when there
// is none, or it holds an escape or invalid UTF-8. end is the index past its closing quote.
func stringAt(b []byte, i int) (s string, end int, plain bool) {
	if i >= len(b) || b[i] != '"' {
		return "", i, false
	}
	j := bytes.IndexByte(b[i+1:], '"')
	if j < 0 {
		return "", i, false
	}
	text := b[i+1 : i+1+j]
	if bytes.IndexByte(text, '\\') >= 0 || !utf8.Valid(text) {
		return "", i, false // encoding/json would replace invalid UTF-8
	}
	return string(text), i + j + 2, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\n' || b[i] == '\r' || b[i] == '\t') {
		i++
	}
	return i
}

// skipValue returns the index past the valid JSON value starting at b[i].
func skipValue(b []byte, i int) int {
	depth := 0
	var sc jsonStrings
	for ; i < len(b); i++ {
		c := b[i]
		wasString := sc.inString
		if sc.step(c) {
			continue // inside a string
		}
		switch {
		case wasString: // c closed a string
			if depth == 0 {
				return i + 1
			}
		case c == '[' || c == '{':
			depth++
		case c == ']' || c == '}':
			if depth--; depth == 0 {
				return i + 1
			}
			if depth < 0 {
				return i // the end of a literal inside its container
			}
		case depth == 0 && (c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t'):
			return i
		}
	}
	return i
}

// jsonStrings follows a JSON text byte by byte and tells which bytes belong
// to a string, so that brackets and commas inside strings are not taken for
// structure.
type jsonStrings struct {
	inString, escaped bool
}

// step takes the next byte and reports whether it is part of a string: its
// opening quote and everything up to, not including, its closing quote.
func (s *jsonStrings) step(c byte) bool {
	switch {
	case s.escaped:
		s.escaped = false
	case s.inString && c == '\\':
		s.escaped = true
	case s.inString && c == '"':
		s.inString = false
		return false
	case !s.inString && c == '"':
		s.inString = true
	}
	return s.inString
}
