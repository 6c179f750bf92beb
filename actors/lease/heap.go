// Package lease keeps the deadlines of leased URLs: one heap ordered by due
// time, with at most one deadline per URL, so that finding the leases due
// costs O(log n) per lease instead of a scan of every registration.
package lease

import (
	"container/heap"
	"time"
)

// Heap holds one deadline per URL. Setting a URL's deadline again replaces
// the earlier one, so a renewed lease is never due at its old deadline. The
// zero Heap is empty and ready. Not safe for concurrent use: its owner (the
// supervisor) is one actor.
type Heap struct {
	items deadlines
	index map[string]*deadline
}

type deadline struct {
	url string
	due time.Time
	pos int // index in items
}

// Set makes url due at due, replacing any deadline it had.
func (h *Heap) Set(url string, due time.Time) {
	if d, ok := h.index[url]; ok {
		d.due = due
		heap.Fix(&h.items, d.pos)
		return
	}
	if h.index == nil {
		h.index = make(map[string]*deadline)
	}
	d := &deadline{url: url, due: due}
	h.index[url] = d
	heap.Push(&h.items, d)
}

// Clear forgets url's deadline, if it has one.
func (h *Heap) Clear(url string) {
	d, ok := h.index[url]
	if !ok {
		return
	}
	heap.Remove(&h.items, d.pos)
	delete(h.index, url)
}

// Due reports url's deadline, and whether it has one.
func (h *Heap) Due(url string) (time.Time, bool) {
	d, ok := h.index[url]
	if !ok {
		return time.Time{}, false
	}
	return d.due, true
}

// Next returns the earliest deadline; ok is false when the heap is empty.
func (h *Heap) Next() (due time.Time, ok bool) {
	if len(h.items) == 0 {
		return time.Time{}, false
	}
	return h.items[0].due, true
}

// PopDue removes every deadline at or before now and appends their URLs to
// dst, earliest first.
func (h *Heap) PopDue(now time.Time, dst []string) []string {
	for len(h.items) > 0 && !h.items[0].due.After(now) {
		d := heap.Pop(&h.items).(*deadline)
		delete(h.index, d.url)
		dst = append(dst, d.url)
	}
	return dst
}

// Len returns the number of deadlines.
func (h *Heap) Len() int { return len(h.items) }

type deadlines []*deadline

func (s deadlines) Len() int           { return len(s) }
func (s deadlines) Less(i, j int) bool { return s[i].due.Before(s[j].due) }
func (s deadlines) Swap(i, j int) {
	s[i], s[j] = s[j], s[i]
	s[i].pos, s[j].pos = i, j
}
func (s *deadlines) Push(x any) {
	d := x.(*deadline)
	d.pos = len(*s)
	*s = append(*s, d)
}
func (s *deadlines) Pop() any {
	old := *s
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*s = old[:len(old)-1]
	return d
}
