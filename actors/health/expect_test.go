package health

import (
	"strconv"
	"testing"
)

// TestParseExpectSharesEqualLists: lists with the same canonical form are
// one shared Expect, and lists past the shared ones still parse and match.
func TestParseExpectSharesEqualLists(t *testing.T) {
	tests := []struct {
		a, b  string
		same  bool
		code  int
		holds bool
	}{
		{"200-399", " 200-399 ", true, 302, true},
		{"200,204", "200, 204", true, 204, true},
		{"200", "200-200", true, 201, false},
		{"200", "201", false, 200, true},
	}
	for _, tc := range tests {
		a, b := MustParseExpect(tc.a), MustParseExpect(tc.b)
		if (a == b) != tc.same {
			t.Errorf("%q and %q shared: %v, want %v", tc.a, tc.b, a == b, tc.same)
		}
		if got := a.Contains(tc.code); got != tc.holds {
			t.Errorf("%q contains %d: %v, want %v", tc.a, tc.code, got, tc.holds)
		}
	}
	if MustParseExpect(DefaultExpect.String()) != DefaultExpect {
		t.Error("the default list is not shared")
	}
	for i := range internLimit + 10 { // past the shared lists
		text := "100," + strconv.Itoa(200+i)
		e := MustParseExpect(text)
		if e.String() != text || !e.Contains(200+i) || e.Contains(199) {
			t.Fatalf("%q parsed as %q (contains %d: %v)", text, e.String(), 200+i, e.Contains(200+i))
		}
	}
}
