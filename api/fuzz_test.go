package api

import (
	"encoding/json"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/spo2/spo2/actors/health"
)

// FuzzBulkItem feeds arbitrary bytes to the bulk item parser: it must never
// panic, and whatever it accepts must be a valid registration request (data
// nil when the item gives none).
func FuzzBulkItem(f *testing.F) {
	for _, seed := range []string{
		`{"url":"http://a/","data":{"x":1}}`,
		`{"url":"https://h:8443/p?q=1","interval":"30s","timeout":"1s","failure_threshold":2,"success_threshold":3,"expect":"200,300-399"}`,
		`{"url":"ftp://a/"}`, `[]`, `null`, `{"url":1}`, `{"url":"http://a/","data":"\xff"}`,
		`{"url":"http://a/","failure_threshold":1e400}`, `{"url":"http://[::1/"}`,
		`{"url":"http://a/","ttl":"30m","pause":true}`, `{"url":"http://a/","ttl":"5s","pause":"x"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		item, err := parseBulkItem(b)
		if err != nil {
			return
		}
		if checkURL(item.URL) != nil {
			t.Fatalf("accepted an invalid URL %q", item.URL)
		}
		if item.Data != nil && (!json.Valid(item.Data) || !utf8.Valid(item.Data)) {
			t.Fatalf("accepted data that is not valid JSON: %q", item.Data)
		}
		if item.TTL != nil && health.CheckTTL(*item.TTL) != nil {
			t.Fatalf("accepted a ttl out of range: %v", *item.TTL)
		}
	})
}

// FuzzQuery feeds arbitrary query strings to the URL and settings parsers.
func FuzzQuery(f *testing.F) {
	for _, seed := range []string{"url=http%3A%2F%2Fa%2F&interval=10s", "url=&expect=200-", "interval=-1s&timeout=9999999h", "url=%ff", "ttl=30m&pause=true", "ttl=1s&pause=maybe"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if u := values.Get("url"); checkURL(u) == nil && !utf8.ValidString(u) {
			t.Fatalf("accepted a URL that is not UTF-8: %q", u)
		}
		_, _ = settingsFromQuery(values)
		if ttl, _, err := leaseFromQuery(values); err == nil && ttl != nil && health.CheckTTL(*ttl) != nil {
			t.Fatalf("accepted a ttl out of range: %v", *ttl)
		}
	})
}
