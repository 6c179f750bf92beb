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
	if o.Overloaded() {
		t.Fatal("overloaded before any sign")
	}
	first := now.Add(time.Second)
	now = first
	o.Stalled(StallThreshold / 2) // too short to count
	if o.Overloaded() {
		t.Fatal("a short stall made SpO₂ overloaded")
	}
	o.Stalled(300 * time.Millisecond)
	now = now.Add(time.Second)
	o.Signal("out of local resources: other: too many open files")
	if ok, since, reason := o.State(); !ok || !since.Equal(first) || reason != "scheduler stalled 300ms" {
		t.Fatalf("State() = %v %v %q", ok, since, reason)
	}
	last := now
	for _, tc := range []struct {
		after      time.Duration // from the last sign
		overloaded bool
	}{{time.Second, true}, {OverloadHold - time.Millisecond, true}, {OverloadHold, false}, {2 * OverloadHold, false}} {
		now = last.Add(tc.after)
		if got := o.Overloaded(); got != tc.overloaded {
			t.Errorf("%s after the last sign: overloaded %v, want %v", tc.after, got, tc.overloaded)
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
	nilOverload.Stalled(time.Hour)
	if nilOverload.Overloaded() || nilOverload.Doubtful(now, time.Second) {
		t.Error("the nil Overload is overloaded")
	}
}

func TestOverloadDoubtful(t *testing.T) {
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		stallAt  time.Duration // from the probe's start; the stall ends then
		stall    time.Duration
		overdue  time.Duration // heartbeat overdue when the probe ends (0: not running)
		timeout  time.Duration
		doubtful bool
	}{
		{name: "no stall", timeout: time.Second},
		{name: "stall during the probe", stallAt: 500 * time.Millisecond, stall: 300 * time.Millisecond, timeout: time.Second, doubtful: true},
		{name: "stall ending as the probe starts", stallAt: 0, stall: 300 * time.Millisecond, timeout: time.Second, doubtful: true},
		{name: "stall before the probe", stallAt: -time.Millisecond, stall: time.Second, timeout: time.Second},
		{name: "stall under the threshold", stallAt: 500 * time.Millisecond, stall: StallThreshold - time.Millisecond, timeout: time.Second},
		{name: "stall under a tenth of a long timeout", stallAt: time.Second, stall: 400 * time.Millisecond, timeout: 5 * time.Second},
		{name: "stall of a tenth of a long timeout", stallAt: time.Second, stall: 500 * time.Millisecond, timeout: 5 * time.Second, doubtful: true},
		{name: "stalled right now", overdue: 250 * time.Millisecond, timeout: time.Second, doubtful: true},
		{name: "heartbeat on time", overdue: 10 * time.Millisecond, timeout: time.Second},
	}
	for _, tc := range tests {
		now := base
		o, _ := newTestOverload(&now)
		if tc.stall > 0 {
			now = base.Add(tc.stallAt)
			o.Stalled(tc.stall)
		}
		now = base.Add(tc.timeout)
		if tc.overdue > 0 {
			o.beat.Store(now.Add(-heartbeat - tc.overdue).UnixNano())
		}
		if got := o.Doubtful(base, tc.timeout); got != tc.doubtful {
			t.Errorf("%s: Doubtful %v, want %v", tc.name, got, tc.doubtful)
		}
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
		o.now = func() time.Time { return time.Now().Add(-time.Minute) }
		o.Stalled(time.Second) // a minute before the probe: does not count
		o.now = time.Now
		p := New(Options{Overload: o})
		done := make(chan health.Outcome)
		go func() { done <- p.Probe(context.Background(), url, time.Second, health.DefaultExpect) }()
		c := <-accepted // the probe is running
		if overloaded {
			o.Stalled(time.Second) // injected: the probe lost its whole timeout
		} else {
			o.Stalled(StallThreshold / 2) // too short to matter
		}
		out := <-done
		c.Close()
		p.Close()
		if out.Kind != health.KindTimeout || out.Inconclusive != overloaded {
			t.Fatalf("overload %v: outcome %+v, want a timeout with Inconclusive %v", overloaded, out, overloaded)
		}
	}
}
