package registry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/e2e/harness"
	"github.com/spo2/spo2/persistence"
)

// watcher collects what Watch delivers and keeps the state it describes.
type watcher struct {
	mu       sync.Mutex
	batches  []Batch
	regs     map[string]string // url → data
	silences map[string]string
	rev      int64
	resyncs  int
	errs     []string
}

// startWatch watches r from the revision of from (nil: from 0), holding
// from's state at first.
func startWatch(t *testing.T, r *Registry, from *Snapshot) *watcher {
	t.Helper()
	w := &watcher{regs: map[string]string{}, silences: map[string]string{}}
	var rev int64
	if from != nil {
		rev = from.Rev
		w.regs = dataOf(from.Regs)
		for id, v := range from.Silences {
			w.silences[id] = string(v)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Watch(ctx, rev, w.apply)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("Watch did not return after its context ended")
		}
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, e := range w.errs {
			t.Error(e)
		}
	})
	return w
}

func (w *watcher) apply(b Batch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if b.Rev <= w.rev && b.Resync == nil {
		w.errs = append(w.errs, fmt.Sprintf("batch at revision %d after %d", b.Rev, w.rev))
	}
	w.rev = b.Rev
	w.batches = append(w.batches, b)
	if b.Resync != nil {
		w.resyncs++
		w.regs = dataOf(b.Resync.Regs)
		w.silences = map[string]string{}
		for id, v := range b.Resync.Silences {
			w.silences[id] = string(v)
		}
		if b.Resync.Rev != b.Rev {
			w.errs = append(w.errs, fmt.Sprintf("resync at %d in a batch at %d", b.Resync.Rev, b.Rev))
		}
	}
	for _, c := range b.Regs {
		if c.Reg == nil {
			delete(w.regs, c.URL)
		} else {
			w.regs[c.URL] = string(c.Reg.Data)
		}
	}
	for _, c := range b.Silences {
		if c.Value == nil {
			delete(w.silences, c.ID)
		} else {
			w.silences[c.ID] = string(c.Value)
		}
	}
}

// changes returns every registration change delivered so far, as
// "url=data" or "url deleted".
func (w *watcher) changes() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, b := range w.batches {
		for _, c := range b.Regs {
			if c.Reg == nil {
				out = append(out, c.URL+" deleted")
			} else {
				out = append(out, c.URL+"="+string(c.Reg.Data))
			}
		}
	}
	return out
}

// matches reports whether the watcher's state is snap's.
func (w *watcher) matches(snap Snapshot) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	want := dataOf(snap.Regs)
	if len(want) != len(w.regs) || len(snap.Silences) != len(w.silences) {
		return false
	}
	for url, d := range want {
		if w.regs[url] != d {
			return false
		}
	}
	for id, v := range snap.Silences {
		if w.silences[id] != string(v) {
			return false
		}
	}
	return true
}

func (w *watcher) count() (batches, resyncs int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.batches), w.resyncs
}

// A watch sees another client's writes, registrations and silences, in the
// order they were made.
func TestWatchSeesAnotherClientsWritesInOrder(t *testing.T) {
	e := harness.StartEtcd(t)
	reader := openRegistry(t, e.Endpoint, 0, nil)
	writer := openRegistry(t, e.Endpoint, 0, nil)
	write(t, writer, put("http://before/", `0`))
	snap := load(t, reader)
	w := startWatch(t, reader, &snap)

	write(t, writer, put("http://a/", `1`), put("http://b/", `2`))
	write(t, writer, del("http://a/"))
	write(t, writer, put("http://a/", `3`))
	if err := writer.SaveSilence("s1", []byte(`{"id":"s1"}`)); err != nil {
		t.Fatal(err)
	}
	if err := writer.SaveSilence("s2", []byte(`{"id":"s2"}`)); err != nil {
		t.Fatal(err)
	}
	if err := writer.DeleteSilence("s1"); err != nil {
		t.Fatal(err)
	}
	// Keys outside registrations and silences are not delivered.
	if err := writer.SaveAnnounced(map[string]health.State{"http://a/": health.Unhealthy}); err != nil {
		t.Fatal(err)
	}
	write(t, writer, put("http://last/", `4`))

	final := load(t, writer)
	harness.Eventually(t, 10*time.Second, "the watcher to reach the last write", func() bool { return w.matches(final) })
	want := []string{"http://a/=1", "http://b/=2", "http://a/ deleted", "http://a/=3", "http://last/=4"}
	if got := w.changes(); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("changes %v, want %v", got, want)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	var sil []string
	for _, b := range w.batches {
		if b.Resync != nil {
			t.Error("a resync while nothing was lost")
		}
		for _, c := range b.Silences {
			sil = append(sil, fmt.Sprintf("%s:%v", c.ID, c.Value != nil))
		}
	}
	if strings.Join(sil, " ") != "s1:true s2:true s1:false" {
		t.Errorf("silence changes %v, want s1 stored, s2 stored, s1 deleted", sil)
	}
	if w.rev != final.Rev {
		t.Errorf("watcher at revision %d, want %d (the last write's)", w.rev, final.Rev)
	}
}

// Watch from revision 0 starts with a resync.
func TestWatchFromZeroStartsWithResync(t *testing.T) {
	e := harness.StartEtcd(t)
	r := openRegistry(t, e.Endpoint, 0, nil)
	write(t, r, put("http://a/", `1`))
	w := startWatch(t, r, nil)
	harness.Eventually(t, 10*time.Second, "the first resync", func() bool { _, n := w.count(); return n == 1 })
	write(t, r, put("http://b/", `2`))
	harness.Eventually(t, 10*time.Second, "the write after the resync", func() bool { return w.matches(load(t, r)) })
}

// A watch from a compacted revision resyncs, then goes on watching.
func TestWatchResyncsAfterCompaction(t *testing.T) {
	e := harness.StartEtcd(t)
	cli := rawClient(t, e)
	r := openRegistry(t, e.Endpoint, 0, nil)
	write(t, r, put("http://a/", `1`), put("http://b/", `1`))
	old := load(t, r)
	write(t, r, put("http://a/", `2`), del("http://b/"))
	if err := r.SaveSilence("s", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	latest := load(t, r)
	if _, err := cli.Compact(context.Background(), latest.Rev); err != nil {
		t.Fatal(err)
	}

	w := startWatch(t, r, &old)
	harness.Eventually(t, 10*time.Second, "a resync to the compacted state", func() bool { return w.matches(latest) })
	if _, resyncs := w.count(); resyncs != 1 {
		t.Errorf("%d resyncs, want 1", resyncs)
	}
	write(t, r, put("http://c/", `3`))
	harness.Eventually(t, 10*time.Second, "the write after the resync", func() bool { return w.matches(load(t, r)) })
}

// With etcd stopped, writes fail with ErrUnavailable within about the
// timeout and the watch waits; once etcd is back, the watch resumes and
// misses nothing written after the restart. The outage is logged once,
// and its end once.
func TestEtcdStoppedAndRestarted(t *testing.T) {
	e := harness.StartEtcd(t)
	var logs harness.Buffer
	const timeout = time.Second
	r := openRegistry(t, e.Endpoint, timeout, slog.New(slog.NewTextHandler(&logs, nil)))
	other := openRegistry(t, e.Endpoint, 0, nil)
	write(t, r, put("http://a/", `1`))
	snap := load(t, r)
	w := startWatch(t, r, &snap)
	write(t, other, put("http://b/", `1`))
	harness.Eventually(t, 10*time.Second, "the watch to see the first write", func() bool { return len(w.changes()) == 1 })

	e.Stop()
	start := time.Now()
	err := r.Write(context.Background(), []persistence.Op{put("http://c/", `1`)})
	took := time.Since(start)
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Write with etcd stopped: %v, want ErrUnavailable", err)
	}
	t.Logf("a write with etcd stopped failed after %s (timeout %s): %v", took.Round(time.Millisecond), timeout, err)
	if took > 10*timeout { // a hang, not a speed check
		t.Errorf("the failing write took %s with a timeout of %s", took, timeout)
	}
	if err := r.SaveSilence("s", []byte(`{}`)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("SaveSilence with etcd stopped: %v, want ErrUnavailable", err)
	}
	harness.Eventually(t, 15*time.Second, "the outage log line", func() bool {
		return strings.Contains(logs.String(), "registry unreachable")
	})

	e.Restart(t)
	// Written as soon as etcd answers, likely before the watch reconnected.
	write(t, other, put("http://d/", `1`), del("http://b/"))
	write(t, other, put("http://a/", `2`))
	if err := other.SaveSilence("s2", []byte(`{"id":"s2"}`)); err != nil {
		t.Fatal(err)
	}
	final := load(t, other)
	harness.Eventually(t, 20*time.Second, "the watch to catch up after the restart", func() bool { return w.matches(final) })
	if _, resyncs := w.count(); resyncs == 0 {
		want := []string{"http://b/=1", "http://d/=1", "http://b/ deleted", "http://a/=2"}
		if got := w.changes(); strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("changes %v, want %v", got, want)
		}
	} else {
		t.Logf("the watch resynchronised %d times after the restart", resyncs)
	}
	harness.Eventually(t, 15*time.Second, "the back-again log line", func() bool {
		return strings.Contains(logs.String(), "registry reachable again")
	})
	if n := strings.Count(logs.String(), "registry unreachable"); n != 1 {
		t.Errorf("%d outage lines for one outage, want 1:\n%s", n, logs.String())
	}
}
