package persistence

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func reg(url, data string) *health.Registration {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	return &health.Registration{URL: url, Data: json.RawMessage(data), CreatedAt: now, UpdatedAt: now,
		Probe: health.Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1, Expect: health.DefaultExpect}}
}

func open(t *testing.T, dir string, obs CommitObserver) *Store {
	t.Helper()
	s, err := Open(dir, quiet, obs)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func loadMap(t *testing.T, s *Store) map[string]Loaded {
	t.Helper()
	all, err := s.LoadAll()
	if err != nil {
		t.Fatal(err)
	}
	m := make(map[string]Loaded, len(all))
	for _, l := range all {
		m[l.Reg.URL] = l
	}
	return m
}

func TestWriteAndReloadAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	ctx := context.Background()
	ops := []Op{
		{URL: "http://a/", Reg: reg("http://a/", `{"customer":1}`)},
		{URL: "http://b/", Reg: reg("http://b/", `null`)},
		{URL: "http://c/", Reg: reg("http://c/", `"x"`)},
	}
	if err := s.Write(ctx, ops); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, []Op{{URL: "http://b/"}, {URL: "http://a/", Reg: reg("http://a/", `{"customer":2}`)}}); err != nil {
		t.Fatal(err)
	}
	s.SaveStatus("http://a/", health.Status{State: health.Unhealthy, Code: 503})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir, nil)
	defer s.Close()
	got := loadMap(t, s)
	if len(got) != 2 {
		t.Fatalf("reloaded %d registrations, want 2: %v", len(got), got)
	}
	if string(got["http://a/"].Reg.Data) != `{"customer":2}` {
		t.Fatalf("a's data = %s, want the update", got["http://a/"].Reg.Data)
	}
	if st := got["http://a/"].Status; st == nil || st.State != health.Unhealthy || st.Code != 503 {
		t.Fatalf("a's status = %+v, want the saved unhealthy 503", st)
	}
	if got["http://c/"].Status != nil {
		t.Fatalf("c has a status it never saved")
	}
	if got["http://a/"].Reg.Probe.Interval != 10*time.Second || got["http://a/"].Reg.Probe.Expect.String() != "200-399" {
		t.Fatalf("settings not kept: %+v", got["http://a/"].Reg.Probe)
	}
}

func TestGroupCommitGathersConcurrentWriters(t *testing.T) {
	var commits, ops atomic.Int64
	s := open(t, t.TempDir(), func(_ time.Duration, n int) {
		commits.Add(1)
		ops.Add(int64(n))
	})
	defer s.Close()
	const writers, each = 64, 20
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				u := fmt.Sprintf("http://w%d/%d", w, i)
				if err := s.Write(context.Background(), []Op{{URL: u, Reg: reg(u, "1")}}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := len(loadMap(t, s)); got != writers*each {
		t.Fatalf("stored %d registrations, want %d", got, writers*each)
	}
	if ops.Load() != writers*each {
		t.Fatalf("observer saw %d ops, want %d", ops.Load(), writers*each)
	}
	// 64 concurrent writers must share fsyncs: far fewer commits than writes.
	if c := commits.Load(); c >= writers*each {
		t.Fatalf("%d commits for %d writes: no grouping", c, writers*each)
	}
	t.Logf("%d writes in %d group commits", writers*each, commits.Load())
}

func TestApplyKeepsSubmissionOrder(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	defer s.Close()
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := 0; i < 200; i++ {
		wg.Add(1)
		i := i
		s.Apply([]Op{{URL: "http://same/", Reg: reg("http://same/", fmt.Sprint(i))}}, func(err error) {
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			wg.Done()
		})
	}
	wg.Wait()
	for i, v := range order {
		if v != i {
			t.Fatalf("completion %d was write %d: out of order", i, v)
		}
	}
	if got := string(loadMap(t, s)["http://same/"].Reg.Data); got != "199" {
		t.Fatalf("last write lost: data %s, want 199", got)
	}
}

func TestDeleteRemovesStatusAndAnnouncement(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	ctx := context.Background()
	u := "http://gone/"
	if err := s.Write(ctx, []Op{{URL: u, Reg: reg(u, "1")}}); err != nil {
		t.Fatal(err)
	}
	if err := s.SaveAnnounced(map[string]health.State{u: health.Unhealthy, "http://never-registered/": health.Healthy}); err != nil {
		t.Fatal(err)
	}
	ann, err := s.LoadAnnounced()
	if err != nil {
		t.Fatal(err)
	}
	if ann[u] != health.Unhealthy || len(ann) != 1 {
		t.Fatalf("announced = %v, want only %s unhealthy", ann, u)
	}
	if err := s.Write(ctx, []Op{{URL: u}}); err != nil {
		t.Fatal(err)
	}
	s.SaveStatus(u, health.Status{State: health.Healthy}) // a late status after the delete
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, nil)
	defer s.Close()
	if got := loadMap(t, s); len(got) != 0 {
		t.Fatalf("deleted URL came back: %v", got)
	}
	if ann, _ := s.LoadAnnounced(); len(ann) != 0 {
		t.Fatalf("announcement survived the delete: %v", ann)
	}
}

func TestWriteAfterCloseFails(t *testing.T) {
	s := open(t, t.TempDir(), nil)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), []Op{{URL: "http://x/", Reg: reg("http://x/", "1")}}); err != ErrClosed {
		t.Fatalf("Write after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close = %v", err)
	}
}

func TestOpenFailsOnUnusablePath(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	defer s.Close()
	// Badger holds a directory lock: a second open of the same store fails.
	if _, err := Open(dir, quiet, nil); err == nil {
		t.Fatal("second Open of a locked store succeeded")
	}
}
