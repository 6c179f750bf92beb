package slack

import (
	"fmt"
	"strings"
	"unicode/utf8"
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
