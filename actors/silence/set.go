package silence

import (
	"sort"

	"github.com/spo2/spo2/actors/health"
)

// Set is the active silences at one moment. It is immutable: a change makes
// a new Set. The nil *Set is empty. Matching costs one map lookup plus one
// selector test per label silence, so checking 100,000 URLs against a few
// silences is cheap.
type Set struct {
	byURL     map[string]struct{}
	selectors []health.Selector
	list      []Silence // soonest ending first
}

// NewSet returns the set of silences, or nil when there are none.
func NewSet(silences []Silence) *Set {
	if len(silences) == 0 {
		return nil
	}
	s := &Set{byURL: make(map[string]struct{}), list: append([]Silence(nil), silences...)}
	sortByEnd(s.list)
	for _, si := range s.list {
		if si.URL != "" {
			s.byURL[si.URL] = struct{}{}
		} else {
			s.selectors = append(s.selectors, si.Selector)
		}
	}
	return s
}

// Matches reports whether some silence of the set covers url, whose current
// labels are labels.
func (s *Set) Matches(url string, labels health.Labels) bool {
	if s == nil {
		return false
	}
	if _, ok := s.byURL[url]; ok {
		return true
	}
	for _, sel := range s.selectors {
		if sel.Matches(labels) {
			return true
		}
	}
	return false
}

// Len returns the number of silences.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return len(s.list)
}

// List returns a copy of the silences, soonest ending first (ties by id).
func (s *Set) List() []Silence {
	if s == nil {
		return []Silence{}
	}
	return append([]Silence(nil), s.list...)
}

// sortByEnd orders silences soonest ending first, ties by id.
func sortByEnd(l []Silence) {
	sort.Slice(l, func(i, j int) bool {
		if !l[i].EndsAt.Equal(l[j].EndsAt) {
			return l[i].EndsAt.Before(l[j].EndsAt)
		}
		return l[i].ID < l[j].ID
	})
}
