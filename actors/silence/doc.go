// Package silence holds the silences: time-bounded mutes of Slack messages
// for one URL or for every URL whose labels match a selector. A silenced URL
// is still probed and streamed; only Slack stays quiet about it
// (docs/slack.md, "Silences").
//
// A Set is an immutable view of the active silences that answers "is this
// URL silenced?" cheaply; a Book owns the active silences, stores them
// durably, ends them on time, and says so.
package silence
