package membership

import "slices"

// Member is one live member of the cluster: its name (CLUSTER_MEMBER), the
// address of its actor remoting (host:port) and its incarnation (a member
// restarted under the same name, even on the same address, is a new one).
type Member struct {
	Name        string
	Address     string
	Incarnation string
}

// View is what one member knows of the cluster at one moment: itself and
// the live members it sees (itself included), sorted by name. A View is
// immutable; each topology change makes a new one.
//
// Ownership is rendezvous hashing over the members' names: every member
// with the same list of names picks the same owner for a key, a key moves
// only when its owner leaves or when a joining member outranks it (about
// 1/N of the keys), and no coordination is needed. Names, not incarnations,
// are hashed, so a member that restarts under the same name gets the same
// URLs back.
type View struct {
	Self    Member
	Members []Member
	hashes  []uint64 // per member, the seed hash of its name
}

// NewView returns the view of self among members (self is added when
// missing; of several members with one name, the first is kept).
func NewView(self Member, members []Member) *View {
	v := &View{Self: self}
	seen := map[string]bool{}
	for _, m := range append([]Member{self}, members...) {
		if m.Name == "" || seen[m.Name] {
			continue
		}
		seen[m.Name] = true
		v.Members = append(v.Members, m)
	}
	slices.SortFunc(v.Members, func(a, b Member) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
	v.hashes = make([]uint64, len(v.Members))
	for i, m := range v.Members {
		v.hashes[i] = nameHash(m.Name)
	}
	return v
}

// Names returns the members' names, sorted.
func (v *View) Names() []string {
	out := make([]string, len(v.Members))
	for i, m := range v.Members {
		out[i] = m.Name
	}
	return out
}

// Owner returns the member that owns key.
func (v *View) Owner(key string) Member {
	best, bestScore := 0, uint64(0)
	k := keyHash(key)
	for i, h := range v.hashes {
		if s := mix(h ^ k); i == 0 || s > bestScore {
			best, bestScore = i, s
		}
	}
	return v.Members[best]
}

// Owns reports whether this member owns key.
func (v *View) Owns(key string) bool { return v.Owner(key).Name == v.Self.Name }

// Others returns every member but this one.
func (v *View) Others() []Member {
	out := make([]Member, 0, len(v.Members))
	for _, m := range v.Members {
		if m.Name != v.Self.Name {
			out = append(out, m)
		}
	}
	return out
}

// nameHash and keyHash are FNV-1a, 64 bits: the same in every process, as
// ownership must agree across members.
func nameHash(s string) uint64 { return fnv1a(s) }
func keyHash(s string) uint64  { return fnv1a(s) }

func fnv1a(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// mix is splitmix64's finaliser: it spreads a member's and a key's combined
// hash so that every member wins about as many keys.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
