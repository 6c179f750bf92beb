// Package engine holds end-to-end tests of the SpO₂ engine: they build the
// real binary (race-enabled), start it on kernel-chosen loopback ports with
// a temp DB_PATH, run real target servers on 127.0.0.1 and check the API,
// the probe states, persistence and the WebSocket stream through HTTP and a
// real WebSocket client.
//
// The helpers_*_test.go files bind the test kit (e2e/harness) to this
// package's binary and names; they implement nothing of their own.
package engine

import (
	"fmt"
	"os"
	"testing"

	"github.com/spo2/spo2/e2e/harness"
)

// spo2 is the race-enabled binary, built once in TestMain; bin is its path.
var (
	spo2 = harness.Binary{Flags: []string{"-race"}}
	bin  string
)

func TestMain(m *testing.M) {
	var err error
	if bin, err = spo2.Build(); err != nil {
		fmt.Fprintln(os.Stderr, "building spo2:", err)
		spo2.Remove()
		os.Exit(1)
	}
	code := m.Run()
	spo2.Remove()
	os.Exit(code)
}

// startSpo2 starts spo2 with extra KEY=VALUE env pairs; it is stopped and
// checked (exit status 0, no data race) at cleanup. See harness.StartT.
func startSpo2(t *testing.T, env ...string) *harness.Process {
	t.Helper()
	return harness.StartT(t, bin, env...)
}

// stopAndCheck stops p if it still runs and fails the test on a data race
// or an unclean exit.
func stopAndCheck(t *testing.T, p *harness.Process) { t.Helper(); harness.StopAndCheck(t, p) }

// checkNoRace fails the test when p reported a data race.
func checkNoRace(t *testing.T, p *harness.Process) { t.Helper(); harness.CheckNoRace(t, p) }

// restart starts p again on the same ports and store, failing the test on error.
func restart(t *testing.T, p *harness.Process) { t.Helper(); harness.RestartT(t, p) }

// tail returns the last n lines of s.
func tail(s string, n int) string { return harness.Tail(s, n) }
