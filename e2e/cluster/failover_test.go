package cluster

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// testFailOver: kill -9 one member; every URL it owned is probed by a
// survivor within the membership timeout plus two intervals, and the fake
// Slack gets each state change exactly once across the fail-over: changes
// made before the kill (announced before it) are not repeated by the new
// owners, and changes made right after it are announced once.
func testFailOver(t *testing.T, s *scene) {
	s.c.whole(t)
	const victim = "m3"
	now := time.Now()
	harness.Eventually(t, 30*time.Second, "every URL of the fleet probed once more", func() bool {
		return s.farm.probedSince(s.fleet, now)
	})
	owners := s.farm.owners(s.fleet)
	mine := ownedBy(owners, victim)
	var others []string
	for _, name := range s.c.names {
		if name != victim {
			others = append(others, ownedBy(owners, name)...)
		}
	}
	if len(mine) < 8 || len(others) < 4 {
		t.Fatalf("%s owns %d URLs, the others %d: too few to test a fail-over", victim, len(mine), len(others))
	}
	msgsBefore := len(s.slack.Messages())
	want := map[string][]string{} // URL → the states Slack must show, in order

	// Before the kill: four URLs of the victim and four of the others fail,
	// and Slack says so.
	before := append(slices.Clone(mine[:4]), others[:4]...)
	for _, p := range before {
		s.farm.fail(p)
		want[s.farm.url(p)] = []string{"unhealthy"}
	}
	awaitSlack(t, s, msgsBefore, want, "the failures before the kill")
	// The batcher records what Slack accepted (in etcd) just after Slack's
	// answer, and counts the message after that: a kill between the two
	// would announce those changes again (docs/cluster.md), so the kill
	// comes once every message is counted.
	harness.Eventually(t, 10*time.Second, "the messages Slack received counted as delivered", func() bool {
		return s.c.slackDelivered(t) >= len(s.slack.Messages())
	})

	s.c.kill(victim)
	killed := time.Now()
	// After it: four more URLs of the victim fail; two failing URLs of the
	// victim and one of the others recover.
	for _, p := range mine[4:8] {
		s.farm.fail(p)
		want[s.farm.url(p)] = []string{"unhealthy"}
	}
	for _, p := range []string{mine[0], mine[1], others[0]} {
		s.farm.heal(p)
		want[s.farm.url(p)] = append(want[s.farm.url(p)], "healthy")
	}
	t.Cleanup(func() {
		for _, p := range append(before, mine[4:8]...) {
			s.farm.heal(p)
		}
	})

	bound := leaseTTL + 2*interval
	harness.Eventually(t, bound+20*time.Second, fmt.Sprintf("every URL of %s probed by a survivor", victim), func() bool {
		for _, p := range mine {
			if _, ok := s.farm.firstProbe(p, killed, victim); !ok {
				return false
			}
		}
		return true
	})
	var worst time.Duration
	var late []string
	for _, p := range mine {
		pr, _ := s.farm.firstProbe(p, killed, victim)
		d := pr.at.Sub(killed)
		worst = max(worst, d)
		if d > bound {
			late = append(late, fmt.Sprintf("%s after %s by %s", p, d.Round(time.Millisecond), pr.member))
		}
	}
	t.Logf("the %d URLs of %s were all probed by survivors %s after the kill (bound %s)", len(mine), victim, worst.Round(time.Millisecond), bound)
	if len(late) > 0 {
		t.Errorf("%d of %d URLs of %s first probed by a survivor later than %s after the kill: %v", len(late), len(mine), victim, bound, first(late, 5))
	}

	awaitSlack(t, s, msgsBefore, want, "the changes across the fail-over")
	// Nothing more comes: two intervals and many batch windows.
	harness.Holds(t, 2*interval, "Slack shows each change exactly once", func() bool {
		got, others := slackSince(s, msgsBefore)
		return others == 0 && equalStates(got, want)
	})
}

// awaitSlack waits until the Slack messages after the first skip show, for
// every URL of want, at least its states, then fails the test unless they
// show exactly want (nothing about other URLs, no state twice, no
// mass-failure notice).
func awaitSlack(t *testing.T, s *scene, skip int, want map[string][]string, what string) {
	t.Helper()
	var got map[string][]string
	var others int
	harness.Poll(20*time.Second, func() bool {
		got, others = slackSince(s, skip)
		for u, states := range want {
			if len(got[u]) < len(states) {
				return false
			}
		}
		return true
	})
	if others != 0 || !equalStates(got, want) {
		bodies := s.slack.Bodies()[skip:]
		t.Fatalf("Slack after %s: %d other messages; %s; first message: %.1500s",
			what, others, diffStates(got, want), strings.Join(first(bodies, 1), ""))
	}
}

// diffStates shows, for at most ten URLs each, what got lacks and what it
// has beyond want.
func diffStates(got, want map[string][]string) string {
	var wrong, extra []string
	for u, states := range want {
		if !slices.Equal(got[u], states) {
			wrong = append(wrong, fmt.Sprintf("%s %v, want %v", u, got[u], states))
		}
	}
	for u, states := range got {
		if _, ok := want[u]; !ok {
			extra = append(extra, fmt.Sprintf("%s %v", u, states))
		}
	}
	slices.Sort(wrong)
	slices.Sort(extra)
	return fmt.Sprintf("%d URLs with other states than wanted %v; %d URLs not wanted at all %v",
		len(wrong), first(wrong, 10), len(extra), first(extra, 10))
}

// slackSince returns the states Slack's batch messages after the first skip
// announced, by URL, and how many other messages came.
func slackSince(s *scene, skip int) (map[string][]string, int) {
	lines, others := harness.SlackLines(s.slack.Messages()[skip:])
	got := map[string][]string{}
	for _, l := range lines {
		got[l.URL] = append(got[l.URL], l.State)
	}
	return got, others
}

func equalStates(a, b map[string][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if !slices.Equal(v, b[k]) {
			return false
		}
	}
	return true
}

// testRejoin: the killed member comes back; the URLs are rebalanced (it
// probes a share of them again), and one interval after every member has
// seen it, no URL is probed by two members.
func testRejoin(t *testing.T, s *scene) {
	const victim = "m3"
	if slices.Contains(s.c.running(), victim) {
		// The fail-over subtest did not get as far as the kill.
		s.c.kill(victim)
		s.c.awaitMembers(t)
	}
	restarted := time.Now()
	seen := s.c.restart(t, victim)
	t.Logf("%s restarted and listed by every member in %s", victim, seen.Sub(restarted).Round(time.Millisecond))
	from := seen.Add(interval)
	to := from.Add(3 * interval)
	time.Sleep(time.Until(to)) // the counting window itself
	got := s.farm.tally(s.fleet, from, to)
	t.Logf("from one interval after the rejoin, for %s: %s", to.Sub(from), got)
	if len(got.unprobed) > 0 || len(got.shared) > 0 {
		t.Errorf("want every URL probed by exactly one member; %d unprobed %v, %d probed by several %v",
			len(got.unprobed), first(got.unprobed, 5), len(got.shared), first(got.shared, 5))
	}
	if got.owned[victim] < len(s.fleet)/6 {
		t.Errorf("%s probes %d URLs after its rejoin, want about a third of %d", victim, got.owned[victim], len(s.fleet))
	}
}
