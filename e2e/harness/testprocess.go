package harness

import (
	"context"
	"strings"
	"testing"
	"time"
)

// StartT starts bin with extra KEY=VALUE env pairs and a store under the
// test's temp dir, failing the test when spo2 does not come up. At cleanup
// spo2 is stopped with SIGTERM (unless the test already stopped or killed
// it), and the test fails when the server did not exit with status 0 or
// reported a data race (a -race binary does); a failed test's log shows
// the last 100 lines spo2 printed.
func StartT(t testing.TB, bin string, env ...string) *Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	p, err := Start(ctx, Options{Bin: bin, TempDir: t.TempDir(), Env: env})
	if err != nil {
		t.Fatalf("starting spo2: %v", err)
	}
	t.Cleanup(func() {
		StopAndCheck(t, p)
		if t.Failed() {
			t.Logf("spo2 logs, last 100 lines:\n%s", Tail(p.Logs(), 100))
		}
	})
	return p
}

// RestartT restarts p on its addresses and store, failing the test when it
// does not come up.
func RestartT(t testing.TB, p *Process) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := p.Restart(ctx); err != nil {
		t.Fatalf("restarting spo2: %v", err)
	}
}

// StopAndCheck stops p with SIGTERM if it still runs (15 s before a kill)
// and fails the test on an exit status other than 0 or a data race report.
func StopAndCheck(t testing.TB, p *Process) {
	t.Helper()
	if p.running() {
		if d, err := p.Stop(15 * time.Second); err != nil {
			t.Errorf("spo2 shutdown after %s: got %v, want exit status 0\n%s", d.Round(time.Millisecond), err, Tail(p.Logs(), 60))
		}
	}
	CheckNoRace(t, p)
}

// CheckNoRace fails the test when p's logs hold a data race report.
func CheckNoRace(t testing.TB, p *Process) {
	t.Helper()
	if logs := p.Logs(); strings.Contains(logs, "WARNING: DATA RACE") {
		t.Errorf("the race-enabled spo2 reported a data race:\n%s", raceReport(logs))
	}
}

// raceReport cuts the logs from just before the first race report, at most
// 12,000 bytes.
func raceReport(logs string) string {
	i := strings.Index(logs, "WARNING: DATA RACE")
	out := logs[max(i-200, 0):]
	if len(out) > 12000 {
		out = out[:12000] + "\n…"
	}
	return out
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
