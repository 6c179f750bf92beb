package registry

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
	"github.com/spo2/spo2/persistence"
)

// TestApplyThroughput measures Apply against a real etcd on this machine,
// when SPO2_BENCH=1: registrations per second for one call of 10,000 and
// of 100,000, and for 1,000 concurrent single-op calls. It logs, it does
// not assert a speed.
func TestApplyThroughput(t *testing.T) {
	if os.Getenv("SPO2_BENCH") != "1" {
		t.Skip("set SPO2_BENCH=1 to measure")
	}
	e := harness.StartEtcd(t)
	var mu sync.Mutex
	txns := 0
	r, err := Open(Config{Endpoints: []string{e.Endpoint}, Prefix: testPrefix, Log: quiet,
		Observer: func(time.Duration, int) { mu.Lock(); txns++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	measure := func(name string, n int, run func()) {
		mu.Lock()
		txns = 0
		mu.Unlock()
		start := time.Now()
		run()
		d := time.Since(start)
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%-34s %7d URLs in %8s: %7.0f URLs/s, %d transactions", name, n, d.Round(time.Millisecond), float64(n)/d.Seconds(), txns)
	}
	for _, n := range []int{10_000, 100_000} {
		ops := make([]persistence.Op, n)
		for i := range ops {
			url := fmt.Sprintf("http://bench-%d.example.com:8080/health/%07d", n, i)
			ops[i] = persistence.Op{URL: url, Reg: reg(url, `{"customer":"acme","team":"search","tier":1}`)}
		}
		measure("one call", n, func() { write(t, r, ops...) })
	}
	const calls = 1000
	measure("concurrent single-op calls", calls, func() {
		var wg sync.WaitGroup
		wg.Add(calls)
		for i := range calls {
			url := fmt.Sprintf("http://single.example.com/health/%04d", i)
			r.Apply([]persistence.Op{{URL: url, Reg: reg(url, `{}`)}}, func(err error) {
				if err != nil {
					t.Error(err)
				}
				wg.Done()
			})
		}
		wg.Wait()
	})
	snap := load(t, r)
	if len(snap.Regs) != 10_000+100_000+calls {
		t.Errorf("loaded %d registrations, want %d", len(snap.Regs), 10_000+100_000+calls)
	}
	measure("Load (one revision, pages of 2,000)", len(snap.Regs), func() { load(t, r) })
}
