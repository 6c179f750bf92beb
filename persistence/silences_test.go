package persistence

import (
	"slices"
	"testing"
)

func TestReplaceSilencesKeepsExactlyTheSet(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, nil)
	for id, v := range map[string]string{"a": `"old a"`, "b": `"b"`, "gone": `"gone"`} {
		if err := s.SaveSilence(id, []byte(v)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.ReplaceSilences(map[string][]byte{"a": []byte(`"new a"`), "b": []byte(`"b"`), "c": []byte(`"c"`)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, nil) // durable: read back after a reopen
	defer s.Close()
	raws, err := s.LoadSilences()
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, len(raws))
	for i, r := range raws {
		got[i] = string(r)
	}
	slices.Sort(got)
	if want := []string{`"b"`, `"c"`, `"new a"`}; !slices.Equal(got, want) {
		t.Fatalf("silences after the replace %v, want %v", got, want)
	}
}
