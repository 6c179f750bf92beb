package docs

import (
	"encoding/json"
	"testing"
)

func TestSameShape(t *testing.T) {
	tests := []struct {
		want, got string
		same      bool
	}{
		{`{"a":1,"b":"x"}`, `{"b":"y","a":2}`, true},
		{`{"a":1}`, `{"a":1,"b":2}`, false},                  // an undocumented key
		{`{"a":1}`, `{"a":"1"}`, false},                      // another type
		{`{"t":null}`, `{"t":"2026-11-30T12:00:00Z"}`, true}, // null matches anything
		{`[{"a":1}]`, `[{"a":1},{"a":2}]`, false},            // another length
		{`{"error":"bad url"}`, `{"error":"bad url"}`, true},
		{`{"error":"bad url"}`, `{"error":"bad URL"}`, false}, // error texts are exact
		{`{"errors":[{"error":"x"}]}`, `{"errors":[{"error":"y"}]}`, false},
		{`{"state":"pending","error":""}`, `{"state":"unreachable","error":"connection refused"}`, true}, // a probe's error varies
	}
	for _, tc := range tests {
		var want, got any
		if err := json.Unmarshal([]byte(tc.want), &want); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(tc.got), &got); err != nil {
			t.Fatal(err)
		}
		if d := sameShape("", want, got); (d == "") != tc.same {
			t.Errorf("sameShape(%s, %s) = %q, want same=%v", tc.want, tc.got, d, tc.same)
		}
	}
}
