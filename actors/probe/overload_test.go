package probe

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

type logBuffer struct{ strings.Builder }

func newTestOverload(now *time.Time) (*Overload, *logBuffer) {
	var buf logBuffer
	o := NewOverload(slog.New(slog.NewTextHandler(&buf, nil)))
	o.now = func() time.Time { return *now }
	return o, &buf
}

func TestOverloadStateAndHold(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	o, logs := newTestOverload(&now)
	start := now
	if o.Overloaded() || o.Doubtful(start) {
		t.Fatal("overloaded before any sign")
	}
	now = now.Add(time.Second)
	o.Signal("scheduler stalled 300ms")
	now = now.Add(time.Second)
	o.Signal("scheduler stalled 250ms")
	if ok, since, reason := o.State(); !ok || !since.Equal(start.Add(time.Second)) || reason != "scheduler stalled 300ms" {
		t.Fatalf("State() = %v %v %q", ok, since, reason)
	}
	tests := []struct {
		after        time.Duration // from the last sign
		probeStart   time.Duration // relative to the last sign
		overloaded   bool
		inconclusive bool
	}{
		{after: time.Second, probeStart: -2 * time.Second, overloaded: true, inconclusive: true},
		{after: OverloadHold - time.Millisecond, probeStart: -OverloadHold, overloaded: true, inconclusive: true},
		{after: OverloadHold, probeStart: time.Second, overloaded: false, inconclusive: true},                     // started within the hold
		{after: 2 * OverloadHold, probeStart: OverloadHold + time.Second, overloaded: false, inconclusive: false}, // started after it
	}
	last := now
	for _, tc := range tests {
		now = last.Add(tc.after)
		if got := o.Overloaded(); got != tc.overloaded {
			t.Errorf("%s after the last sign: overloaded %v, want %v", tc.after, got, tc.overloaded)
		}
		if got := o.Doubtful(last.Add(tc.probeStart)); got != tc.inconclusive {
			t.Errorf("probe started %s from the last sign: doubtful %v, want %v", tc.probeStart, got, tc.inconclusive)
		}
	}
	if n := strings.Count(logs.String(), "spo2 overloaded"); n != 1 {
		t.Errorf("%d 'overloaded' log lines, want 1:\n%s", n, logs)
	}
	if n := strings.Count(logs.String(), "spo2 no longer overloaded"); n != 1 {
		t.Errorf("%d 'no longer overloaded' log lines, want 1:\n%s", n, logs)
	}
	var nilOverload *Overload
	nilOverload.Signal("ignored")
	if nilOverload.Overloaded() || nilOverload.Doubtful(now) {
		t.Error("the nil Overload is overloaded")
	}
}

// TestTimeoutDuringOverloadIsInconclusive injects a sign of overload while a
// probe waits on a target that never answers: its timeout is inconclusive.
// Without the sign, the same timeout counts.
func TestTimeoutDuringOverloadIsInconclusive(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // never answered
		}
	}()
	url := "http://" + ln.Addr().String() + "/"
	for _, overloaded := range []bool{false, true} {
		o := NewOverload(slog.New(slog.NewTextHandler(io.Discard, nil)))
		p := New(Options{Overload: o})
		done := make(chan health.Outcome)
		go func() { done <- p.Probe(context.Background(), url, time.Second, health.DefaultExpect) }()
		c := <-accepted // the probe is running
		if overloaded {
			o.Signal("test: injected stall")
		}
		out := <-done
		c.Close()
		p.Close()
		if out.Kind != health.KindTimeout || out.Inconclusive != overloaded {
			t.Fatalf("overload %v: outcome %+v, want a timeout with Inconclusive %v", overloaded, out, overloaded)
		}
	}
}
