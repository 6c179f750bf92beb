package health

import (
	"fmt"
	"strconv"
	"strings"
)

// Expect is the set of HTTP status codes counted as healthy, written as a
// comma-separated list of codes and ranges ("200", "200-299", "200,204,300-399").
// The zero value is not valid; use ParseExpect.
type Expect struct {
	text   string
	ranges []codeRange
}

type codeRange struct{ lo, hi int }

// DefaultExpect is the default healthy set: 200-399.
var DefaultExpect = MustParseExpect("200-399")

// ParseExpect parses a list of codes and ranges. Codes must lie in 100-599.
func ParseExpect(text string) (Expect, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Expect{}, fmt.Errorf("expect is empty")
	}
	var e Expect
	var canon []string
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		if !isRange {
			hi = lo
		}
		l, err1 := strconv.Atoi(strings.TrimSpace(lo))
		h, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if err1 != nil || err2 != nil {
			return Expect{}, fmt.Errorf("expect %q: %q is not a status code or range", text, part)
		}
		if l < 100 || h > 599 || l > h {
			return Expect{}, fmt.Errorf("expect %q: %q is not within 100-599 in ascending order", text, part)
		}
		e.ranges = append(e.ranges, codeRange{l, h})
		if l == h {
			canon = append(canon, strconv.Itoa(l))
		} else {
			canon = append(canon, strconv.Itoa(l)+"-"+strconv.Itoa(h))
		}
	}
	e.text = strings.Join(canon, ",")
	return e, nil
}

// MustParseExpect is ParseExpect for constants; it panics on a bad list.
func MustParseExpect(text string) Expect {
	e, err := ParseExpect(text)
	if err != nil {
		panic(err)
	}
	return e
}

// Contains reports whether code counts as healthy.
func (e Expect) Contains(code int) bool {
	for _, r := range e.ranges {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// String returns the canonical text of the list.
func (e Expect) String() string { return e.text }

// IsZero reports whether e was never parsed.
func (e Expect) IsZero() bool { return len(e.ranges) == 0 }

// MarshalText writes the canonical list.
func (e Expect) MarshalText() ([]byte, error) { return []byte(e.text), nil }

// UnmarshalText parses a list written by MarshalText or by a user.
func (e *Expect) UnmarshalText(b []byte) error {
	p, err := ParseExpect(string(b))
	if err != nil {
		return err
	}
	*e = p
	return nil
}
