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
	var healthy, judged [2]int64
	add := func(s health.State, start, stop int64) {
		if s != health.Healthy && !s.Failing() {
			return
		}
		for w := range from {
			if d := stop - max(start, from[w]); d > 0 {
				judged[w] += d
				if s == health.Healthy {
					healthy[w] += d
				}
			}
		}
	}
	state := current
	earliest := min(from[0], from[1])
	l.each(func(c Change) bool {
		if at := c.nanos(); at < end {
			add(state, at, end)
			end = at
		}
		state = c.Previous()
		return end > earliest
	})
	add(state, math.MinInt64, end)
	return health.Uptime{Known: true, Day: share(healthy[0], judged[0]), Week: share(healthy[1], judged[1])}
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
