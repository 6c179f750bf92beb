package health

import (
	"strings"
	"testing"
)

// FuzzParseExpect feeds arbitrary text to ParseExpect: it must never panic,
// and an accepted list must be canonical (its String parses back to itself),
// hold only codes in 100-599, and contain the same codes as its canonical form.
func FuzzParseExpect(f *testing.F) {
	for _, seed := range []string{"200", "200-299", " 200 , 204,300-399", "", ",", "-", "200-", "-200",
		"599-100", "100-599", "+200", "0200", "200-299-300", "9999999999999999999999", "２００"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, text string) {
		e, err := ParseExpect(text)
		if err != nil {
			if !strings.Contains(err.Error(), "expect") {
				t.Fatalf("ParseExpect(%q) error %q does not name the setting", text, err)
			}
			return
		}
		if e.IsZero() {
			t.Fatalf("ParseExpect(%q) accepted an empty list", text)
		}
		again, err := ParseExpect(e.String())
		if err != nil {
			t.Fatalf("canonical %q of %q does not parse: %v", e.String(), text, err)
		}
		if again.String() != e.String() {
			t.Fatalf("canonical form not stable: %q → %q → %q", text, e.String(), again.String())
		}
		for code := 0; code <= 700; code++ {
			in := e.Contains(code)
			if in && (code < 100 || code > 599) {
				t.Fatalf("ParseExpect(%q) contains %d, outside 100-599", text, code)
			}
			if in != again.Contains(code) {
				t.Fatalf("ParseExpect(%q) and its canonical %q disagree on %d", text, e.String(), code)
			}
		}
	})
}

// FuzzSettingsJSON feeds arbitrary bytes to Settings.UnmarshalJSON: it must
// never panic, and valid settings it accepts must survive a round trip
// through MarshalJSON unchanged.
func FuzzSettingsJSON(f *testing.F) {
	for _, seed := range []string{
		`{"interval":"1m30s","timeout":"1.5s","failure_threshold":2,"success_threshold":4,"expect":"200,204"}`,
		`{"interval":"10s","timeout":"5s","failure_threshold":3,"success_threshold":1,"expect":"200-399"}`,
		`{"interval":"-1s"}`, `{"expect":""}`, `{}`, `null`, `[]`, `{"interval":"9223372036854775807ns","timeout":"1ns"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Settings
		if err := s.UnmarshalJSON(b); err != nil || s.Validate() != nil {
			return
		}
		out, err := s.MarshalJSON()
		if err != nil {
			t.Fatalf("MarshalJSON of accepted settings %+v: %v", s, err)
		}
		var back Settings
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("%s does not read back: %v", out, err)
		}
		if !back.SameSchedule(s) || back.Validate() != nil {
			t.Fatalf("round trip changed %+v into %+v (via %s)", s, back, out)
		}
	})
}
