package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/e2e/harness"
	"github.com/spo2/spo2/persistence"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

const testPrefix = "/test/"

func reg(url, data string) *health.Registration {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	return &health.Registration{URL: url, Data: json.RawMessage(data), CreatedAt: now, UpdatedAt: now,
		Labels: health.Labels{"team": "search"},
		Probe:  health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1, Expect: health.DefaultExpect}}
}

func put(url, data string) persistence.Op { return persistence.Op{URL: url, Reg: reg(url, data)} }
func del(url string) persistence.Op       { return persistence.Op{URL: url} }

// openRegistry opens a Registry on endpoint, closed at cleanup.
func openRegistry(t testing.TB, endpoint string, timeout time.Duration, log *slog.Logger) *Registry {
	t.Helper()
	if log == nil {
		log = quiet
	}
	r, err := Open(Config{Endpoints: []string{endpoint}, Prefix: testPrefix, Timeout: timeout, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return r
}

// rawClient is a plain etcd client, for what tests check or do behind the
// Registry's back.
func rawClient(t testing.TB, e *harness.Etcd) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{e.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func write(t testing.TB, r *Registry, ops ...persistence.Op) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.Write(ctx, ops); err != nil {
		t.Fatalf("write %d ops: %v", len(ops), err)
	}
}

func load(t testing.TB, r *Registry) Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	snap, err := r.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// dataOf maps each registration's URL to its custom data.
func dataOf(regs []health.Registration) map[string]string {
	m := make(map[string]string, len(regs))
	for _, r := range regs {
		m[r.URL] = string(r.Data)
	}
	return m
}

func getValue(t testing.TB, cli *clientv3.Client, key string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return "", false
	}
	return string(resp.Kvs[0].Value), true
}

func TestApplyLoadRoundTrip(t *testing.T) {
	e := harness.StartEtcd(t)
	cli := rawClient(t, e)
	var (
		mu      sync.Mutex
		commits []int
	)
	r, err := Open(Config{Endpoints: []string{e.Endpoint}, Prefix: testPrefix, Log: quiet,
		Observer: func(_ time.Duration, ops int) { mu.Lock(); commits = append(commits, ops); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	write(t, r, put("http://a/", `{"customer":1}`), put("http://b/", `null`), put("http://c/", `"x"`))
	// Stored bytes are exactly the Badger store's (AppendJSON).
	if v, _ := getValue(t, cli, testPrefix+"r/http://a/"); v != string(reg("http://a/", `{"customer":1}`).AppendJSON(nil)) {
		t.Fatalf("stored %s, want AppendJSON's bytes", v)
	}
	// A delete takes the announced state with it.
	if _, err := cli.Put(context.Background(), testPrefix+"a/http://b/", "unhealthy"); err != nil {
		t.Fatal(err)
	}
	write(t, r, del("http://b/"), put("http://a/", `{"customer":2}`))
	if _, ok := getValue(t, cli, testPrefix+"a/http://b/"); ok {
		t.Error("announced state of a deleted URL is still stored")
	}
	// Several ops on one URL in one call: the last wins, and a delete among
	// them still removes the announced state.
	if _, err := cli.Put(context.Background(), testPrefix+"a/http://c/", "unreachable"); err != nil {
		t.Fatal(err)
	}
	write(t, r, put("http://c/", `1`), del("http://c/"), put("http://c/", `3`))
	if _, ok := getValue(t, cli, testPrefix+"a/http://c/"); ok {
		t.Error("announced state kept although the URL was deleted and put again")
	}

	// 1,000 ops in one call: committed in chunks of at most 100 etcd ops.
	mu.Lock()
	commits = nil
	mu.Unlock()
	var bulk []persistence.Op
	for i := range 1000 {
		bulk = append(bulk, put(fmt.Sprintf("http://bulk-%04d/", i), fmt.Sprintf(`{"n":%d}`, i)))
	}
	write(t, r, bulk...)
	mu.Lock()
	if len(commits) < 10 {
		t.Errorf("1,000 puts committed in %d transactions %v, want at least 10", len(commits), commits)
	}
	for _, n := range commits {
		if n > maxTxnOps {
			t.Errorf("a transaction of %d ops, want at most %d", n, maxTxnOps)
		}
	}
	mu.Unlock()

	// Calls are committed in the order they were made: the second value wins.
	res := make(chan error, 2)
	r.Apply([]persistence.Op{put("http://order/", `"first"`)}, func(err error) { res <- err })
	r.Apply([]persistence.Op{put("http://order/", `"second"`)}, func(err error) { res <- err })
	for range 2 {
		if err := <-res; err != nil {
			t.Fatal(err)
		}
	}

	snap := load(t, r)
	got := dataOf(snap.Regs)
	want := map[string]string{"http://a/": `{"customer":2}`, "http://c/": `3`, "http://order/": `"second"`}
	for i := range 1000 {
		want[fmt.Sprintf("http://bulk-%04d/", i)] = fmt.Sprintf(`{"n":%d}`, i)
	}
	if len(got) != len(want) {
		t.Fatalf("loaded %d registrations, want %d", len(got), len(want))
	}
	for url, data := range want {
		if got[url] != data {
			t.Errorf("%s: loaded data %q, want %q", url, got[url], data)
		}
	}
	if a := snap.Regs[0]; a.URL != "http://a/" || a.Labels["team"] != "search" || a.Probe.Interval != 10*time.Second {
		t.Errorf("first loaded registration %+v, want http://a/ with its labels and settings", a)
	}
	if snap.Rev == 0 {
		t.Error("snapshot without a revision")
	}
}

// Load reads page by page, in key order, at one revision: a write made
// between two pages is not seen.
func TestLoadPaginatesAtOneRevision(t *testing.T) {
	e := harness.StartEtcd(t)
	cli := rawClient(t, e)
	r := openRegistry(t, e.Endpoint, 0, nil)
	n := 2*pageSize + 10
	var bulk []persistence.Op
	for i := range n {
		bulk = append(bulk, put(fmt.Sprintf("http://p-%05d/", i), `{}`))
	}
	write(t, r, bulk...)
	if err := r.SaveSilence("s1", []byte(`{"id":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	snap := load(t, r)
	if len(snap.Regs) != n || len(snap.Silences) != 1 || string(snap.Silences["s1"]) != `{"id":"s1"}` {
		t.Fatalf("loaded %d registrations and silences %q, want %d and s1", len(snap.Regs), snap.Silences, n)
	}
	for i, reg := range snap.Regs {
		if want := fmt.Sprintf("http://p-%05d/", i); reg.URL != want {
			t.Fatalf("registration %d is %s, want %s (key order)", i, reg.URL, want)
		}
	}

	var keys []string
	changed := false
	_, err := r.rangeAll(context.Background(), testPrefix+"r/", testPrefix+"r0", 0, func(kv *mvccpb.KeyValue) {
		keys = append(keys, string(kv.Key))
		if !changed { // during the first page: add a key to the last, delete one of the second
			changed = true
			ctx := context.Background()
			if _, err := cli.Put(ctx, testPrefix+"r/http://p-99999/", "{}"); err != nil {
				t.Error(err)
			}
			if _, err := cli.Delete(ctx, testPrefix+fmt.Sprintf("r/http://p-%05d/", pageSize+1)); err != nil {
				t.Error(err)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n || keys[len(keys)-1] != testPrefix+fmt.Sprintf("r/http://p-%05d/", n-1) {
		t.Errorf("read %d keys, the last %s; want the %d there were when the read began", len(keys), keys[len(keys)-1], n)
	}
}

func TestSilencesRoundTrip(t *testing.T) {
	e := harness.StartEtcd(t)
	r := openRegistry(t, e.Endpoint, 0, nil)
	for _, id := range []string{"a", "b", "c"} {
		if err := r.SaveSilence(id, []byte(`{"id":"`+id+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.DeleteSilence("b"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteSilence("never-stored"); err != nil {
		t.Errorf("deleting an unknown silence: %v", err)
	}
	raws, err := r.LoadSilences()
	if err != nil {
		t.Fatal(err)
	}
	if len(raws) != 2 || string(raws[0]) != `{"id":"a"}` || string(raws[1]) != `{"id":"c"}` {
		t.Errorf("loaded %q, want a and c", raws)
	}
}

// Announced states are saved only for registered URLs, in several
// transactions when there are many, and load back as saved.
func TestAnnouncedRoundTrip(t *testing.T) {
	e := harness.StartEtcd(t)
	r := openRegistry(t, e.Endpoint, 0, nil)
	states := map[string]health.State{"http://gone/": health.Unhealthy}
	var ops []persistence.Op
	for i := range 250 {
		url := fmt.Sprintf("http://s-%03d/", i)
		ops = append(ops, put(url, `{}`))
		states[url] = health.AllStates[i%len(health.AllStates)]
	}
	write(t, r, ops...)
	if err := r.SaveAnnounced(states); err != nil {
		t.Fatal(err)
	}
	got, err := r.LoadAnnounced()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 250 {
		t.Errorf("loaded %d announced states, want 250 (not the unregistered URL)", len(got))
	}
	for url, st := range states {
		if url == "http://gone/" {
			if _, ok := got[url]; ok {
				t.Error("an unregistered URL's announced state was saved")
			}
			continue
		}
		if got[url] != st {
			t.Errorf("%s: loaded %q, want %q", url, got[url], st)
		}
	}
	// Deleting the registration deletes its announced state.
	write(t, r, del("http://s-000/"))
	got, err = r.LoadAnnounced()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := got["http://s-000/"]; ok || len(got) != 249 {
		t.Errorf("after a delete: %d announced states, s-000 present %v; want 249 without it", len(got), ok)
	}
}

// Without a reachable etcd, Open works, every request fails with
// ErrUnavailable after the timeout, Watch returns when its context ends,
// and Close does not hang.
func TestWithoutEtcd(t *testing.T) {
	endpoint := harness.ClosedPortURL(t, "")
	var attempts atomic.Int64
	r, err := Open(Config{Endpoints: []string{endpoint}, Timeout: 300 * time.Millisecond, Log: quiet,
		Observer: func(time.Duration, int) { attempts.Add(1) }})
	if err != nil {
		t.Fatalf("Open without etcd: %v", err)
	}
	ctx := context.Background()
	if err := r.Reachable(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Reachable: %v, want ErrUnavailable", err)
	}
	if err := r.Write(ctx, []persistence.Op{put("http://a/", `{}`)}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Write: %v, want ErrUnavailable", err)
	} else if got := err.Error(); len(got) < 22 || got[:22] != "registry unavailable: " {
		t.Errorf("error text %q, want it to start with %q", got, "registry unavailable: ")
	}
	if _, err := r.Load(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Load: %v, want ErrUnavailable", err)
	}
	if err := r.SaveSilence("x", []byte("{}")); !errors.Is(err, ErrUnavailable) {
		t.Errorf("SaveSilence: %v, want ErrUnavailable", err)
	}
	if _, err := r.LoadAnnounced(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("LoadAnnounced: %v, want ErrUnavailable", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	watched := make(chan struct{})
	go func() {
		r.Watch(wctx, 0, func(Batch) { t.Error("a batch without etcd") })
		close(watched)
	}()
	cancel()
	select {
	case <-watched:
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after its context ended")
	}

	// Calls queued behind a failing one fail with it rather than each
	// waiting out its own timeout: they are not even attempted.
	const calls = 20
	res := make(chan error, calls)
	before := attempts.Load()
	for i := range calls {
		var ops []persistence.Op
		for j := range 150 { // two transactions each
			ops = append(ops, put(fmt.Sprintf("http://q-%d-%d/", i, j), `{}`))
		}
		r.Apply(ops, func(err error) { res <- err })
	}
	for range calls {
		if err := <-res; !errors.Is(err, ErrUnavailable) {
			t.Fatalf("queued call: %v, want ErrUnavailable", err)
		}
	}
	if n := attempts.Load() - before; n > 4 {
		t.Errorf("%d transactions attempted for %d queued calls while etcd was down, want those of the first only", n, calls)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if err := r.Write(ctx, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Write after Close: %v, want ErrClosed", err)
	}
}
