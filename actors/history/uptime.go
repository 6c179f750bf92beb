package history

import (
	"math"
	"math/bits"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// The uptime windows.
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
)

// Uptime returns the share of time the URL spent healthy in the last Day and
// Week up to now, each counted from the later of the window's start and
// created (when the URL was registered). current is the URL's state now.
//
// The timeline is read from the log, newest change first: from the newest
// change to now the URL is in current; between two changes, in the state the
// newer one left; before the oldest change kept, in the state that change
// left (with no change at all, in current). Only time under a verdict
// counts: healthy time over healthy, unhealthy and unreachable time. Pending
// and paused time (and any other state) count for neither. A window without
// time under a verdict is NaN. Shares are rounded down to six decimals, so 1
// means no failing time at all.
//
// A URL whose current state is pending has no uptime: the zero Uptime.
func (l *Log) Uptime(created time.Time, current health.State, now time.Time) health.Uptime {
	if current == health.Pending {
		return health.Uptime{}
	}
	end := now.UnixNano()
	from := [2]int64{end - int64(Day), end - int64(Week)}
	if c := created.UnixNano(); !created.IsZero() {
		from[0], from[1] = max(from[0], c), max(from[1], c)
	}
	t := tally{from: from}
	state := verdictOf(current)
	if l != nil {
		earliest := min(from[0], from[1])
		l.mu.Lock()
		n := len(l.buf)
		for i := 0; i < n && end > earliest; i++ {
			j := int(l.start) - 1 - i // newest first
			if j < 0 {
				j += n
			}
			c := &l.buf[j]
			if at := c.nanos(); at < end {
				t.add(state, at, end)
				end = at
			}
			state = verdicts[c.pair&0xf]
		}
		l.mu.Unlock()
	}
	t.add(state, math.MinInt64, end)
	return health.Uptime{Known: true, Day: share(t.healthy[0], t.judged[0]), Week: share(t.healthy[1], t.judged[1])}
}

// tally sums healthy and judged time in each window, from from to now.
type tally struct {
	from, healthy, judged [2]int64
}

// add counts [start, stop) in state v.
func (t *tally) add(v verdict, start, stop int64) {
	if v == noVerdict {
		return
	}
	for w := range t.from {
		if d := stop - max(start, t.from[w]); d > 0 {
			t.judged[w] += d
			if v == wasHealthy {
				t.healthy[w] += d
			}
		}
	}
}

// verdict is how a state counts for uptime.
type verdict uint8

const (
	noVerdict  verdict = iota // pending, paused, unknown: counts for nothing
	wasHealthy                // counts as healthy time
	wasFailing                // counts as failing time
)

// verdicts is verdictOf of every entry of states, by index.
var verdicts = func() (v [16]verdict) {
	for i, s := range states {
		v[i] = verdictOf(s)
	}
	return v
}()

func verdictOf(s health.State) verdict {
	switch {
	case s == health.Healthy:
		return wasHealthy
	case s.Failing():
		return wasFailing
	}
	return noVerdict
}

// share is part/whole rounded down to six decimals, NaN when whole is 0.
func share(part, whole int64) float64 {
	if whole <= 0 {
		return math.NaN()
	}
	hi, lo := bits.Mul64(uint64(part), 1_000_000)
	millionths, _ := bits.Div64(hi, lo, uint64(whole))
	return float64(millionths) / 1e6
}
