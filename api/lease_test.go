package api

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestLeaseFromQuery: ttl is 0 or 10s-720h, pause true or false; anything
// else is a 400 naming the parameter.
func TestLeaseFromQuery(t *testing.T) {
	tests := []struct {
		query     string
		wantTTL   time.Duration // -1: not given
		wantPause string        // "": not given
		wantErr   string        // substring; empty means valid
	}{
		{"", -1, "", ""},
		{"ttl=30m", 30 * time.Minute, "", ""},
		{"ttl=10s", 10 * time.Second, "", ""},
		{"ttl=720h", 720 * time.Hour, "", ""},
		{"ttl=0", 0, "", ""},
		{"ttl=0s", 0, "", ""},
		{"ttl=%2030m%20", 30 * time.Minute, "", ""},
		{"pause=true", -1, "true", ""},
		{"pause=false&ttl=1h", time.Hour, "false", ""},
		{"ttl=9s", 0, "", "ttl 9s is outside 10s-720h"},
		{"ttl=721h", 0, "", "ttl 721h0m0s is outside"},
		{"ttl=-1m", 0, "", "ttl -1m0s is outside"},
		{"ttl=30", 0, "", `ttl "30" is not a duration`},
		{"ttl=", 0, "", `ttl "" is not a duration`},
		{"ttl=forever", 0, "", "ttl"},
		{"pause=yes", 0, "", `pause "yes" must be true or false`},
		{"pause=1", 0, "", "pause"},
		{"pause=TRUE", 0, "", "pause"},
		{"pause=", 0, "", "pause"},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		ttl, pause, err := leaseFromQuery(q)
		if tc.wantErr != "" {
			if err == nil || err.code != http.StatusBadRequest || !strings.Contains(err.msg, tc.wantErr) {
				t.Errorf("%q: error %v, want a 400 containing %q", tc.query, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: unexpected error %v", tc.query, err)
			continue
		}
		if got := durationOr(ttl, -1); got != tc.wantTTL {
			t.Errorf("%q: ttl %v, want %v", tc.query, got, tc.wantTTL)
		}
		if got := boolOr(pause); got != tc.wantPause {
			t.Errorf("%q: pause %q, want %q", tc.query, got, tc.wantPause)
		}
	}
}

// TestParseBulkItemLease: an item's ttl and pause are checked like PUT's;
// fields not given keep the URL's lease and pause.
func TestParseBulkItemLease(t *testing.T) {
	tests := []struct {
		item      string
		wantTTL   time.Duration // -1: not given
		wantPause string
		wantErr   string
	}{
		{`{"url":"http://h/"}`, -1, "", ""},
		{`{"url":"http://h/","ttl":"30m","pause":true}`, 30 * time.Minute, "true", ""},
		{`{"url":"http://h/","ttl":"0","pause":false}`, 0, "false", ""},
		{`{"url":"http://h/","ttl":null,"pause":null}`, -1, "", ""},
		{`{"url":"http://h/","ttl":"1s"}`, 0, "", "ttl 1s is outside 10s-720h"},
		{`{"url":"http://h/","ttl":"31d"}`, 0, "", `ttl "31d" is not a duration`},
		{`{"url":"http://h/","ttl":60}`, 0, "", `ttl must be a string like "30m"`},
		{`{"url":"http://h/","pause":"true"}`, 0, "", "pause must be true or false"},
		{`{"url":"http://h/","pause":1}`, 0, "", "pause must be true or false"},
		{`{"url":"http://h/","paused":true}`, 0, "", `unknown field "paused"`},
	}
	for _, tt := range tests {
		item, err := parseBulkItem(json.RawMessage(tt.item))
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %v, want %q", tt.item, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.item, err)
			continue
		}
		if got := durationOr(item.TTL, -1); got != tt.wantTTL {
			t.Errorf("%s: ttl %v, want %v", tt.item, got, tt.wantTTL)
		}
		if got := boolOr(item.Pause); got != tt.wantPause {
			t.Errorf("%s: pause %q, want %q", tt.item, got, tt.wantPause)
		}
	}
}

func durationOr(d *time.Duration, none time.Duration) time.Duration {
	if d == nil {
		return none
	}
	return *d
}

func boolOr(b *bool) string {
	switch {
	case b == nil:
		return ""
	case *b:
		return "true"
	}
	return "false"
}
