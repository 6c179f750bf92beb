package history

import (
	"encoding/binary"
	"fmt"
)

// The stored form of a log: a version byte, then each change, oldest first,
// in encodedChange bytes: unix nanoseconds (int64), code (uint16), both
// little-endian, then state, previous and error kind (one byte each).
const (
	encodingVersion = 1
	encodedChange   = 13
)

// AppendBinary appends the log's stored form to b.
func (l *Log) AppendBinary(b []byte) []byte {
	b = append(b, encodingVersion)
	if l == nil {
		return b
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.buf)
	for i := range n {
		c := l.buf[(int(l.start)+i)%n]
		b = binary.LittleEndian.AppendUint64(b, uint64(c.nanos()))
		b = binary.LittleEndian.AppendUint16(b, c.code)
		b = append(b, c.pair>>4, c.pair&0xf, c.kind)
	}
	return b
}

// Decode reads a stored log back, keeping the newest limit changes and
// dropping those before notBefore (unix nanoseconds): changes of an earlier
// registration of the same URL. It returns nil, without error, when nothing
// is left.
func Decode(b []byte, limit int, notBefore int64) (*Log, error) {
	if len(b) == 0 || b[0] != encodingVersion || (len(b)-1)%encodedChange != 0 {
		return nil, fmt.Errorf("history of %d bytes is not in the stored form (version %d, %d bytes a change)",
			len(b), encodingVersion, encodedChange)
	}
	b = b[1:]
	n := len(b) / encodedChange
	skip := 0
	for skip < n && int64(binary.LittleEndian.Uint64(b[skip*encodedChange:])) < notBefore {
		skip++
	}
	if limit <= 0 {
		limit = DefaultLimit
	}
	skip = max(skip, n-min(limit, MaxLimit))
	if skip >= n {
		return nil, nil
	}
	changes := make([]Change, 0, n-skip)
	for i := skip; i < n; i++ {
		e := b[i*encodedChange:]
		c := Change{code: binary.LittleEndian.Uint16(e[8:]), pair: e[10]<<4 | e[11]&0xf, kind: e[12]}
		c.setAt(int64(binary.LittleEndian.Uint64(e)))
		changes = append(changes, c)
	}
	l := New(limit)
	l.buf = changes
	return l, nil
}
