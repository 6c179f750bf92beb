package persistence

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
)

// flap adds n changes to l, one a minute after the registration of reg,
// alternating healthy and unhealthy, with codes 1 to n.
func flap(l *history.Log, r *health.Registration, n int) {
	for i := 1; i <= n; i++ {
		st, prev := health.Unhealthy, health.Healthy
		if i%2 == 0 {
			st, prev = prev, st
		}
		l.Add(history.NewChange(r.CreatedAt.Add(time.Duration(i)*time.Minute), st, prev, i, ""))
	}
}

func historyCodes(l *history.Log) []int {
	var out []int
	for _, c := range l.Newest() {
		out = append(out, c.Code())
	}
	return out
}

// historyKeys lists the h/ keys in the store.
func historyKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(prefixHistory)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			keys = append(keys, string(it.Item().Key()))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func openLimit(t *testing.T, dir string, limit int) *Store {
	t.Helper()
	s, err := OpenWith(dir, quiet, Options{HistoryLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHistoryRoundTripBoundedAndDeletedWithItsURL(t *testing.T) {
	dir := t.TempDir()
	s := openLimit(t, dir, 5)
	ctx := context.Background()
	a, b, c := reg("http://a/", `1`), reg("http://b/", `2`), reg("http://c/", `3`)
	if err := s.Write(ctx, []Op{{URL: a.URL, Reg: a}, {URL: b.URL, Reg: b}, {URL: c.URL, Reg: c}}); err != nil {
		t.Fatal(err)
	}
	ha, hb := history.New(5), history.New(5)
	flap(ha, a, 12) // more than the bound
	flap(hb, b, 2)
	s.SaveHistory(a.URL, ha)
	s.SaveHistory(b.URL, hb)
	s.flushLazy()
	flap(hb, b, 3) // saved by Close
	s.SaveHistory(b.URL, hb)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openLimit(t, dir, 5)
	got := loadMap(t, s)
	if want := []int{12, 11, 10, 9, 8}; !slices.Equal(historyCodes(got[a.URL].History), want) {
		t.Errorf("a's history after reopen: %v, want the newest 5 %v", historyCodes(got[a.URL].History), want)
	}
	if want := []int{3, 2, 1, 2, 1}; !slices.Equal(historyCodes(got[b.URL].History), want) {
		t.Errorf("b's history after reopen: %v, want %v (the changes saved at Close included)", historyCodes(got[b.URL].History), want)
	}
	if got[c.URL].History != nil {
		t.Errorf("c has a history it never saved: %v", historyCodes(got[c.URL].History))
	}

	// Deleting a URL deletes its history, also a history still waiting for
	// its flush.
	hb.Add(history.NewChange(b.CreatedAt.Add(time.Hour), health.Unreachable, health.Healthy, 0, health.KindRefused))
	s.SaveHistory(b.URL, hb)
	if err := s.Write(ctx, []Op{{URL: a.URL}, {URL: b.URL}}); err != nil {
		t.Fatal(err)
	}
	s.flushLazy()
	if keys := historyKeys(t, s); len(keys) != 0 {
		t.Errorf("history keys after deleting their URLs: %q, want none", keys)
	}

	// Registered again, a URL starts with an empty history, even when an old
	// history was left behind (a flush that raced its delete).
	old := history.New(5)
	flap(old, a, 3)
	a2 := reg(a.URL, `"again"`)
	a2.CreatedAt = a.CreatedAt.Add(24 * time.Hour)
	if err := s.Write(ctx, []Op{{URL: a.URL, Reg: a2}}); err != nil {
		t.Fatal(err)
	}
	s.SaveHistory(a.URL, old)
	s.SaveHistory("http://gone/", old) // an orphan
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openLimit(t, dir, 5)
	defer s.Close()
	got = loadMap(t, s)
	if h := got[a.URL].History; h != nil {
		t.Errorf("a registered again starts with history %v, want none", historyCodes(h))
	}
	if keys := historyKeys(t, s); !slices.Equal(keys, []string{"h/" + a.URL}) {
		t.Errorf("history keys after load: %q, want only a's (the orphan deleted)", keys)
	}
}

func TestHistoryStoredSizeIsBounded(t *testing.T) {
	dir := t.TempDir()
	s := openLimit(t, dir, 100)
	defer s.Close()
	r := reg("http://flappy/", `null`)
	if err := s.Write(context.Background(), []Op{{URL: r.URL, Reg: r}}); err != nil {
		t.Fatal(err)
	}
	h := history.New(100)
	for range 10 {
		flap(h, r, 100)
		s.SaveHistory(r.URL, h)
		s.flushLazy()
	}
	var size int
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(prefixHistory + r.URL))
		if err != nil {
			return err
		}
		size = int(item.ValueSize())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if size != 1+100*13 {
		t.Fatalf("stored history of 1,000 changes is %d bytes, want %d (100 changes)", size, 1+100*13)
	}
}
