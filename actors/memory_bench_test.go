package actors

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/schedule"
	"github.com/spo2/spo2/persistence"
)

// BenchmarkIdleMemoryPerURL registers SPO2_BENCH_URLS URLs (10,000 unless
// set) through the real supervisor, with a real store in a temporary
// directory and an interval of an hour (no probe runs), then reports the live
// heap per URL after a collection (heap-B/url) and the process's resident
// memory per URL (rss-B/url), both net of what the process held before, and
// the resident memory per URL once free memory is returned to the OS
// (rss-trimmed-B/url).
// SPO2_HEAPPROFILE names a file for the heap profile taken at that moment.
func BenchmarkIdleMemoryPerURL(b *testing.B) {
	n := benchURLs(b)
	if os.Getenv("SPO2_HEAPPROFILE") != "" {
		runtime.MemProfileRate = 4096
	}
	for b.Loop() {
		heap, rss, trimmed := idleMemoryPerURL(b, n, urlShape{})
		b.ReportMetric(heap, "heap-B/url")
		b.ReportMetric(rss, "rss-B/url")
		b.ReportMetric(trimmed, "rss-trimmed-B/url")
	}
}

// benchURLs is how many URLs a memory benchmark registers: SPO2_BENCH_URLS,
// 10,000 unless set.
func benchURLs(b *testing.B) int {
	s := os.Getenv("SPO2_BENCH_URLS")
	if s == "" {
		return 10_000
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		b.Fatalf("SPO2_BENCH_URLS=%q: %v", s, err)
	}
	return n
}

// urlShape is what each registered URL carries besides its URL: labels
// (key=value pairs like a pod's), and changes in its history.
type urlShape struct{ labels, changes int }

func idleMemoryPerURL(b *testing.B, n int, shape urlShape) (heapPerURL, rssPerURL, trimmedPerURL float64) {
	b.Helper()
	heap0, rss0 := liveHeap(), residentBytes(b)
	store, err := persistence.Open(b.TempDir(), quietLog, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer store.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := probe.NewPool(8)
	defer pool.Close()
	sched := schedule.New()
	go sched.Run(ctx)
	m := metrics.New()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLog }))
	defer system.Shutdown()
	model := readmodel.New()
	deps := &CheckerDeps{Prober: probe.New(probe.Options{}), Pool: pool, Scheduler: sched,
		Statuses: store, Metrics: m, Log: quietLog}
	broadcaster := system.Root.Spawn(NewBroadcasterProps(model, m, quietLog, 0, 0))
	settings := fastSettings
	settings.Interval = time.Hour
	sup := system.Root.Spawn(NewSupervisorProps(SupervisorConfig{Defaults: settings, Store: store, Model: model,
		Broadcaster: broadcaster, Checkers: deps, Metrics: m, Log: quietLog}))
	defer func() { _ = system.Root.StopFuture(sup).Wait() }()

	const batch = 1000
	items := make([]RegisterItem, 0, batch)
	for i := 0; i < n; i += batch {
		items = items[:0]
		for j := i; j < min(i+batch, n); j++ {
			items = append(items, RegisterItem{URL: fmt.Sprintf("http://127.0.0.1:1/pod-%d/health", j), Labels: shape.podLabels(j)})
		}
		r, err := system.Root.RequestFuture(sup, Register{Items: items}, time.Minute).Result()
		if err != nil || r.(RegisterReply).Err != nil {
			b.Fatalf("register: %v %v", err, r)
		}
	}
	for sched.Len() < n { // every checker has armed its timer
		time.Sleep(10 * time.Millisecond)
	}
	shape.fillHistories(model, deps.HistoryLimit)
	heap, rss := liveHeap(), residentBytes(b)
	if path := os.Getenv("SPO2_HEAPPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	debug.FreeOSMemory() // what memory.Trimmer does once the burst has settled
	trimmed := residentBytes(b)
	runtime.KeepAlive(model)
	return float64(heap-heap0) / float64(n), float64(rss-rss0) / float64(n), float64(trimmed-rss0) / float64(n)
}

func liveHeap() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

// residentBytes reads VmRSS from /proc/self/status.
func residentBytes(b *testing.B) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Skip("no /proc/self/status:", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
