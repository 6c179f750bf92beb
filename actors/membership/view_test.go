package membership

import (
	"fmt"
	"testing"
)

func TestOwnership(t *testing.T) {
	three := []Member{{Name: "m1", Address: "a1"}, {Name: "m2", Address: "a2"}, {Name: "m3", Address: "a3"}}
	views := []*View{NewView(three[0], three), NewView(three[1], three), NewView(three[2], three)}
	keys := make([]string, 30000)
	for i := range keys {
		keys[i] = fmt.Sprintf("http://127.0.0.1:8080/t/%d", i)
	}
	counts := map[string]int{}
	for _, k := range keys {
		owners := 0
		for _, v := range views {
			if v.Owns(k) {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("%s: %d owners among members that see the same list, want 1", k, owners)
		}
		counts[views[0].Owner(k).Name]++
	}
	for _, m := range three {
		if n := counts[m.Name]; n < 9000 || n > 11000 {
			t.Errorf("%s owns %d of 30000 keys, want about a third", m.Name, n)
		}
	}

	// m3 leaves: only its keys move.
	two := NewView(three[0], three[:2])
	moved := 0
	for _, k := range keys {
		before, after := views[0].Owner(k).Name, two.Owner(k).Name
		if before != "m3" && before != after {
			t.Fatalf("%s moved from %s to %s although %s stayed", k, before, after, before)
		}
		if before == "m3" {
			moved++
		}
	}
	if moved != counts["m3"] {
		t.Fatalf("moved %d keys, want m3's %d", moved, counts["m3"])
	}
}

func TestNewViewSortsAndDeduplicates(t *testing.T) {
	v := NewView(Member{Name: "b", Address: "self"}, []Member{{Name: "c"}, {Name: "a"}, {Name: "b", Address: "old"}, {Name: ""}})
	if got := fmt.Sprint(v.Names()); got != "[a b c]" {
		t.Fatalf("names %s, want [a b c]", got)
	}
	for _, m := range v.Members {
		if m.Name == "b" && m.Address != "self" {
			t.Fatalf("self's address %q, want the view's own", m.Address)
		}
	}
	if got := len(v.Others()); got != 2 {
		t.Fatalf("%d others, want 2", got)
	}
}
