package silence

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// Silence mutes Slack for one URL (URL set) or for every URL whose current
// labels match a selector (Labels set), from StartsAt until EndsAt.
type Silence struct {
	ID string
	// URL is the silenced URL, exactly as registered; "" for a label silence.
	URL string
	// Labels is the selector as given (key=value[,key=value…]); "" for a URL
	// silence. Selector is its parsed form.
	Labels   string
	Selector health.Selector
	Reason   string
	StartsAt time.Time
	EndsAt   time.Time
}

// NewID returns a fresh random silence id: 16 hexadecimal digits.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// Matches reports whether s covers the URL url with labels labels. It does
// not look at the time.
func (s *Silence) Matches(url string, labels health.Labels) bool {
	if s.URL != "" {
		return s.URL == url
	}
	return s.Selector.Matches(labels)
}

// Ended reports whether s is over at now.
func (s *Silence) Ended(now time.Time) bool { return !now.Before(s.EndsAt) }

// wire is the JSON form of a silence, in answers and in the store: "url" or
// "labels", whichever it has.
type wire struct {
	ID       string    `json:"id"`
	URL      string    `json:"url,omitempty"`
	Labels   string    `json:"labels,omitempty"`
	Reason   string    `json:"reason"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

// MarshalJSON writes {"id","url" or "labels","reason","starts_at","ends_at"},
// times in UTC.
func (s Silence) MarshalJSON() ([]byte, error) {
	return json.Marshal(wire{ID: s.ID, URL: s.URL, Labels: s.Labels, Reason: s.Reason,
		StartsAt: s.StartsAt.UTC(), EndsAt: s.EndsAt.UTC()})
}

// UnmarshalJSON reads what MarshalJSON writes, parsing the selector. A
// silence with both or neither of url and labels, or without an id, is an
// error.
func (s *Silence) UnmarshalJSON(b []byte) error {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	if w.ID == "" || (w.URL == "") == (w.Labels == "") {
		return fmt.Errorf("silence %q: needs an id and exactly one of url and labels", w.ID)
	}
	*s = Silence{ID: w.ID, URL: w.URL, Labels: w.Labels, Reason: w.Reason, StartsAt: w.StartsAt, EndsAt: w.EndsAt}
	if w.Labels != "" {
		sel, err := health.ParseSelector(w.Labels)
		if err != nil {
			return fmt.Errorf("silence %q: %w", w.ID, err)
		}
		s.Selector = sel
	}
	return nil
}
