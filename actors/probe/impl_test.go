package probe

import (
	"context"
	"time"

	"github.com/spo2/spo2/actors/health"
)

// testProber is what the tests use of a prober implementation.
type testProber interface {
	Probe(ctx context.Context, url string, timeout time.Duration, expect health.Expect) health.Outcome
	Dialing() int
	Close()
	Watch(url string)
	Unwatch(url string)
	KeepsAlive() bool
}

// implementations are the probers every prober test and benchmark runs on.
var implementations = []struct {
	name string
	new  func(Options) testProber
}{
	{"lean", func(o Options) testProber { return New(o) }},
	{"nethttp", func(o Options) testProber { return NewNetHTTP(o) }},
}
