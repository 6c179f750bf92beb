package api

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url string
		ok  bool
	}{
		{"http://10.0.3.7:7700/health", true},
		{"https://pod.example/health?x=1", true},
		{"HTTP://UPPER.example/", true},
		{"http://user:secret@host/", true},
		{"http://[::1]:8080/", true},
		{"", false},
		{"/health", false},
		{"pod:7700/health", false},
		{"ftp://host/file", false},
		{"http://", false},
		{"http:///path", false},
		{"http://host:99999/", false},
		{"http://host:0/", false},
		{"http://ho st/", false},
		{"http://host/\x00", false},
		{"http://127.0.0.1:/", false},
		{"http://[::1]:/", false},
		{"http://h/" + strings.Repeat("a", MaxURLLength), false},
	}
	for _, tc := range tests {
		err := checkURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkURL(%.60q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestSettingsFromQuery(t *testing.T) {
	tests := []struct {
		query   string
		wantErr string // substring; empty means valid
	}{
		{"", ""},
		{"interval=30s&timeout=2s&failure_threshold=5&success_threshold=2&expect=200,204", ""},
		{"interval=abc", "interval"},
		{"timeout=5", "timeout"},
		{"failure_threshold=0", "failure_threshold"},
		{"success_threshold=101", "success_threshold"},
		{"failure_threshold=two", "failure_threshold"},
		{"expect=2xx", "expect"},
		{"expect=", "expect"},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		_, err := settingsFromQuery(q)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%q: unexpected error %v", tc.query, err)
		case tc.wantErr != "" && err == nil:
			t.Errorf("%q: no error, want one naming %s", tc.query, tc.wantErr)
		case tc.wantErr != "" && (!strings.Contains(err.msg, tc.wantErr) || err.code != http.StatusBadRequest):
			t.Errorf("%q: error %d %q does not name %s", tc.query, err.code, err.msg, tc.wantErr)
		}
	}
}

func TestCompactJSON(t *testing.T) {
	tests := []struct {
		in, out string
		ok      bool
	}{
		{"", "null", true},
		{"  \n", "null", true},
		{`{"a": 1,  "b": [1, 2]}`, `{"a":1,"b":[1,2]}`, true},
		{`"text"`, `"text"`, true},
		{`42`, `42`, true},
		{`{"a":`, "", false},
		{`index=movies`, "", false},
		{`{} {}`, "", false},
		{strings.Repeat("[", MaxDataDepth) + strings.Repeat("]", MaxDataDepth), strings.Repeat("[", MaxDataDepth) + strings.Repeat("]", MaxDataDepth), true},
		{strings.Repeat("[", MaxDataDepth+1) + strings.Repeat("]", MaxDataDepth+1), "", false},
	}
	for _, tc := range tests {
		got, err := compactJSON([]byte(tc.in))
		if (err == nil) != tc.ok || (tc.ok && string(got) != tc.out) {
			t.Errorf("compactJSON(%q) = %q, %v; want %q ok=%v", tc.in, got, err, tc.out, tc.ok)
		}
	}
}

func TestParseBulkItem(t *testing.T) {
	deep := strings.Repeat("[", MaxDataDepth) + strings.Repeat("]", MaxDataDepth)
	tests := []struct {
		item     string
		wantErr  string
		wantData string // "" = nil: no data given
	}{
		{`{"url":"http://a/","data":{"x":1}}`, "", `{"x":1}`},
		{`{"url":"http://a/"}`, "", ""},
		{`{"url":"http://a/","data":null}`, "", "null"},
		{`{"url":"http://a/","data":` + deep + `}`, "", deep},
		{`{"url":"http://a/","interval":"30s","timeout":"1s","failure_threshold":2,"success_threshold":3,"expect":"200"}`, "", ""},
		{`{"url":"ftp://a/"}`, "http", ""},
		{`{"data":1}`, "empty", ""},
		{`[1,2]`, "object", ""},
		{`{"url":"http://a/","interval":"fast"}`, "interval", ""},
		{`{"url":"http://a/","failure_threshold":1.5}`, "failure_threshold", ""},
		{`{"url":"http://a/","failure_threshold":"3"}`, "JSON number", ""},
		{`{"url":"http://a/","success_threshold":"1"}`, "JSON number", ""},
		{`{"url":"http://a/","failure_threshold":true}`, "JSON number", ""},
		{`{"url":"http://a/","expect":"abc"}`, "expect", ""},
		{`{"url":"http://a/","intervall":"5s"}`, "unknown field", ""},
		{"{\"url\":\"http://a/\xff\"}", "UTF-8", ""},
		{"{\"url\":\"http://a/\",\"data\":\"\xff\"}", "UTF-8", ""},
		{`{"url":"http://127.0.0.1:/"}`, "empty port", ""},
		{`{"url":"http://a/","data":[` + deep + `]}`, "64 levels", ""},
		{`{"url":"http://a/","data":{"a":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat("}", 101) + `}`, "64 levels", ""},
	}
	for _, tc := range tests {
		item, err := parseBulkItem([]byte(tc.item))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%.80s: unexpected error %v", tc.item, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%.80s: error %v, want one mentioning %q", tc.item, err, tc.wantErr)
		case tc.wantErr == "" && string(item.Data) != tc.wantData:
			t.Errorf("%.80s: data %q, want %q", tc.item, item.Data, tc.wantData)
		case tc.wantErr == "" && tc.wantData == "" && item.Data != nil:
			t.Errorf("%.80s: data %q, want nil (none given)", tc.item, item.Data)
		}
	}
}

func TestDeeper(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  bool
	}{
		{`1`, 0, false},
		{`[]`, 0, true},
		{`[[]]`, 2, false},
		{`[[[]]]`, 2, true},
		{`{"a":{"b":[1]}}`, 3, false},
		{`{"a":{"b":[1]}}`, 2, true},
		{`"[[[[[["`, 1, false},
		{`["\"[[[", {}]`, 2, false},
		{`["\\", [[]]]`, 2, true},
	}
	for _, tc := range tests {
		if got := deeper([]byte(tc.in), tc.limit); got != tc.want {
			t.Errorf("deeper(%s, %d) = %v, want %v", tc.in, tc.limit, got, tc.want)
		}
	}
}
