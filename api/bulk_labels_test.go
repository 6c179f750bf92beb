package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/spo2/spo2/actors/health"
)

// TestParseBulkItemLabels: an item's labels are checked like PUT's; no
// "labels" field (or null) keeps the URL's labels, {} clears them.
func TestParseBulkItemLabels(t *testing.T) {
	var many []string
	for i := range 33 {
		many = append(many, fmt.Sprintf(`"k%d":"v"`, i))
	}
	tests := []struct {
		item    string
		want    health.Labels // nil: keep
		wantErr string
	}{
		{`{"url":"http://h/"}`, nil, ""},
		{`{"url":"http://h/","labels":null}`, nil, ""},
		{`{"url":"http://h/","labels":{}}`, health.Labels{}, ""},
		{`{"url":"http://h/","labels":{"team":"search","tier":""}}`, health.Labels{"team": "search", "tier": ""}, ""},
		{`{"url":"http://h/","labels":{"Team":"x"}}`, nil, `label "Team=x": key must be`},
		{`{"url":"http://h/","labels":{"k":"` + strings.Repeat("v", 256) + `"}}`, nil, `label "k": value is longer than 255 bytes`},
		{`{"url":"http://h/","labels":{` + strings.Join(many, ",") + `}}`, nil, "33 labels; at most 32"},
		{`{"url":"http://h/","labels":{"team":1}}`, nil, "labels must be an object of strings"},
		{`{"url":"http://h/","labels":["team=a"]}`, nil, "labels must be an object of strings"},
	}
	for _, tt := range tests {
		item, err := parseBulkItem(json.RawMessage(tt.item))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%.60s: error %v, want %q", tt.item, err, tt.wantErr)
			}
			if item.URL != "http://h/" {
				t.Errorf("%.60s: the error does not name the item's url (%q)", tt.item, item.URL)
			}
			continue
		}
		if err != nil {
			t.Errorf("%.60s: %v", tt.item, err)
			continue
		}
		if (item.Labels == nil) != (tt.want == nil) || !item.Labels.Equal(tt.want) {
			t.Errorf("%.60s: labels %#v, want %#v", tt.item, item.Labels, tt.want)
		}
	}
}
