package actors

import (
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
// group ordered by URL; the last frame ends with {"type":"synced"}.
//
// Encoding is streamed: Frame(i) encodes frames up to i when no one has yet,
// so the first frame can leave before the last record is encoded. A
// subscriber that arrives later replays the frames already encoded. All
// methods are safe for concurrent use.
type SharedSnapshot struct {
	taken time.Time

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced when a frame is added
	encoding bool          // a caller is encoding the next frame
	complete bool          // the frame with "synced" is in frames
	frames   []*SnapshotFrame

	// Owned by the caller that set encoding.
	refs    []readmodel.Ref
	ordered bool
	next    int
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

// newSharedSnapshot captures refs (sorted by URL) taken at the moment at.
func newSharedSnapshot(refs []readmodel.Ref, at time.Time) *SharedSnapshot {
	return &SharedSnapshot{taken: at, refs: refs, changed: make(chan struct{})}
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
			f, last := s.encodeNext()
			s.mu.Lock()
			s.frames = append(s.frames, f)
			s.complete = last
			s.encoding = false
			close(s.changed)
			s.changed = make(chan struct{})
		}
	}
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
		s.refs = failingFirst(s.refs)
		s.ordered = true
	}
	end := min(s.next+SnapshotFrameRecords, len(s.refs))
	frame := make([]byte, 0, 64+(end-s.next)*600)
	frame = append(frame, '[')
	for i := s.next; i < end; i++ {
		ev := Snapshot{Record: s.refs[i].Record()}
		frame = ev.AppendJSON(frame)
		frame = append(frame, ',')
	}
	s.next = end
	last := end == len(s.refs)
	if last {
		frame = append(Synced{}.AppendJSON(frame), ']')
		s.refs = nil
	} else {
		frame[len(frame)-1] = ']'
	}
	return &SnapshotFrame{Payload: frame}, last
}

// failingFirst reorders refs (sorted by URL) into failing, pending, then
// healthy refs, keeping the URL order within each group.
func failingFirst(refs []readmodel.Ref) []readmodel.Ref {
	out := make([]readmodel.Ref, 0, len(refs))
	for _, group := range []func(health.State) bool{
		health.State.Failing,
		func(s health.State) bool { return s == health.Pending },
		func(s health.State) bool { return !s.Failing() && s != health.Pending },
	} {
		for _, r := range refs {
			if group(r.Status.State) {
				out = append(out, r)
			}
		}
	}
	return out
}
