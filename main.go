// Command spo2 watches the health of many HTTP endpoints registered over an
// HTTP API, streams status changes over WebSocket and alerts Slack in batches.
// See README.md and docs/.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/memory"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/probe"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/schedule"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/actors/slack"
	"github.com/spo2/spo2/api"
	"github.com/spo2/spo2/persistence"
	"github.com/spo2/spo2/ui"
)

// shutdownBudget is the most a clean shutdown may take (it must end within
// 10 s); slackFlushBudget is the part of it Slack may have, whatever Slack
// does.
const (
	shutdownBudget   = 9 * time.Second
	slackFlushBudget = 2 * time.Second
	// leaveBudget is the most a cluster member waits to deregister (about
	// two seconds when etcd answers).
	leaveBudget = 3 * time.Second
)

func main() { os.Exit(run()) }

func run() int {
	cfg, err := loadConfig(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "spo2: bad configuration: %v\n", err)
		return 2
	}
	log := newLogger(cfg.LogLevel)
	if err := serve(cfg, log); err != nil {
		fmt.Fprintf(os.Stderr, "spo2: %v\n", err)
		return 1
	}
	return 0
}

func serve(cfg config, log *slog.Logger) error {
	processStart := time.Now()
	if limit, err := memory.SetDefaultLimit(memory.CgroupMemoryMax); err != nil {
		log.Warn("no default memory limit", "error", err)
	} else if limit > 0 {
		log.Info("memory limit set from the container's", "bytes", limit)
	}
	if cfg.TLSCert != "" {
		if _, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey); err != nil {
			return fmt.Errorf("TLS_CERT_FILE=%q TLS_KEY_FILE=%q: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
	}
	httpLn, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_LISTEN_ADDR=%q: %w", cfg.HTTPAddr, err)
	}
	defer httpLn.Close()
	wsLn, err := net.Listen("tcp", cfg.WSAddr)
	if err != nil {
		return fmt.Errorf("WS_LISTEN_ADDR=%q: %w", cfg.WSAddr, err)
	}
	defer wsLn.Close()

	m := metrics.New()
	start := time.Now()
	store, err := persistence.OpenWith(cfg.DBPath, log, persistence.Options{
		Observer: func(d time.Duration, ops int) {
			m.StoreWrites.WithLabelValues("durable").Inc()
			m.StoreWriteTime.Observe(d.Seconds())
		},
		MinFree:      cfg.DBMinFree,
		OnRefused:    func(kind string, writes int) { m.StoreRefused.WithLabelValues(kind).Add(float64(writes)) },
		HistoryLimit: cfg.HistoryLimit,
	})
	if err != nil {
		return fmt.Errorf("DB_PATH=%q: %w", cfg.DBPath, err)
	}
	defer store.Close()
	m.CountStoreFree(store.FreeBytes)
	loaded, err := store.LoadAll()
	if err != nil {
		return fmt.Errorf("DB_PATH=%q: %w", cfg.DBPath, err)
	}
	log.Info("store loaded", "path", cfg.DBPath, "registrations", len(loaded), "took", time.Since(start).Round(time.Millisecond))

	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger {
		// protoactor's own logging: warnings and errors only.
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("lib", "protoactor")
	}))
	// In cluster mode, the member joins (in the background: etcd may be
	// down) and registrations, silences and announcements go to etcd.
	var mem *member
	var registrations actors.DurableStore = store
	var silenceStore silence.Store = store
	if cfg.ClusterEtcd != nil {
		if mem, err = joinCluster(cfg, system, log); err != nil {
			return err
		}
		registrations, silenceStore = mem.registry, mem.silenceStore(store)
		m.CountCluster(func() int { return len(mem.membership.Members()) })
	}

	silences, err := silence.Open(silenceStore, log)
	if err != nil {
		return fmt.Errorf("DB_PATH=%q: %w", cfg.DBPath, err)
	}
	defer silences.Close()
	m.CountSilences(func() int { return silences.Current().Len() })
	log.Info("silences loaded", "active", silences.Current().Len())

	model := readmodel.New()
	model.SetSilencer(silences)
	m.CountURLs(func() map[string]int {
		out := map[string]int{}
		for s, n := range model.Counts() {
			out[string(s)] = n
		}
		return out
	})

	background, stopBackground := context.WithCancel(context.Background())
	defer stopBackground() // the timer heap, the overload watch and the memory trimmer
	scheduler := schedule.New()
	go scheduler.Run(background)
	pool := probe.NewPool(cfg.MaxInFlight)
	defer pool.Close()
	m.CountProbesInFlight(pool.Busy)
	overload := probe.NewOverload(log)
	go overload.Run(background)
	go (&memory.Trimmer{Count: model.Len, Log: log}).Run(background)
	m.CountOverload(overload.Overloaded)
	prober := probe.New(probe.Options{
		MaxIdleConns:    cfg.MaxIdleConns,
		IdleConnTimeout: 2 * cfg.Defaults.Interval,
		OnDial:          m.ProbeDials.Inc,
		Allow:           cfg.AllowedTargets,
		Overload:        overload,
		Member:          mem.name(),
	})
	defer prober.Close()
	m.CountDialsInFlight(prober.Dialing)

	root := system.Root
	broadcaster, _ := root.SpawnNamed(actors.NewBroadcasterProps(model, m, log, cfg.WSResume, mem.seqOffset()), "broadcaster")
	supCfg := actors.SupervisorConfig{
		Defaults: cfg.Defaults, Loaded: loaded, Started: processStart, Store: registrations, Model: model, Broadcaster: broadcaster,
		Checkers: &actors.CheckerDeps{Prober: prober, Pool: pool, Scheduler: scheduler, Statuses: store, Metrics: m, Log: log,
			Histories: store, HistoryLimit: cfg.HistoryLimit},
		KeepAlive: prober, Metrics: m, Log: log,
	}
	if mem != nil {
		supCfg.Clustered, supCfg.Relay, supCfg.LocalCopy = true, mem.spawnRelay(root, log), store
	}
	supervisor, _ := root.SpawnNamed(actors.NewSupervisorProps(supCfg), "supervisor")
	loaded = nil
	if _, err := root.RequestFuture(supervisor, actors.Ready{}, time.Minute).Result(); err != nil {
		return fmt.Errorf("starting the supervisor: %w", err)
	}
	slack := startSlack(cfg, root, broadcaster, model, store, silences, mem, m, log)
	// The supervisor streams the records whose "silenced" changed; the
	// batcher withholds and releases Slack events.
	silences.OnChange(func(c silence.Change) {
		root.Send(supervisor, c)
		if slack != nil {
			root.Send(slack, c)
		}
	})
	if slack != nil {
		// A silence that ended while the batcher started released nothing:
		// this empty change makes it look again.
		root.Send(slack, silence.Change{})
	}

	if mem != nil {
		mem.follow(background, root, supervisor, slack, silences, store, log)
	}

	srv := api.New(api.Config{Token: cfg.APIToken, WSPingInterval: cfg.WSPing, WSClientQueue: cfg.WSQueue,
		WSOpeningBacklog: max(cfg.WSQueue, cfg.WSResume), Targets: cfg.AllowedTargets},
		api.Deps{Root: root, Supervisor: supervisor, Broadcaster: broadcaster, Model: model, Metrics: m, Log: log, UI: ui.Handler(),
			Overload: overload, Silences: silences, Cluster: mem.healthz()})
	httpSrv := newHTTPServer(srv.Handler(), log)
	wsSrv := newHTTPServer(srv.WS, log)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	serveErr := make(chan error, 2)
	go func() { serveErr <- serveOn(httpSrv, httpLn, cfg) }()
	go func() { serveErr <- serveOn(wsSrv, wsLn, cfg) }()
	log.Info("spo2 started", "http", httpLn.Addr().String(), "ws", wsLn.Addr().String(),
		"urls", model.Len(), "tls", cfg.TLSCert != "", "slack", cfg.SlackHookURL != "", "auth", cfg.APIToken != "",
		"allowed_targets", cfg.AllowedTargets.String(), "member", mem.name())

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case runErr = <-serveErr:
	}

	deadline, cancel := context.WithTimeout(context.Background(), shutdownBudget)
	defer cancel()
	// 1. Stop accepting; give requests in progress a few seconds, then cut them.
	graceful, cancelGraceful := context.WithTimeout(deadline, 4*time.Second)
	defer cancelGraceful()
	if httpSrv.Shutdown(graceful) != nil {
		_ = httpSrv.Close()
	}
	if wsSrv.Shutdown(graceful) != nil {
		_ = wsSrv.Close()
	}
	// 2. Close every WebSocket with a close frame.
	_, _ = root.RequestFuture(broadcaster, actors.CloseStreams{}, time.Second).Result()
	srv.WS.Wait(2 * time.Second)
	// 3. Stop probing; give Slack at most slackFlushBudget (each post of the
	// flush has its own short timeout), then stop the batcher, which cancels
	// a post still waiting for Slack. Changes Slack did not accept are not
	// recorded as announced, so the next start announces them.
	stopBackground()
	pool.Close() // ends every probe in flight
	if slack != nil {
		_, _ = root.RequestFuture(slack, actors.SlackFlush{}, min(slackFlushBudget, remaining(deadline, 2*time.Second))).Result()
		_ = root.StopFuture(slack).Wait()
	}
	_ = root.StopFuture(supervisor).Wait()
	if mem != nil {
		mem.leave(min(leaveBudget, remaining(deadline, time.Second)), log)
	} else {
		system.Shutdown()
	}
	// 4. Close Badger (deferred above), which saves the last statuses.
	if err := store.Close(); err != nil {
		return err
	}
	log.Info("spo2 stopped cleanly")
	return runErr
}

// remaining is what is left of ctx's deadline, less a margin for the steps after.
func remaining(ctx context.Context, margin time.Duration) time.Duration {
	d, ok := ctx.Deadline()
	if !ok {
		return 5 * time.Second
	}
	if left := time.Until(d) - margin; left > 100*time.Millisecond {
		return left
	}
	return 100 * time.Millisecond
}

// startSlack starts the Slack batcher; in cluster mode, the actor that runs
// it on the member owning it, with its announced states in the registry.
func startSlack(cfg config, root *actor.RootContext, broadcaster *actor.PID, model *readmodel.Model,
	store *persistence.Store, silences *silence.Book, mem *member, m *metrics.Metrics, log *slog.Logger) *actor.PID {
	if cfg.SlackHookURL == "" {
		return nil
	}
	var announced slack.AnnouncementStore = store
	if mem != nil {
		announced = mem.registry
	}
	props := actors.NewSlackBatcherProps(actors.SlackConfig{
		HookURL: cfg.SlackHookURL, BatchSize: cfg.SlackBatchSize, BatchWindow: cfg.SlackWindow, MaxBacklog: cfg.SlackBacklog,
		Silences: silences,
	}, broadcaster, model, announced, m, log)
	if mem != nil {
		props = actors.NewSlackPlacementProps(props, actors.SlackSettle, log)
	}
	pid, _ := root.SpawnNamed(props, "slack")
	return pid
}

func newHTTPServer(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Above the API's own limit, so that requests between the two get
		// the API's JSON 431 instead of Go's plain-text one.
		MaxHeaderBytes: 16 * api.MaxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

func serveOn(s *http.Server, ln net.Listener, cfg config) error {
	var err error
	if cfg.TLSCert != "" {
		err = s.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
	} else {
		err = s.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func newLogger(level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l}))
}
