// Rendering is pure: no I/O, no clock. Every message it returns is valid for
// Slack: at most 50 blocks, section texts of at most 3,000 characters, a
// header of at most 150, and a plain-text fallback of at most 3,000.

package slack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/target"
)

// Slack's Block Kit limits, and SpO₂'s own bounds inside them. Lengths are
// counted in bytes, which is never less than Slack's count of characters.
const (
	MaxBlocks      = 50   // blocks in one message
	MaxSectionText = 3000 // characters in one section's text
	MaxHeaderText  = 150  // characters in a header's plain text
	MaxText        = 3000 // characters in the fallback text (SpO₂'s bound)
	MaxEvents      = 40   // event lines in one batch message
	SampleSize     = 10   // event lines shown in a mass-failure notice
	DataWidth      = 80   // characters of custom data on one line
	urlWidth       = 600  // characters of a URL on one line
	errorWidth     = 300  // characters of an error message on one line
)

// Event is one state change to announce.
type Event struct {
	URL           string
	State         health.State
	Previous      health.State
	Code          int       // HTTP status, shown for unhealthy
	Error         string    // error message, shown for unreachable
	At            time.Time // when the new state began
	PreviousSince time.Time // when the previous state began; zero when unknown
	Data          string    // one-line rendering of the custom data (DataLine)
	// Restored marks a state found at start-up that was never announced:
	// the state before it is unknown, At is when it began (zero if unknown).
	Restored bool
	// AfterSilence marks a state reached while a silence held the URL's
	// changes, announced when the silence ended: Previous is the state
	// announced before, At is when the new state began.
	AfterSilence bool
}

// Folded counts the events left out of the messages because the backlog was
// full; a batch shows them as "…and N more changes".
type Folded struct {
	Count   int
	ByState map[health.State]int
}

// Emoji returns the Slack emoji code of a state.
func Emoji(s health.State) string {
	switch s {
	case health.Healthy:
		return ":large_green_circle:"
	case health.Unhealthy:
		return ":red_circle:"
	case health.Unreachable:
		return ":black_circle:"
	}
	return ":white_circle:"
}

// countOrder is the order of states in counts: the worst first.
var countOrder = []health.State{health.Unreachable, health.Unhealthy, health.Healthy, health.Pending, health.Paused}

// Counts renders per-state counts as "2 unreachable, 3 unhealthy, 1 healthy",
// worst first, skipping zeros.
func Counts(c map[health.State]int) string {
	var parts []string
	for _, s := range countOrder {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	var other []string
	for s, n := range c {
		if n > 0 && !s.Valid() {
			other = append(other, fmt.Sprintf("%d %s", n, s))
		}
	}
	sort.Strings(other)
	return strings.Join(append(parts, other...), ", ")
}

// DataLine renders custom data on one line: compact JSON, at most DataWidth
// characters (cut with "…"). Empty and null data render as "".
func DataLine(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return truncate(oneLine(string(raw)), DataWidth)
	}
	return truncate(b.String(), DataWidth)
}

// Duration renders d briefly: "42s", "5m 3s", "2h 3m", "3d 4h".
func Duration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %dh", s/86400, s%86400/3600)
}

// Line renders one event as Slack mrkdwn and as plain text, e.g.
//
//	:red_circle: *unhealthy* `http://u:****@10.0.3.7/health` HTTP 503 · was healthy for 2h 3m · `{"customer":42}`
func Line(e Event) (mrkdwn, plain string) {
	url := truncate(target.Mask(e.URL), urlWidth)
	var detail string
	switch e.State {
	case health.Unhealthy:
		detail = fmt.Sprintf("HTTP %d", e.Code)
	case health.Unreachable:
		detail = truncate(oneLine(e.Error), errorWidth)
		if detail == "" {
			detail = "no answer"
		}
	}
	var since string
	switch {
	case e.Restored && e.At.IsZero():
		since = "state found at start-up"
	case e.Restored:
		since = "since " + e.At.UTC().Format("2006-01-02 15:04:05 UTC") + ", state found at start-up"
	case e.AfterSilence && !e.At.IsZero():
		since = fmt.Sprintf("was %s; since %s, during a silence", e.Previous, e.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	case e.Previous == health.Pending || e.Previous == "":
		since = "first verdict"
	case e.PreviousSince.IsZero() || e.At.Before(e.PreviousSince):
		since = fmt.Sprintf("was %s", e.Previous)
	default:
		since = fmt.Sprintf("was %s for %s", e.Previous, Duration(e.At.Sub(e.PreviousSince)))
	}

	m := []string{fmt.Sprintf("%s *%s* %s", Emoji(e.State), e.State, code(url))}
	p := []string{fmt.Sprintf("%s %s", strings.ToUpper(string(e.State)), url)}
	if detail != "" {
		m = append(m, escape(detail))
		p = append(p, detail)
	}
	m = append(m, "· "+since)
	p = append(p, "· "+since)
	if e.Data != "" {
		m = append(m, "· "+code(e.Data))
		p = append(p, "· "+e.Data)
	}
	return truncate(strings.Join(m, " "), MaxSectionText), strings.Join(p, " ")
}

// Batch renders one message for up to MaxEvents events (more are cut) and the
// folded count, if any: a header with the number of changes and the counts
// per new state, then one section per event, then "…and N more changes".
func Batch(events []Event, folded Folded) Message {
	if len(events) > MaxEvents {
		events = events[:MaxEvents]
	}
	counts := make(map[health.State]int)
	for _, e := range events {
		counts[e.State]++
	}
	for s, n := range folded.ByState {
		counts[s] += n
	}
	summary := "SpO₂: " + plural(len(events)+folded.Count, "change", "changes")
	if c := Counts(counts); c != "" {
		summary += ": " + c
	}
	blocks := []Block{header(summary)}
	lines := []string{summary}
	for _, e := range events {
		m, p := Line(e)
		blocks = append(blocks, section(m))
		lines = append(lines, p)
	}
	if folded.Count > 0 {
		more := fmt.Sprintf("…and %d more changes", folded.Count)
		if c := Counts(folded.ByState); c != "" {
			more += " (" + c + ")"
		}
		more += ", not listed because too many changes were waiting for Slack"
		blocks = append(blocks, section("_"+escape(more)+"_"))
		lines = append(lines, more)
	}
	return Message{Text: fallback(lines), Blocks: blocks}
}
