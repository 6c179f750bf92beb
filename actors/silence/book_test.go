package silence_test

import (
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/persistence"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func openStore(t *testing.T, dir string) *persistence.Store {
	t.Helper()
	s, err := persistence.Open(dir, quiet, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openBook(t *testing.T, store silence.Store) *silence.Book {
	t.Helper()
	b, err := silence.Open(store, quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// changes collects what a Book reports.
type changes struct {
	mu  sync.Mutex
	got []silence.Change
}

func (c *changes) add(ch silence.Change) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, ch)
}

func (c *changes) ended() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var ids []string
	for _, ch := range c.got {
		for _, s := range ch.Ended {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func labelSilence(t *testing.T, id, sel string, ends time.Time) silence.Silence {
	t.Helper()
	s, err := health.ParseSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return silence.Silence{ID: id, Labels: sel, Selector: s, Reason: "deploy", StartsAt: time.Now(), EndsAt: ends}
}

// A silence survives closing and reopening the real store; one that ended
// meanwhile is dropped at load, and deleted from the store.
func TestBookPersistsAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	store := openStore(t, dir)
	b := openBook(t, store)
	keep := labelSilence(t, silence.NewID(), "team=search", time.Now().Add(time.Hour))
	ended := silence.Silence{ID: silence.NewID(), URL: "http://10.0.0.2/health", Reason: "gone",
		StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)}
	for _, s := range []silence.Silence{keep, ended} {
		if err := b.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.End(ended.ID); err != nil {
		t.Fatal(err)
	}
	// A silence that ended while SpO₂ was not running: still stored.
	short := silence.Silence{ID: silence.NewID(), URL: "http://10.0.0.1/health", Reason: "maintenance",
		StartsAt: time.Now().Add(-time.Hour), EndsAt: time.Now().Add(-time.Minute)}
	raw, err := short.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := store.SaveSilence(short.ID, raw); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store = openStore(t, dir)
	defer store.Close()
	b = openBook(t, store)
	list := b.Current().List()
	if len(list) != 1 || list[0].ID != keep.ID || list[0].Labels != "team=search" || list[0].Reason != "deploy" ||
		!list[0].EndsAt.Equal(keep.EndsAt) {
		t.Fatalf("reloaded %+v, want only %+v", list, keep)
	}
	if !b.Silenced("http://any/", health.Labels{"team": "search"}) || b.Silenced(short.URL, nil) {
		t.Error("the reloaded set matches wrongly")
	}
	raws, err := store.LoadSilences()
	if err != nil || len(raws) != 1 {
		t.Errorf("store holds %d silences (%v) after load, want the active one only", len(raws), err)
	}
}

// Silences end on their timers, soonest first, each reported once; a later
// Add of a sooner silence re-arms the timer.
func TestBookEndsSilencesOnTimeInOrder(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	b := openBook(t, store)
	var c changes
	b.OnChange(c.add)
	now := time.Now()
	for _, s := range []silence.Silence{
		{ID: "third", URL: "http://c/", Reason: "r", StartsAt: now, EndsAt: now.Add(600 * time.Millisecond)},
		{ID: "second", URL: "http://b/", Reason: "r", StartsAt: now, EndsAt: now.Add(400 * time.Millisecond)},
		{ID: "first", URL: "http://a/", Reason: "r", StartsAt: now, EndsAt: now.Add(200 * time.Millisecond)},
	} {
		if err := b.Add(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Current().Len(); got != 3 {
		t.Fatalf("%d active, want 3", got)
	}
	await(t, "every silence to end", func() bool { return len(c.ended()) == 3 })
	ended := c.ended()
	if ended[0] != "first" || ended[1] != "second" || ended[2] != "third" {
		t.Errorf("ended %v, want first, second, third", ended)
	}
	if b.Current() != nil || b.Silenced("http://a/", nil) {
		t.Error("silences still active after their end")
	}
	if raws, err := store.LoadSilences(); err != nil || len(raws) != 0 {
		t.Errorf("store holds %d silences (%v) after they ended", len(raws), err)
	}
}

func TestBookEndUnknownAndTwice(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	b := openBook(t, store)
	var c changes
	b.OnChange(c.add)
	s := silence.Silence{ID: "x", URL: "http://a/", Reason: "r", StartsAt: time.Now(), EndsAt: time.Now().Add(time.Hour)}
	if err := b.Add(s); err != nil {
		t.Fatal(err)
	}
	if !b.Silenced("http://a/", nil) {
		t.Fatal("not silenced after Add")
	}
	if got, err := b.End("x"); err != nil || got.ID != "x" {
		t.Fatalf("End = %+v, %v", got, err)
	}
	if _, err := b.End("x"); err != silence.ErrNotFound {
		t.Errorf("second End: %v, want ErrNotFound", err)
	}
	if _, err := b.End("nope"); err != silence.ErrNotFound {
		t.Errorf("End of an unknown id: %v, want ErrNotFound", err)
	}
	if b.Silenced("http://a/", nil) {
		t.Error("still silenced after End")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.got) != 2 || len(c.got[0].Started) != 1 || len(c.got[1].Ended) != 1 {
		t.Errorf("changes %+v, want one start and one end", c.got)
	}
}
