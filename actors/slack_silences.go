package actors

import (
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
)

// How the Slack batcher honours silences. A change of a silenced URL is not
// queued: the URL is held, its last announced state unchanged. When a
// silence begins, the changes of the URLs it covers that are queued (not yet
// in flight) or part of an open mass failure are withdrawn the same way.
// When no silence covers a held URL any more (its silences ended, or its
// labels changed), its current state is announced if it differs from the
// last one announced, as an ordinary change: in the current batch window,
// under the batch and mass-failure rules.

// silenced reports whether a silence covers entry's URL now.
func (a *slackBatcher) silenced(entry *readmodel.Entry) bool {
	if a.cfg.Silences == nil {
		return false
	}
	reg := entry.Registration()
	return reg != nil && a.cfg.Silences.Silenced(reg.URL, reg.Labels)
}

// hold withholds a change of url, counted as suppressed.
func (a *slackBatcher) hold(url string) {
	a.held[url] = struct{}{}
	a.metrics.SlackSuppressed.Inc()
}

// onSilences follows a change of the silences: withdraw what is now
// silenced, release what no longer is.
func (a *slackBatcher) onSilences() {
	a.withdrawSilenced()
	for url := range a.held {
		a.release(url)
	}
}

// onRegistered follows a URL's new registration: its labels may have moved
// it into a silence or out of one.
func (a *slackBatcher) onRegistered(url string) {
	if a.cfg.Silences == nil {
		return
	}
	entry := a.model.Get(url)
	if entry == nil {
		return
	}
	if a.silenced(entry) {
		a.withdraw(url)
		return
	}
	a.release(url)
}

// withdrawSilenced withdraws the queued changes, and the mass-failure
// membership, of every silenced URL.
func (a *slackBatcher) withdrawSilenced() {
	if a.cfg.Silences == nil {
		return
	}
	urls := a.backlog.QueuedURLs()
	if a.incident != nil {
		urls = append(urls, a.incident.URLs()...)
	}
	for _, url := range urls {
		if entry := a.model.Get(url); entry != nil && a.silenced(entry) {
			a.withdraw(url)
		}
	}
}

// withdraw takes back url's queued changes and its part in an open mass
// failure, and holds it, when there is anything to take back.
func (a *slackBatcher) withdraw(url string) {
	dropped := a.backlog.Withdraw(url)
	if a.incident != nil && a.incident.Withdraw(url) {
		dropped = true
	}
	if !dropped {
		return
	}
	a.window.Forget(url)
	a.announced.Revert(url)
	a.hold(url)
}

// release announces held url's current state if no silence covers it any
// more and the state differs from the last one announced.
func (a *slackBatcher) release(url string) {
	if _, ok := a.held[url]; !ok {
		return
	}
	entry := a.model.Get(url)
	if entry == nil {
		delete(a.held, url)
		return
	}
	if a.silenced(entry) {
		return
	}
	delete(a.held, url)
	st := entry.Status()
	if st == nil || (st.State != health.Healthy && !st.State.Failing()) {
		return
	}
	last := a.announced.Last(url)
	if st.State == last {
		return
	}
	a.queue(StatusChanged{URL: url, State: st.State, Previous: last, Code: st.Code, Error: st.Error,
		ErrorKind: st.ErrorKind, LatencyMS: st.LatencyMS, At: st.Since}, true)
}
