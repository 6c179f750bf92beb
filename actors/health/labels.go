package health

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Limits of a URL's labels.
const (
	MaxLabels          = 32
	MaxLabelKeyBytes   = 63
	MaxLabelValueBytes = 255
)

var labelKey = regexp.MustCompile(`^[a-z0-9_.-]{1,63}$`)

// Labels are a URL's key=value tags. A nil Labels in a request means "keep
// the URL's labels"; an empty, non-nil one means "none". Records always show
// them as an object, {} when there are none.
type Labels map[string]string

// CheckLabel reports whether key=value is a valid label: key of 1–63 bytes
// of [a-z0-9_.-], value of at most 255 bytes of UTF-8. The error names it.
func CheckLabel(key, value string) error {
	if !labelKey.MatchString(key) {
		return fmt.Errorf("label %q: key must be 1-%d characters of a-z, 0-9, '_', '.', '-'", key+"="+value, MaxLabelKeyBytes)
	}
	if len(value) > MaxLabelValueBytes {
		return fmt.Errorf("label %q: value is longer than %d bytes", key, MaxLabelValueBytes)
	}
	if !utf8.ValidString(value) {
		return fmt.Errorf("label %q: value is not valid UTF-8", key)
	}
	return nil
}

// Validate checks every label and their number (at most 32).
func (l Labels) Validate() error {
	if len(l) > MaxLabels {
		return fmt.Errorf("%d labels; at most %d are allowed", len(l), MaxLabels)
	}
	for _, k := range l.keys() {
		if err := CheckLabel(k, l[k]); err != nil {
			return err
		}
	}
	return nil
}

// ParseLabels reads `key=value` pairs, one a string, as the repeated label
// query parameter gives them. A single empty string means "no labels" (an
// empty, non-nil Labels). A pair without '=', a repeated key, a bad label or
// more than 32 are an error naming the label.
func ParseLabels(pairs []string) (Labels, error) {
	l := make(Labels, len(pairs))
	if len(pairs) == 1 && pairs[0] == "" {
		return l, nil
	}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, fmt.Errorf("label %q: write key=value", p)
		}
		if _, dup := l[k]; dup {
			return nil, fmt.Errorf("label %q given more than once", k)
		}
		if err := CheckLabel(k, v); err != nil {
			return nil, err
		}
		l[k] = v
	}
	if err := l.Validate(); err != nil {
		return nil, err
	}
	return l, nil
}

// Equal reports whether l and o hold the same labels (nil equals empty).
func (l Labels) Equal(o Labels) bool {
	if len(l) != len(o) {
		return false
	}
	for k, v := range l {
		if w, ok := o[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func (l Labels) keys() []string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// MarshalJSON writes l as a JSON object with sorted keys, {} when empty.
func (l Labels) MarshalJSON() ([]byte, error) {
	return l.appendJSON(nil), nil
}

// appendJSON appends l as encoding/json writes a map: keys sorted; {} for
// nil.
func (l Labels) appendJSON(b []byte) []byte {
	b = append(b, '{')
	for i, k := range l.keys() {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, k)
		b = append(b, ':')
		b = AppendJSONString(b, l[k])
	}
	return append(b, '}')
}

// Selector picks URLs by label: every one of its labels must be present
// with the same value (AND). Parse one with ParseSelector.
type Selector []Label

// Label is one key=value pair.
type Label struct{ Key, Value string }

// ParseSelector reads `key=value[,key=value…]`. An empty selector, an empty
// term, a term without '=' or a bad label is an error naming the term.
func ParseSelector(s string) (Selector, error) {
	if s == "" {
		return nil, fmt.Errorf("empty label selector; write key=value[,key=value…]")
	}
	var sel Selector
	for _, term := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(term, "=")
		if !ok {
			return nil, fmt.Errorf("label selector term %q: write key=value", term)
		}
		if err := CheckLabel(k, v); err != nil {
			return nil, fmt.Errorf("label selector: %w", err)
		}
		sel = append(sel, Label{k, v})
	}
	return sel, nil
}

// Matches reports whether l has every label of sel.
func (sel Selector) Matches(l Labels) bool {
	for _, t := range sel {
		if v, ok := l[t.Key]; !ok || v != t.Value {
			return false
		}
	}
	return true
}
