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
	"unicode/utf8"

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

// TextObject is a Block Kit text object.
type TextObject struct {
	Type  string `json:"type"` // "plain_text" or "mrkdwn"
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

// Block is a Block Kit layout block: a header, a section or a context.
type Block struct {
	Type     string       `json:"type"`
	Text     *TextObject  `json:"text,omitempty"`
	Elements []TextObject `json:"elements,omitempty"`
}

// Message is the JSON body posted to an incoming webhook: a plain-text
// fallback (used for notifications and by clients without Block Kit) and the
// blocks.
type Message struct {
	Text   string  `json:"text"`
	Blocks []Block `json:"blocks,omitempty"`
}

// TextOnly returns the message without its blocks: the last resort when Slack
// rejects the blocks (HTTP 400).
func (m Message) TextOnly() Message { return Message{Text: m.Text} }

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
var countOrder = []health.State{health.Unreachable, health.Unhealthy, health.Healthy, health.Pending}

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

// MassFailure describes many URLs failing within one batch window.
type MassFailure struct {
	Failed     int                  // distinct URLs that turned failing
	Registered int                  // URLs registered at the time
	Window     time.Duration        // the batch window they failed within
	ByState    map[health.State]int // failing URLs per new state
	Sample     []Event              // the first events, at most SampleSize shown
}

// Message renders the mass-failure notice.
func (f MassFailure) Message() Message {
	title := fmt.Sprintf("SpO₂: %d of %d URLs failed at once", f.Failed, f.Registered)
	pct := 0
	if f.Registered > 0 {
		pct = f.Failed * 100 / f.Registered
	}
	body := fmt.Sprintf("*This is most likely the network or SpO₂'s own side, not %d endpoints at once.* "+
		"%d URLs (%d%% of %d registered) turned failing within %s. Check SpO₂'s host, its DNS resolver and the network path to the targets. "+
		"Until the mass failure is over, further failures and the recoveries of these URLs are not announced one by one; one message will say when it is over.",
		f.Failed, f.Failed, pct, f.Registered, Duration(f.Window))
	counts := "*Counts:* " + Counts(f.ByState)
	blocks := []Block{header(title), section(escape(body)), section(escape(counts))}
	lines := []string{title + " — most likely the network or SpO₂'s own side (" + Counts(f.ByState) + ")"}
	blocks, lines = appendSample(blocks, lines, f.Sample, f.Failed, "Sample")
	return Message{Text: fallback(lines), Blocks: blocks}
}

// MassRecovery describes the end of a mass failure.
type MassRecovery struct {
	Total        int                  // URLs that took part in the mass failure
	Recovered    int                  // of them, healthy when it ended
	Removed      int                  // of them, removed meanwhile
	Lasted       time.Duration        // from the mass-failure notice to its end
	StillByState map[health.State]int // of them, failing when it ended, per state
	Still        []Event              // of them, failing when it ended; at most SampleSize shown
	// Now counts every registered URL per state at the moment the message is
	// rendered (the read model's counts). The message says from it how many
	// URLs are failing, and says they are all healthy only when every
	// registered URL is. Nil leaves that sentence out.
	Now map[health.State]int
}

// Message renders the mass-recovery notice.
func (r MassRecovery) Message() Message {
	still := 0
	for _, n := range r.StillByState {
		still += n
	}
	title := fmt.Sprintf("SpO₂: mass failure over, %d of %s recovered", r.Recovered, plural(r.Total, "URL", "URLs"))
	body := fmt.Sprintf("The mass failure lasted %s.", Duration(r.Lasted))
	if r.Removed > 0 {
		body += fmt.Sprintf(" %d of its URLs %s removed meanwhile.", r.Removed, plural0(r.Removed, "was", "were"))
	}
	if still > 0 {
		body += fmt.Sprintf(" %d of them had not recovered when it ended (%s); each will be announced when it recovers.",
			still, Counts(r.StillByState))
	}
	if r.Now != nil {
		body += " " + fleetNow(r.Now)
	}
	blocks := []Block{header(title), section(escape(body))}
	lines := []string{title + ". " + strings.ReplaceAll(body, "*", "")}
	blocks, lines = appendSample(blocks, lines, r.Still, still, "Not recovered when it ended")
	return Message{Text: fallback(lines), Blocks: blocks}
}

// fleetNow says how many registered URLs are failing, from counts per state;
// it says they are all healthy only when every one is.
func fleetNow(counts map[health.State]int) string {
	registered, failing := 0, 0
	failingBy := make(map[health.State]int)
	for s, n := range counts {
		registered += n
		if s.Failing() && n > 0 {
			failing += n
			failingBy[s] = n
		}
	}
	switch {
	case registered == 0:
		return "No URL is registered now."
	case failing > 0:
		return fmt.Sprintf("*Failing now: %d of %s* (%s).", failing, plural(registered, "registered URL", "registered URLs"),
			Counts(failingBy))
	case registered == 1 && counts[health.Healthy] == 1:
		return "The only registered URL is healthy now."
	case registered == 1:
		return fmt.Sprintf("The only registered URL is not failing now (%s).", Counts(counts))
	case counts[health.Healthy] == registered:
		return fmt.Sprintf("All %d registered URLs are healthy now.", registered)
	}
	return fmt.Sprintf("None of the %d registered URLs is failing now (%s).", registered, Counts(counts))
}

// plural renders n with the singular or plural noun: "1 change", "3 changes".
func plural(n int, one, many string) string {
	return fmt.Sprintf("%d %s", n, plural0(n, one, many))
}

// plural0 picks the singular or plural word for n.
func plural0(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func appendSample(blocks []Block, lines []string, sample []Event, total int, label string) ([]Block, []string) {
	if len(sample) == 0 {
		return blocks, lines
	}
	if len(sample) > SampleSize {
		sample = sample[:SampleSize]
	}
	blocks = append(blocks, section(fmt.Sprintf("*%s* (%d of %d):", label, len(sample), total)))
	for _, e := range sample {
		m, p := Line(e)
		blocks = append(blocks, section(m))
		lines = append(lines, p)
	}
	if rest := total - len(sample); rest > 0 {
		more := fmt.Sprintf("…and %d more", rest)
		blocks = append(blocks, section("_"+more+"_"))
		lines = append(lines, more)
	}
	return blocks, lines
}

// Validate checks m against Slack's limits; every message this package
// renders passes.
func Validate(m Message) error {
	if m.Text == "" {
		return fmt.Errorf("empty fallback text")
	}
	if len(m.Text) > MaxText {
		return fmt.Errorf("fallback text of %d bytes exceeds %d", len(m.Text), MaxText)
	}
	if len(m.Blocks) > MaxBlocks {
		return fmt.Errorf("%d blocks exceed %d", len(m.Blocks), MaxBlocks)
	}
	for i, b := range m.Blocks {
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || b.Text.Text == "" || len(b.Text.Text) > MaxHeaderText {
				return fmt.Errorf("block %d: bad header", i)
			}
		case "section":
			if b.Text == nil || b.Text.Text == "" || len(b.Text.Text) > MaxSectionText {
				return fmt.Errorf("block %d: section text empty or over %d bytes", i, MaxSectionText)
			}
		default:
			return fmt.Errorf("block %d: unexpected type %q", i, b.Type)
		}
		if !utf8.ValidString(b.Text.Text) {
			return fmt.Errorf("block %d: invalid UTF-8", i)
		}
	}
	return nil
}

func header(s string) Block {
	return Block{Type: "header", Text: &TextObject{Type: "plain_text", Text: truncate(s, MaxHeaderText), Emoji: true}}
}

func section(mrkdwn string) Block {
	return Block{Type: "section", Text: &TextObject{Type: "mrkdwn", Text: truncate(mrkdwn, MaxSectionText)}}
}

// fallback joins lines into the plain-text fallback, keeping whole lines
// within MaxText and saying how many were left out.
func fallback(lines []string) string {
	var b strings.Builder
	for i, l := range lines {
		l = truncate(l, MaxText/2)
		rest := len(lines) - i
		tail := fmt.Sprintf("\n…and %d more lines", rest)
		if b.Len()+1+len(l)+len(tail) > MaxText && i > 0 {
			b.WriteString(tail)
			break
		}
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(l)
	}
	return truncate(b.String(), MaxText)
}

// code renders s as inline code: backticks cannot be escaped inside it, so
// they become quotes.
func code(s string) string {
	return "`" + escape(strings.ReplaceAll(s, "`", "'")) + "`"
}

// escape escapes the three characters Slack's mrkdwn reserves.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// truncate cuts s to at most max bytes at a rune boundary, ending with "…".
func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
