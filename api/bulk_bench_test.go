package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/schedule"
	"github.com/spo2/spo2/persistence"
)

// BenchmarkBulk sends 10,000-item POST /bulk bodies of new URLs, as the load
// harness does, through the real handler, supervisor, checkers and a real
// Badger store. Each answer is durable. Probes are an hour away, so the
// figure is the registration path alone.
func BenchmarkBulk(b *testing.B) {
	const items = 10000
	h := newBulkEngine(b)
	bodies := make([][]byte, b.N)
	for n := range bodies {
		type item struct {
			URL  string         `json:"url"`
			Data map[string]any `json:"data"`
		}
		batch := make([]item, items)
		for i := range batch {
			id := n*items + i
			batch[i] = item{URL: fmt.Sprintf("http://127.0.0.1:%d/health/%d", 20000+id%50, id),
				Data: map[string]any{"customer": id, "index": "bench"}}
		}
		bodies[n], _ = json.Marshal(batch)
	}
	b.ReportAllocs()
	b.ResetTimer()
	start, cpuStart := time.Now(), cpuTime()
	for n := 0; n < b.N; n++ {
		req := httptest.NewRequest(http.MethodPost, "/bulk", bytes.NewReader(bodies[n]))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var reply bulkReply
		if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &reply) != nil || reply.Created != items {
			b.Fatalf("status %d: %.300s", rec.Code, rec.Body.Bytes())
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpuStart
	b.StopTimer()
	b.ReportMetric(float64(b.N*items)/elapsed.Seconds(), "items/s")
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N*items), "ns/item")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*items), "cpu-ns/item")
}

// cpuTime is the CPU time (user and system) the process has used: on a
// shared machine, a steadier figure than the wall clock.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// newBulkEngine wires the supervisor, broadcaster, store, checkers and API as
// main does, with a default interval of an hour.
func newBulkEngine(b *testing.B) http.Handler {
	log := slog.New(slog.DiscardHandler)
	store, err := persistence.Open(b.TempDir(), log, nil)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sched := schedule.New()
	go sched.Run(ctx)
	pool := probe.NewPool(8)
	prober := probe.New(probe.Options{})
	m := metrics.New()
	model := readmodel.New()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return log }))
	bc := system.Root.Spawn(actors.NewBroadcasterProps(model, m, log, 0, 0))
	defaults := health.Settings{Interval: time.Hour, Timeout: 5 * time.Second,
		FailureThreshold: 3, SuccessThreshold: 1, Expect: health.DefaultExpect}
	sup := system.Root.Spawn(actors.NewSupervisorProps(actors.SupervisorConfig{
		Defaults: defaults, Store: store, Model: model, Broadcaster: bc,
		Checkers:  &actors.CheckerDeps{Prober: prober, Pool: pool, Scheduler: sched, Statuses: store, Metrics: m, Log: log},
		KeepAlive: prober, Metrics: m, Log: log,
	}))
	if _, err := system.Root.RequestFuture(sup, actors.Ready{}, 10*time.Second).Result(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cancel()
		pool.Close()
		_ = system.Root.StopFuture(sup).Wait()
		system.Shutdown()
		prober.Close()
		_ = store.Close()
	})
	return New(Config{}, Deps{Root: system.Root, Supervisor: sup, Broadcaster: bc, Model: model, Metrics: m, Log: log}).Handler()
}
