package farm

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxMembers bounds the distinct cluster member names the farm tells apart;
// probes from further names count as from no member.
const maxMembers = 16

// members tells probes apart by the cluster member named in their
// User-Agent ("SpO2/1 (health probe; member=<name>)"): a count per member
// and, per URL, which member probed it last.
type members struct {
	mu     sync.RWMutex
	index  map[string]uint32 // name → 1…maxMembers
	names  []string          // index−1 → name
	counts [maxMembers + 1]atomic.Int64
	lastBy []atomic.Uint32 // per URL: index of the last prober, 0 = none or no member
}

func newMembers(urls int) *members {
	return &members{index: map[string]uint32{}, lastBy: make([]atomic.Uint32, urls)}
}

// memberOf returns the member name in a probe's User-Agent, "" when none.
func memberOf(ua string) string {
	_, rest, ok := strings.Cut(ua, "member=")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, ")")
	return name
}

func (m *members) record(id int, ua string) {
	i := m.intern(memberOf(ua))
	m.counts[i].Add(1)
	m.lastBy[id].Store(i)
}

// intern returns the index of name, adding it when there is room.
func (m *members) intern(name string) uint32 {
	if name == "" {
		return 0
	}
	m.mu.RLock()
	i, ok := m.index[name]
	m.mu.RUnlock()
	if ok {
		return i
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if i, ok := m.index[name]; ok {
		return i
	}
	if len(m.names) == maxMembers {
		return 0
	}
	m.names = append(m.names, name)
	i = uint32(len(m.names))
	m.index[name] = i
	return i
}

// MemberCounts returns the requests each cluster member has made so far, by
// the name in their User-Agent; probes without a member name are not in it.
func (f *Farm) MemberCounts() map[string]int64 {
	f.members.mu.RLock()
	defer f.members.mu.RUnlock()
	out := make(map[string]int64, len(f.members.names))
	for i, name := range f.members.names {
		out[name] = f.members.counts[i+1].Load()
	}
	return out
}

// LastProbedBy returns the ids among the first n URLs whose latest probe
// came from member.
func (f *Farm) LastProbedBy(member string, n int) []int {
	f.members.mu.RLock()
	i, ok := f.members.index[member]
	f.members.mu.RUnlock()
	if !ok {
		return nil
	}
	var ids []int
	for id := range min(n, len(f.urls)) {
		if f.members.lastBy[id].Load() == i {
			ids = append(ids, id)
		}
	}
	return ids
}

// LastProbe returns when URL id was last requested and the cluster member
// that requested it ("" for none); ok is false when it never was.
func (f *Farm) LastProbe(id int) (at time.Time, member string, ok bool) {
	ns := f.last[id].Load()
	if ns == 0 {
		return time.Time{}, "", false
	}
	if i := f.members.lastBy[id].Load(); i > 0 {
		f.members.mu.RLock()
		member = f.members.names[i-1]
		f.members.mu.RUnlock()
	}
	return f.start.Add(time.Duration(ns)), member, true
}
