package slack

import (
	"fmt"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// MassFailure describes many URLs failing within one batch window.
type MassFailure struct {
	Failed     int                  // distinct URLs that turned failing
	Registered int                  // URLs registered at the time
	Window     time.Duration        // the batch window they failed within
	ByState    map[health.State]int // failing URLs per new state
	Sample     []Event              // the first events, at most SampleSize shown
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
