package silence_test

import (
	"slices"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/silence"
)

// Adopt, Forget and Replace change the active silences like Add and End,
// tell the same changes, and never write to the store.
func TestBookAdoptForgetReplace(t *testing.T) {
	now := time.Now()
	urlSilence := func(id string, ends time.Time) silence.Silence {
		return silence.Silence{ID: id, URL: "http://" + id + "/", Reason: "r", StartsAt: now, EndsAt: ends}
	}
	raw := func(s silence.Silence) []byte {
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a := urlSilence("a", now.Add(time.Hour))
	longerA := urlSilence("a", now.Add(2*time.Hour))
	overA := urlSilence("a", now.Add(-time.Minute))
	b := labelSilence(t, "b", "team=search", now.Add(time.Hour))
	c := urlSilence("c", now.Add(30*time.Minute))
	overD := urlSilence("d", now.Add(-time.Minute))

	tests := []struct {
		name    string
		do      func(*silence.Book) error
		wantErr bool
		started []string // ids told as started, in order
		ended   []string
		active  []string // active ids after, sorted
	}{
		{"adopt a new silence", func(bk *silence.Book) error { return bk.Adopt(raw(b)) }, false,
			[]string{"b"}, nil, []string{"a", "b"}},
		{"adopt the active silence itself", func(bk *silence.Book) error { return bk.Adopt(raw(a)) }, false,
			nil, nil, []string{"a"}},
		{"adopt a replacement", func(bk *silence.Book) error { return bk.Adopt(raw(longerA)) }, false,
			[]string{"a"}, []string{"a"}, []string{"a"}},
		{"adopt an ended version of an active silence", func(bk *silence.Book) error { return bk.Adopt(raw(overA)) }, false,
			nil, []string{"a"}, nil},
		{"adopt an unknown silence already over", func(bk *silence.Book) error { return bk.Adopt(raw(overD)) }, false,
			nil, nil, []string{"a"}},
		{"adopt bytes that are no silence", func(bk *silence.Book) error { return bk.Adopt([]byte(`{"id":"x"}`)) }, true,
			nil, nil, []string{"a"}},
		{"forget the active silence", func(bk *silence.Book) error { bk.Forget("a"); return nil }, false,
			nil, []string{"a"}, nil},
		{"forget an unknown id", func(bk *silence.Book) error { bk.Forget("zz"); return nil }, false,
			nil, nil, []string{"a"}},
		{"replace with a superset", func(bk *silence.Book) error { bk.Replace([][]byte{raw(a), raw(c), raw(b)}); return nil }, false,
			[]string{"c", "b"}, nil, []string{"a", "b", "c"}},
		{"replace with nothing", func(bk *silence.Book) error { bk.Replace(nil); return nil }, false,
			nil, []string{"a"}, nil},
		{"replace with the same set", func(bk *silence.Book) error { bk.Replace([][]byte{raw(a)}); return nil }, false,
			nil, nil, []string{"a"}},
		{"replace skips unreadable and ended values", func(bk *silence.Book) error {
			bk.Replace([][]byte{raw(longerA), []byte("not json"), raw(overD)})
			return nil
		}, false, []string{"a"}, []string{"a"}, []string{"a"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := openStore(t, t.TempDir())
			defer store.Close()
			bk := openBook(t, store)
			if err := bk.Add(a); err != nil {
				t.Fatal(err)
			}
			var ch changes
			bk.OnChange(ch.add)

			if err := tc.do(bk); (err != nil) != tc.wantErr {
				t.Fatalf("error %v, want error %v", err, tc.wantErr)
			}
			var started, ended []string
			ch.mu.Lock()
			for _, c := range ch.got {
				for _, s := range c.Started {
					started = append(started, s.ID)
				}
				for _, s := range c.Ended {
					ended = append(ended, s.ID)
				}
			}
			told := len(ch.got)
			ch.mu.Unlock()
			if !slices.Equal(started, tc.started) || !slices.Equal(ended, tc.ended) {
				t.Errorf("told started %v ended %v, want started %v ended %v", started, ended, tc.started, tc.ended)
			}
			if want := min(1, len(tc.started)+len(tc.ended)); told != want {
				t.Errorf("told %d changes, want %d", told, want)
			}
			var active []string
			for _, s := range bk.Current().List() {
				active = append(active, s.ID)
			}
			slices.Sort(active)
			if !slices.Equal(active, tc.active) {
				t.Errorf("active %v, want %v", active, tc.active)
			}
			if slices.Contains(tc.active, "b") && !bk.Silenced("http://x/", map[string]string{"team": "search"}) {
				t.Error("an adopted label silence does not silence its labels")
			}
			// Only Add wrote to the store.
			raws, err := store.LoadSilences()
			if err != nil || len(raws) != 1 {
				t.Errorf("store holds %d silences (%v), want only the one added", len(raws), err)
			}
		})
	}
}

// An adopted silence ends on its timer like an added one.
func TestBookAdoptedSilenceEndsOnTime(t *testing.T) {
	store := openStore(t, t.TempDir())
	defer store.Close()
	bk := openBook(t, store)
	var ch changes
	bk.OnChange(ch.add)
	s := silence.Silence{ID: "soon", URL: "http://a/", Reason: "r", StartsAt: time.Now(), EndsAt: time.Now().Add(100 * time.Millisecond)}
	raw, err := s.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := bk.Adopt(raw); err != nil {
		t.Fatal(err)
	}
	if !bk.Silenced("http://a/", nil) {
		t.Fatal("not silenced after Adopt")
	}
	await(t, "the adopted silence to end", func() bool { return len(ch.ended()) == 1 })
	if bk.Silenced("http://a/", nil) {
		t.Error("still silenced after its end")
	}
}
