package health

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Expect is the set of HTTP status codes counted as healthy, written as a
// comma-separated list of codes and ranges ("200", "200-299", "200,204,300-399").
// The zero value is not valid; use ParseExpect.
//
// An Expect is one pointer, shared by every Expect parsed from the same
// list (up to internLimit distinct lists): every registration holds one, so
// the default costs 8 bytes per URL instead of a copy of the list.
type Expect struct{ set *expectSet }

// expectSet is a parsed list; it never changes once made.
type expectSet struct {
	text   string // canonical
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
	var e expectSet
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
	return intern(&e), nil
}

// internLimit bounds how many distinct lists are shared; further ones are
// kept by their own Expects (a client cannot grow the table without bound).
const internLimit = 256

var interned = struct {
	sync.Mutex
	sets map[string]*expectSet
}{sets: map[string]*expectSet{}}

// intern returns the shared Expect of e's canonical list.
func intern(e *expectSet) Expect {
	interned.Lock()
	defer interned.Unlock()
	if shared, ok := interned.sets[e.text]; ok {
		return Expect{shared}
	}
	if len(interned.sets) < internLimit {
		interned.sets[e.text] = e
	}
	return Expect{e}
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
	if e.set == nil {
		return false
	}
	for _, r := range e.set.ranges {
		if code >= r.lo && code <= r.hi {
			return true
		}
	}
	return false
}

// String returns the canonical text of the list.
func (e Expect) String() string {
	if e.set == nil {
		return ""
	}
	return e.set.text
}

// IsZero reports whether e was never parsed.
func (e Expect) IsZero() bool { return e.set == nil }

// MarshalText writes the canonical list.
func (e Expect) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

// UnmarshalText parses a list written by MarshalText or by a user.
func (e *Expect) UnmarshalText(b []byte) error {
	p, err := ParseExpect(string(b))
	if err != nil {
		return err
	}
	*e = p
	return nil
}
