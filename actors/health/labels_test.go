package health

import (
	"fmt"
	"strings"
	"testing"
)

func TestParseLabels(t *testing.T) {
	many := make([]string, 33)
	for i := range many {
		many[i] = fmt.Sprintf("k%d=v", i)
	}
	tests := []struct {
		name    string
		pairs   []string
		want    Labels
		wantErr string // a substring of the error; "" for none
	}{
		{"two", []string{"team=search", "tier=gold"}, Labels{"team": "search", "tier": "gold"}, ""},
		{"empty clears", []string{""}, Labels{}, ""},
		{"empty value", []string{"team="}, Labels{"team": ""}, ""},
		{"value with =", []string{"q=a=b"}, Labels{"q": "a=b"}, ""},
		{"all key characters", []string{"a.b-c_d9=x"}, Labels{"a.b-c_d9": "x"}, ""},
		{"value of 255 bytes", []string{"k=" + strings.Repeat("é", 127) + "x"}, Labels{"k": strings.Repeat("é", 127) + "x"}, ""},
		{"32 labels", many[:32], nil, ""},
		{"33 labels", many, nil, "at most 32"},
		{"no =", []string{"team"}, nil, `label "team": write key=value`},
		{"empty among others", []string{"a=b", ""}, nil, `label "": write key=value`},
		{"upper-case key", []string{"Team=x"}, nil, `label "Team=x": key must be`},
		{"empty key", []string{"=x"}, nil, `label "=x": key must be`},
		{"key of 64", []string{strings.Repeat("k", 64) + "=x"}, nil, "key must be"},
		{"value of 256", []string{"k=" + strings.Repeat("v", 256)}, nil, `label "k": value is longer than 255 bytes`},
		{"bad utf-8", []string{"k=\xff"}, nil, `label "k": value is not valid UTF-8`},
		{"repeated key", []string{"k=a", "k=b"}, nil, `label "k" given more than once`},
	}
	for _, tt := range tests {
		got, err := ParseLabels(tt.pairs)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want one containing %q", tt.name, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got == nil {
			t.Errorf("%s: nil labels (nil means keep)", tt.name)
		}
		if tt.want != nil && !got.Equal(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSelectorMatches(t *testing.T) {
	l := Labels{"team": "search", "tier": "gold", "empty": ""}
	tests := []struct {
		sel     string
		labels  Labels
		want    bool
		wantErr bool
	}{
		{"team=search", l, true, false},
		{"team=search,tier=gold", l, true, false},
		{"tier=gold,team=search", l, true, false},
		{"team=search,tier=silver", l, false, false},
		{"team=ads", l, false, false},
		{"zone=eu", l, false, false},
		{"empty=", l, true, false},
		{"zone=", l, false, false}, // a missing key is not an empty value
		{"team=search", nil, false, false},
		{"team=search", Labels{"team": "searchx"}, false, false},
		{"", l, false, true},
		{"team", l, false, true},
		{"team=search,", l, false, true},
		{"Team=search", l, false, true},
	}
	for _, tt := range tests {
		sel, err := ParseSelector(tt.sel)
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: error %v, want error %v", tt.sel, err, tt.wantErr)
			continue
		}
		if err == nil && sel.Matches(tt.labels) != tt.want {
			t.Errorf("%q on %v: matches %v, want %v", tt.sel, tt.labels, !tt.want, tt.want)
		}
	}
}

func TestLabelsJSONIsAnObject(t *testing.T) {
	for _, tt := range []struct {
		l    Labels
		want string
	}{
		{nil, `{}`},
		{Labels{}, `{}`},
		{Labels{"b": "2", "a": `q"<`}, `{"a":"q\"<","b":"2"}`},
	} {
		got, _ := tt.l.MarshalJSON()
		if string(got) != tt.want {
			t.Errorf("%v: %s, want %s", tt.l, got, tt.want)
		}
	}
}

// TestRegistrationWithoutLabelsReadsAsNone: a registration stored before
// labels existed has no labels field and reads as having none.
func TestRegistrationWithoutLabelsReadsAsNone(t *testing.T) {
	var r Registration
	err := r.UnmarshalJSON([]byte(`{"url":"http://h/","data":null,"probe":{"interval":"10s","timeout":"5s","failure_threshold":3,"success_threshold":1,"expect":"200-399"},"created_at":"2026-11-21T10:00:00Z","updated_at":"2026-11-21T10:00:00Z"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Labels) != 0 {
		t.Fatalf("labels %v, want none", r.Labels)
	}
	if b := r.AppendJSON(nil); strings.Contains(string(b), "labels") {
		t.Fatalf("stored form without labels has a labels field: %s", b)
	}
}
