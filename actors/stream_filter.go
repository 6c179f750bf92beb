package actors

import "github.com/spo2/spo2/actors/health"

// verdict is what a stream client with a label selector sees of one event.
type verdict int8

const (
	skip      verdict = iota // nothing: the event is about a URL it does not watch
	pass                     // the event as it is
	unmatched                // a removed event, reason "unmatched", for the event's URL
)

// judge says what a client whose selector is sel sees of e. Without a
// selector it sees every event. With one it sees the events of URLs whose
// labels match; a registered event whose new labels no longer match, for a
// URL whose previous ones did, becomes a removal (the URL leaves the
// client's view), and one whose new labels match is passed whatever they
// were (a URL entering the view gets its full record).
func judge(sel health.Selector, e Event) verdict {
	if sel == nil {
		return pass
	}
	switch e := e.(type) {
	case StatusChanged:
		return matchVerdict(sel.Matches(e.Labels))
	case Removed:
		return matchVerdict(sel.Matches(e.Labels))
	case Registered:
		switch {
		case sel.Matches(e.Record.Labels):
			return pass
		case !e.New && sel.Matches(e.Previous):
			return unmatched
		}
	}
	return skip
}

func matchVerdict(match bool) verdict {
	if match {
		return pass
	}
	return skip
}

// unmatchedRemoval is the removal a filtered client sees in place of e.
func unmatchedRemoval(e Event) Removed {
	r, _ := e.(Registered)
	return Removed{URL: r.Record.URL, Reason: RemovalReasonUnmatched}
}
