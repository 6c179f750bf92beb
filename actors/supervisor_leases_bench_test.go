package actors

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/persistence"
)

// BenchmarkLeaseExpiry100k measures how late 100,000 leases, due within one
// window (1s, 10s), expire: from each lease's deadline to its removed event,
// after the durable write and the checker's stop. It reports the
// percentiles; it asserts nothing. Run it alone:
// go test -run XXX -bench LeaseExpiry100k -benchtime 1x ./actors/
func BenchmarkLeaseExpiry100k(b *testing.B) {
	for _, window := range []time.Duration{time.Second, 10 * time.Second} {
		b.Run(window.String(), func(b *testing.B) { benchLeaseExpiry(b, 100_000, window) })
	}
}

func benchLeaseExpiry(b *testing.B, n int, window time.Duration) {
	for range b.N {
		start := time.Now().UTC().Add(5 * time.Second) // after 100,000 checkers have started
		slow := fastSettings
		slow.Interval, slow.Timeout = time.Hour, time.Second // no probe during the run
		loaded := make([]persistence.Loaded, n)
		due := make(map[string]time.Time, n)
		for i := range loaded {
			u := fmt.Sprintf("http://127.0.0.1:1/lease/%d", i)
			at := start.Add(time.Duration(i) * window / time.Duration(n))
			loaded[i] = persistence.Loaded{Reg: health.Registration{URL: u, Data: []byte("null"), Probe: slow,
				CreatedAt: start, UpdatedAt: start, Lease: &health.Lease{TTL: time.Hour, ExpiresAt: at}}}
			due[u] = at
		}
		e := startEngine(b, loaded, "")
		var mu sync.Mutex
		late := make([]time.Duration, 0, n)
		done := make(chan struct{})
		sink := e.system.Root.Spawn(actor.PropsFromFunc(func(c actor.Context) {
			if r, ok := c.Message().(Removed); ok && r.Reason == RemovalReasonExpired {
				mu.Lock()
				late = append(late, time.Since(due[r.URL]))
				if len(late) == n {
					close(done)
				}
				mu.Unlock()
			}
		}))
		e.system.Root.Send(e.broadcaster, SubscribeActor{PID: sink})
		if time.Now().After(start) {
			b.Fatalf("start-up took past the first deadline")
		}
		select {
		case <-done:
		case <-time.After(time.Until(start.Add(window)) + time.Minute):
			b.Fatalf("%d of %d leases expired", len(late), n)
		}
		mu.Lock()
		slices.Sort(late)
		pct := func(p float64) time.Duration { return late[int(p*float64(len(late)-1))] }
		b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(pct(0.99).Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(late[len(late)-1].Microseconds())/1000, "max-ms")
		b.Logf("%d leases due within %s: late by p50 %s, p99 %s, max %s, min %s", n, window, pct(0.5), pct(0.99),
			late[len(late)-1], late[0])
		mu.Unlock()
	}
}
