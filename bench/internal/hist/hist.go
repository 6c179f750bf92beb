// Package hist is a lock-free log-linear histogram of durations, cheap
// enough to record on a target server's hot path.
package hist

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// subBits sets the resolution of Hist: 2^subBits buckets per power of two,
// i.e. a relative error under 1/2^subBits (12.5 %).
const subBits = 3

const histBuckets = 64 << subBits

// Hist is a lock-free log-linear histogram of durations in microseconds. It
// is cheap enough to record on the farm's hot path.
type Hist struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	sum    atomic.Uint64
	max    atomic.Uint64
}

func bucketOf(v uint64) int {
	if v < 1<<subBits {
		return int(v)
	}
	e := bits.Len64(v) - 1
	sub := (v >> (e - subBits)) & (1<<subBits - 1)
	return (e-subBits+1)<<subBits + int(sub)
}

func bucketLow(i int) uint64 {
	if i < 1<<subBits {
		return uint64(i)
	}
	e := i>>subBits + subBits - 1
	sub := uint64(i & (1<<subBits - 1))
	return 1<<e | sub<<(e-subBits)
}

// Record adds one duration (negative values count as zero).
func (h *Hist) Record(d time.Duration) {
	us := uint64(0)
	if d > 0 {
		us = uint64(d / time.Microsecond)
	}
	h.counts[bucketOf(us)].Add(1)
	h.n.Add(1)
	h.sum.Add(us)
	for {
		m := h.max.Load()
		if us <= m || h.max.CompareAndSwap(m, us) {
			break
		}
	}
}

// Reset forgets every recorded value.
func (h *Hist) Reset() {
	for i := range h.counts {
		h.counts[i].Store(0)
	}
	h.n.Store(0)
	h.sum.Store(0)
	h.max.Store(0)
}

// Count returns how many values were recorded.
func (h *Hist) Count() uint64 { return h.n.Load() }

// Quantile returns the q-quantile (0 < q ≤ 1), as the middle of its bucket.
func (h *Hist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	if rank < 1 {
		rank = 1
	}
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			lo, hi := bucketLow(i), bucketLow(i+1)
			mid := (lo + hi) / 2
			if m := h.max.Load(); mid > m {
				mid = m
			}
			return time.Duration(mid) * time.Microsecond
		}
	}
	return time.Duration(h.max.Load()) * time.Microsecond
}

// Max returns the largest recorded value.
func (h *Hist) Max() time.Duration { return time.Duration(h.max.Load()) * time.Microsecond }

// Summary is a histogram's digest in milliseconds, for the report.
type Summary struct {
	Count uint64  `json:"count"`
	P50ms float64 `json:"p50_ms"`
	P99ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// Summary digests h.
func (h *Hist) Summary() Summary {
	return Summary{Count: h.Count(), P50ms: ms(h.Quantile(0.50)), P99ms: ms(h.Quantile(0.99)), MaxMs: ms(h.Max())}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
