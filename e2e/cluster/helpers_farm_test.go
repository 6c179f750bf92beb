package cluster

import (
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// farm is one target server (harness.Target) standing for many watched
// URLs, one per path: it answers 200 unless the test flipped a path to 503,
// and records for each path which member probed it, and when, from the
// probe's User-Agent "SpO2/1 (health probe; member=<name>)".
type farm struct {
	target *harness.Target

	mu     sync.Mutex
	probes map[string][]probe // by path, in arrival order
}

// probe is one request the farm received.
type probe struct {
	member string // "?<User-Agent>" when the User-Agent names no member
	at     time.Time
}

// newFarm starts a farm on 127.0.0.1; it closes at the test's cleanup.
func newFarm(t *testing.T) *farm {
	f := &farm{probes: map[string][]probe{}}
	f.target = harness.NewObservedTarget(t, harness.Healthy, f.observe)
	return f
}

var probeAgent = regexp.MustCompile(`^SpO2/1 \(health probe; member=([^)]+)\)$`)

// memberOf returns the member a probe's User-Agent names, or "?" and the
// User-Agent when it names none.
func memberOf(userAgent string) string {
	if m := probeAgent.FindStringSubmatch(userAgent); m != nil {
		return m[1]
	}
	return "?" + userAgent
}

func (f *farm) observe(r *http.Request) {
	p := probe{member: memberOf(r.UserAgent()), at: time.Now()}
	f.mu.Lock()
	f.probes[r.URL.Path] = append(f.probes[r.URL.Path], p)
	f.mu.Unlock()
}

// url returns the watched URL of path.
func (f *farm) url(path string) string { return f.target.URL(path) }

// paths returns n paths under prefix: prefix+"0" … prefix+"<n-1>".
func paths(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	return out
}

// fail makes path answer 503 from now on; heal makes it answer 200.
func (f *farm) fail(path string) { f.target.SetPathCode(path, http.StatusServiceUnavailable) }
func (f *farm) heal(path string) { f.target.SetPathCode(path, http.StatusOK) }

// history returns a copy of path's probes.
func (f *farm) history(path string) []probe {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.probes[path])
}

// owners returns, for each path, the member of its latest probe ("" when
// never probed).
func (f *farm) owners(paths []string) map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string]string, len(paths))
	for _, p := range paths {
		if h := f.probes[p]; len(h) > 0 {
			out[p] = h[len(h)-1].member
		} else {
			out[p] = ""
		}
	}
	return out
}

// ownedBy returns the paths whose latest probe came from member, sorted.
func ownedBy(owners map[string]string, member string) []string {
	var out []string
	for p, m := range owners {
		if m == member {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return out
}

// firstProbe returns the first probe of path at or after from by a member
// other than not.
func (f *farm) firstProbe(path string, from time.Time, not string) (probe, bool) {
	for _, p := range f.history(path) {
		if !p.at.Before(from) && p.member != not {
			return p, true
		}
	}
	return probe{}, false
}

// lastProbe returns the time of the latest probe of any of paths (zero
// when none was probed).
func (f *farm) lastProbe(paths []string) time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var last time.Time
	for _, p := range paths {
		if h := f.probes[p]; len(h) > 0 && h[len(h)-1].at.After(last) {
			last = h[len(h)-1].at
		}
	}
	return last
}

// probedSince reports whether every path had a probe at or after from.
func (f *farm) probedSince(paths []string, from time.Time) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range paths {
		h := f.probes[p]
		if len(h) == 0 || h[len(h)-1].at.Before(from) {
			return false
		}
	}
	return true
}

// tally sums up the probes of paths in [from, to).
type tally struct {
	total     int            // probes
	owned     map[string]int // paths probed by each member (alone or not)
	unprobed  []string       // paths not probed at all
	shared    []string       // paths probed by more than one member, with who
	min, max  int            // fewest and most probes of one path
	perMember map[string]int // probes by each member
}

func (f *farm) tally(paths []string, from, to time.Time) tally {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := tally{owned: map[string]int{}, perMember: map[string]int{}, min: -1}
	for _, p := range paths {
		by := map[string]int{}
		n := 0
		for _, pr := range f.probes[p] {
			if !pr.at.Before(from) && pr.at.Before(to) {
				by[pr.member]++
				n++
			}
		}
		s.total += n
		if s.min < 0 || n < s.min {
			s.min = n
		}
		s.max = max(s.max, n)
		if n == 0 {
			s.unprobed = append(s.unprobed, p)
		}
		if len(by) > 1 {
			s.shared = append(s.shared, fmt.Sprintf("%s %v", p, by))
		}
		for m, k := range by {
			s.owned[m]++
			s.perMember[m] += k
		}
	}
	return s
}

// String shows the tally's numbers and at most five paths of each list.
func (s tally) String() string {
	members := slices.Sorted(maps.Keys(s.owned))
	var owned string
	for _, m := range members {
		owned += fmt.Sprintf(" %s:%d urls/%d probes", m, s.owned[m], s.perMember[m])
	}
	return fmt.Sprintf("%d probes, %d-%d per URL;%s; unprobed %d %v; shared %d %v",
		s.total, s.min, s.max, owned, len(s.unprobed), first(s.unprobed, 5), len(s.shared), first(s.shared, 5))
}

func first(s []string, n int) []string { return s[:min(n, len(s))] }
