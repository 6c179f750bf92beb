package actors

import (
	"context"
	"log/slog"
	"runtime"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/schedule"
)

// fixedProber answers every probe at once with the same verdict, so the
// path around the client is measured alone.
type fixedProber struct{ code int }

func (p fixedProber) Probe(context.Context, string, time.Duration, health.Expect) health.Outcome {
	now := time.Now()
	return health.Outcome{Answered: true, Code: p.code, ExpectHit: true, At: now, Latency: time.Millisecond}
}

// capturedTimer keeps the fire function a checker arms, so the benchmark
// ticks the checker by hand.
type capturedTimer struct{ fire chan schedule.Firer }

func (c capturedTimer) Start(_ *schedule.Timer, _ time.Time, _ time.Duration, f schedule.Firer) {
	c.fire <- f
}

type noSaver struct{}

func (noSaver) SaveStatus(string, health.Status) {}

// BenchmarkProbePath measures one probe's path beyond the HTTP client: the
// tick, the pool hand-off, runProbe, the result message, and observe (the
// tracker, the metrics, the read-model store). Each iteration waits until
// the checker has stored the probe's status.
func BenchmarkProbePath(b *testing.B) {
	pool := probe.NewPool(1)
	defer pool.Close()
	timers := capturedTimer{fire: make(chan schedule.Firer, 1)}
	deps := &CheckerDeps{Prober: fixedProber{code: 200}, Pool: pool, Scheduler: timers,
		Statuses: noSaver{}, Metrics: metrics.New(), Log: quietLog}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLog }))
	defer system.Shutdown()
	reg := &health.Registration{URL: "http://127.0.0.1:1/health", Probe: health.Settings{
		Interval: time.Hour, Timeout: time.Second, FailureThreshold: 3, SuccessThreshold: 1, Expect: health.DefaultExpect}}
	entry := readmodel.New().Put(reg, &health.Status{State: health.Pending})
	pid := system.Root.Spawn(newURLCheckerProps(deps))
	system.Root.Send(pid, attach{entry: entry})
	fire := <-timers.fire
	b.ReportAllocs()
	for b.Loop() {
		before := entry.Status()
		fire.Fire(time.Now())
		for entry.Status() == before {
			runtime.Gosched()
		}
	}
}
