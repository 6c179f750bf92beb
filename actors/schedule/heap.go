package schedule

// slot is a timer's place in the heap: its due time beside its pointer, so
// ordering the heap never reads the timers themselves.
type slot struct {
	at int64
	t  *Timer
}

// valid reports whether the slot is its timer's current one: the timer is
// armed and due when the slot says. A timer stopped (or stopped and armed
// again) leaves a stale slot behind.
func (sl slot) valid() bool { return sl.t.fire != nil && sl.t.at == sl.at }

// slots is a 4-ary min-heap on at: shallower than a binary heap, and a
// node's children share a cache line or two.
type slots []slot

func (h *slots) push(sl slot) {
	*h = append(*h, sl)
	h.up(len(*h) - 1)
}

// popRoot removes the earliest slot.
func (h *slots) popRoot() {
	old := *h
	n := len(old) - 1
	old[0] = old[n]
	old[n] = slot{}
	*h = old[:n]
	if n > 0 {
		h.down(0)
	}
}

func (h slots) up(i int) {
	for i > 0 {
		p := (i - 1) / 4
		if h[p].at <= h[i].at {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

func (h slots) down(i int) {
	n := len(h)
	for {
		c := 4*i + 1
		if c >= n {
			return
		}
		m := c
		for j := c + 1; j < c+4 && j < n; j++ {
			if h[j].at < h[m].at {
				m = j
			}
		}
		if h[m].at >= h[i].at {
			return
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
}

// dropStale removes every stale slot and restores the heap order.
func (h *slots) dropStale() {
	old := *h
	n := 0
	for _, sl := range old {
		if sl.valid() {
			old[n] = sl
			n++
		}
	}
	clear(old[n:])
	*h = old[:n]
	for i := (n - 2) / 4; i >= 0; i-- {
		h.down(i)
	}
}
