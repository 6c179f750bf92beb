package actors

import (
	"encoding/json"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/probe"
)

// TestTimeoutsWhileOverloadedAreNotCounted injects scheduler stalls and
// probes a target that never answers: its timeouts are counted as
// inconclusive and never turn the URL unreachable (the first verdict would
// do so at once).
func TestTimeoutsWhileOverloadedAreNotCounted(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // never answered
		}
	}()
	e := startEngine(t, nil, "")
	overload := probe.NewOverload(quietLog)
	e.deps.Prober = probe.New(probe.Options{Overload: overload})
	// Every probe (300ms) sees an injected stall of its whole timeout.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				overload.Stalled(time.Second)
			}
		}
	}()
	url := "http://" + ln.Addr().String() + "/"
	e.register(t, RegisterItem{URL: url, Data: json.RawMessage(`null`)})
	deadline := time.Now().Add(5 * time.Second)
	for testutil.ToFloat64(e.metrics.ProbesInconclusive) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%v inconclusive probes after 5s, want 2", testutil.ToFloat64(e.metrics.ProbesInconclusive))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := e.model.Get(url).Status(); st.State != health.Pending || st.CheckedAt != nil {
		t.Fatalf("status %+v after inconclusive probes, want pending and never checked", st)
	}
	if n := testutil.ToFloat64(e.metrics.ProbeOutcome("timeout")); n != 0 {
		t.Fatalf("%v probes counted as timeouts", n)
	}
}
