package harness

import (
	"regexp"

	"github.com/spo2/spo2/actors/slack"
)

// SlackLine is one event line of a batch message SpO₂ posted to Slack: the
// URL as shown (passwords masked) and the state it changed to.
type SlackLine struct {
	URL   string
	State string
}

var (
	// batchHeader is the header of a batch message, "SpO₂: 3 changes: …".
	batchHeader = regexp.MustCompile(`^SpO₂: [0-9]+ changes?\b`)
	// eventLine is an event section, ":red_circle: *unhealthy* `URL` …".
	eventLine = regexp.MustCompile("^:[a-z_]+: \\*([a-z]+)\\* `(https?://[^`]+)`")
)

// SlackLines returns the event lines of the batch messages in msgs, in
// order (what the fake Slack of actors/slack/slacktest received), and how
// many messages were something else: mass-failure notices and their
// recoveries, whose lines are a sample rather than one line per event.
func SlackLines(msgs []slack.Message) (lines []SlackLine, others int) {
	for _, m := range msgs {
		if len(m.Blocks) == 0 || m.Blocks[0].Text == nil || !batchHeader.MatchString(m.Blocks[0].Text.Text) {
			others++
			continue
		}
		for _, b := range m.Blocks[1:] {
			if b.Type != "section" || b.Text == nil {
				continue
			}
			if l := eventLine.FindStringSubmatch(b.Text.Text); l != nil {
				lines = append(lines, SlackLine{URL: l[2], State: l[1]})
			}
		}
	}
	return lines, others
}
