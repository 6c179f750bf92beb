package engine

import (
	"sync/atomic"
	"testing"

	"github.com/spo2/spo2/e2e/harness"
)

// Target behaviours, as harness.TargetMode values.
const (
	modeOK       = int32(harness.Healthy)    // 200 "ok"
	modeFail     = int32(harness.Failing)    // 503
	modeHang     = int32(harness.Hang)       // never answers until the request ends
	modeClose    = int32(harness.ResetConn)  // resets the connection without an answer
	modeRedirect = int32(harness.Redirect)   // 302 to redirectTo
	modeHuge     = int32(harness.HugeBody)   // 200 with an endless body
	modeTrickle  = int32(harness.SlowBody)   // 200, then one body byte every 50ms
	modeCode     = int32(harness.AnswerCode) // answers code
)

// target is harness.Target under the names these tests use.
type target struct {
	*harness.Target
	code       *atomic.Int32
	redirectTo *atomic.Pointer[string]
	failures   *atomic.Int64
	written    *atomic.Int64 // body bytes written in modeHuge/modeTrickle
	maxHold    *atomic.Int64 // longest a hang/huge/trickle request was held open, in ns
}

func newTarget(t *testing.T, mode int32) *target {
	t.Helper()
	k := harness.NewTarget(t, harness.TargetMode(mode))
	return &target{Target: k, code: &k.Code, redirectTo: &k.RedirectTo, failures: &k.Failures,
		written: &k.BodyBytes, maxHold: &k.MaxHold}
}

func (tg *target) set(mode int32) { tg.Set(harness.TargetMode(mode)) }

func (tg *target) count() int64 { return tg.Requests.Load() }

// closedPortURL returns an http URL on 127.0.0.1 whose port refuses connections.
func closedPortURL(t *testing.T, path string) string {
	t.Helper()
	return harness.ClosedPortURL(t, path)
}

// garbageServer returns the URL of a server on 127.0.0.1 that answers bytes
// that are not HTTP.
func garbageServer(t *testing.T) string {
	t.Helper()
	return harness.GarbageURL(t, "/health")
}
