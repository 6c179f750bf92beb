package actors

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
)

// SnapshotFrameRecords is how many snapshot events go in one frame.
const SnapshotFrameRecords = 1000

// snapshotShareAge is how long one snapshot may serve new subscribers while
// no event happens: clients connecting together (after a restart, say) share
// one encoding instead of each encoding every record.
const snapshotShareAge = time.Second

// SharedSnapshot is the read model captured at one moment, encoded once, a
// frame at a time, for every subscriber that receives it. Its records come
// failing first (unreachable and unhealthy), then pending, then healthy, each
// group ordered by URL; the last frame ends with {"type":"synced"}. Every
// event of it carries the seq of the last event published before it was
// taken: the snapshot shows every event up to that one. A snapshot taken for
// a label selector holds only the matching records and is not shared.
// A compact snapshot carries its records as "records" events (see
// CompactEncoder) instead of one "snapshot" event each.
//
// Encoding is streamed: Frame(i) encodes frames up to i when no one has yet,
// so the first frame can leave before the last record is encoded. A
// subscriber that arrives later replays the frames already encoded. All
// methods are safe for concurrent use.
type SharedSnapshot struct {
	taken time.Time
	seq   uint64
	sel   health.Selector // nil: every record
	// compact is the encoder of a compact snapshot, nil for the events of
	// the stream's contract; owned by the caller that set encoding.
	compact *CompactEncoder

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when a frame is added
	encoding bool          // a caller is encoding the next frame
	complete bool          // the frame with "synced" is in frames
	frames   []*SnapshotFrame

	// Owned by the caller that set encoding.
	refs    []readmodel.Ref
	ordered bool
	groups  []int // where each group of refs ends, once ordered
	sorted  int   // how many groups are sorted by URL
	next    int
	recs    []health.Record // a compact frame's records, reused
}

// SnapshotFrame is one frame of a snapshot, shared by its subscribers.
type SnapshotFrame struct {
	// Payload is a JSON array of events; it must not be modified.
	Payload []byte

	once       sync.Once
	compressed []byte
}

// Compressed returns Payload transformed by compress. The first caller
// computes it and every caller gets that result, so compress must be
// deterministic (it is for a deflate stream without context takeover).
func (f *SnapshotFrame) Compressed(compress func([]byte) []byte) []byte {
	f.once.Do(func() { f.compressed = compress(f.Payload) })
	return f.compressed
}

// newSharedSnapshot captures refs (in any order) taken at the moment at,
// after the event seq, keeping those whose labels match sel (all for nil);
// compact asks for the compact encoding.
func newSharedSnapshot(refs []readmodel.Ref, at time.Time, seq uint64, sel health.Selector, compact bool) *SharedSnapshot {
	s := &SharedSnapshot{taken: at, seq: seq, sel: sel, refs: refs, changed: make(chan struct{})}
	if compact {
		s.compact = NewCompactEncoder()
	}
	return s
}

// Frame returns frame i, encoding the frames before it that no one has
// encoded yet; ok is false when the snapshot has no frame i (the previous
// one held "synced"). It waits only for a frame another caller is encoding.
func (s *SharedSnapshot) Frame(i int) (frame *SnapshotFrame, ok bool) {
	s.mu.Lock()
	for {
		switch {
		case i < len(s.frames):
			f := s.frames[i]
			s.mu.Unlock()
			return f, true
		case s.complete:
			s.mu.Unlock()
			return nil, false
		case s.encoding:
			wait := s.changed
			s.mu.Unlock()
			<-wait
			s.mu.Lock()
		default:
			s.encoding = true
			s.mu.Unlock()
			s.encodeOne()
			s.mu.Lock()
		}
	}
}

// encodeOne encodes the next frame and adds it; only the caller that set
// s.encoding may call it. Waiters wake even if encoding panics.
func (s *SharedSnapshot) encodeOne() {
	var f *SnapshotFrame
	var last bool
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if f != nil {
			s.frames = append(s.frames, f)
			s.complete = last
		}
		s.encoding = false
		close(s.changed)
		s.changed = make(chan struct{})
	}()
	f, last = s.encodeNext()
}

// Encoded returns how many frames have been encoded so far.
func (s *SharedSnapshot) Encoded() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.frames)
}

// encodeNext encodes the next frame and reports whether it is the last; only
// the caller that set s.encoding may call it.
func (s *SharedSnapshot) encodeNext() (*SnapshotFrame, bool) {
	if !s.ordered {
		s.refs, s.groups = failingFirst(s.refs, s.sel)
		s.ordered = true
	}
	end := min(s.next+SnapshotFrameRecords, len(s.refs))
	// Each group is sorted when the first frame that holds part of it is
	// encoded, so the first frame waits for the failing URLs' sort only.
	for ; s.sorted < len(s.groups); s.sorted++ {
		start := 0
		if s.sorted > 0 {
			start = s.groups[s.sorted-1]
		}
		if start >= end {
			break
		}
		sortByURL(s.refs[start:s.groups[s.sorted]])
	}
	now := time.Now() // the uptimes of one frame, as of one moment
	if s.compact != nil {
		return s.encodeCompact(end, now)
	}
	frame := make([]byte, 0, 64+(end-s.next)*512)
	frame = append(frame, '[')
	var ev Snapshot
	for i := s.next; i < end; i++ {
		ev.Record = s.refs[i].RecordAt(now)
		frame = ev.AppendJSON(frame, s.seq)
		frame = append(frame, ',')
	}
	s.next = end
	last := end == len(s.refs)
	if last {
		frame = append(Synced{}.AppendJSON(frame, s.seq), ']')
		s.refs = nil
	} else {
		frame[len(frame)-1] = ']'
	}
	return &SnapshotFrame{Payload: frame}, last
}

// encodeCompact encodes the records up to end as the next frame of a
// compact snapshot and reports whether it is the last.
func (s *SharedSnapshot) encodeCompact(end int, now time.Time) (*SnapshotFrame, bool) {
	s.recs = s.recs[:0]
	for i := s.next; i < end; i++ {
		s.recs = append(s.recs, s.refs[i].RecordAt(now))
	}
	last := end == len(s.refs)
	frame := s.compact.AppendFrame(make([]byte, 0, 256+len(s.recs)*192), s.recs, s.seq, last)
	clear(s.recs) // the records hold custom data the frame no longer needs
	s.next = end
	if last {
		s.refs, s.recs, s.compact = nil, nil, nil
	}
	return &SnapshotFrame{Payload: frame}, last
}

// failingFirst reorders the refs whose labels match sel (all for nil) into
// failing, pending, then healthy refs, and returns where each of these
// groups ends.
func failingFirst(refs []readmodel.Ref, sel health.Selector) ([]readmodel.Ref, []int) {
	group := func(st health.State) int {
		switch {
		case st.Failing():
			return 0
		case st == health.Pending:
			return 1
		}
		return 2
	}
	keep := func(r readmodel.Ref) bool { return sel == nil || sel.Matches(r.Reg.Labels) }
	var at [3]int
	for _, r := range refs {
		if keep(r) {
			at[group(r.Status.State)]++
		}
	}
	ends := []int{at[0], at[0] + at[1], at[0] + at[1] + at[2]}
	at = [3]int{0, ends[0], ends[1]}
	out := make([]readmodel.Ref, ends[2])
	for _, r := range refs {
		if !keep(r) {
			continue
		}
		g := group(r.Status.State)
		out[at[g]] = r
		at[g]++
	}
	return out, ends
}

// sortByURL sorts refs by URL. Comparing keys held beside the refs, rather
// than behind their pointers, halves the cost on a large fleet.
func sortByURL(refs []readmodel.Ref) {
	type keyed struct {
		url string
		ref readmodel.Ref
	}
	keys := make([]keyed, len(refs))
	for i, r := range refs {
		keys[i] = keyed{r.Reg.URL, r}
	}
	slices.SortFunc(keys, func(a, b keyed) int { return strings.Compare(a.url, b.url) })
	for i := range keys {
		refs[i] = keys[i].ref
	}
}
