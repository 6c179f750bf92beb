package harness

import (
	"testing"
	"time"
)

// Poll calls cond until it returns true, and reports whether it did within
// timeout. cond is called at least once; the pause between calls grows from
// 1 ms to 25 ms, so a quick condition is seen quickly and a slow one costs
// little.
func Poll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	pause := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(pause)
		pause = min(2*pause, 25*time.Millisecond)
	}
	return true
}

// Eventually fails the test when cond does not hold within timeout; what
// names the awaited condition in the failure.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Poll(timeout, cond) {
		t.Fatalf("%s: not reached within %s", what, timeout)
	}
}

// Holds fails the test when cond stops holding at any check during d (for
// "nothing more happens" checks); what names the condition.
func Holds(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if !cond() {
			t.Fatalf("%s: stopped holding within %s", what, d)
		}
		if time.Now().After(deadline) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}
