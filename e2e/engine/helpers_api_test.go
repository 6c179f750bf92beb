package engine

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// The API's JSON shapes.
type (
	probeSettings = harness.ProbeSettings
	status        = harness.Status
	record        = harness.Record
	response      = harness.Response
)

// client does not follow redirects: the tests look at them.
var client = &http.Client{
	Timeout: 60 * time.Second,
	Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConns:        512,
		MaxIdleConnsPerHost: 256,
		IdleConnTimeout:     30 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// send performs one request without failing the test (for goroutines).
func send(method, u string, body []byte, header ...string) (response, error) {
	return harness.Send(client, method, u, body, header...)
}

// do performs one request and fails the test on transport errors.
func do(t *testing.T, method, u string, body []byte, header ...string) response {
	t.Helper()
	return harness.Do(t, client, method, u, body, header...)
}

// q builds "/path?url=<escaped u>&k=v…" from a path, the watched URL and
// extra key/value pairs.
func q(path, watched string, kv ...string) string {
	v := url.Values{}
	v.Set("url", watched)
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// put registers watched with data (nil: empty body) and settings, and wants want.
func put(t *testing.T, p *harness.Process, watched string, data []byte, want int, settings ...string) record {
	t.Helper()
	r := do(t, http.MethodPut, p.URL(q("/", watched, settings...)), data)
	if r.Code != want {
		t.Fatalf("PUT %s: got %d %s, want %d", watched, r.Code, r.Body, want)
	}
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("PUT %s: body %q is not a record: %v", watched, r.Body, err)
	}
	if rec.URL != watched {
		t.Fatalf("PUT %s: record url = %q, want %q", watched, rec.URL, watched)
	}
	return rec
}

// getStatus returns the record of watched from GET /status.
func getStatus(t *testing.T, p *harness.Process, watched string) record {
	t.Helper()
	r := do(t, http.MethodGet, p.URL(q("/status", watched)), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /status?url=%s: got %d %s, want 200", watched, r.Code, r.Body)
	}
	var rec record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("GET /status: body %q is not a record: %v", r.Body, err)
	}
	return rec
}

// getAll returns GET /all as records.
func getAll(t *testing.T, p *harness.Process) []record {
	t.Helper()
	r := do(t, http.MethodGet, p.URL("/all"), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /all: got %d %s, want 200", r.Code, r.Body)
	}
	var recs []record
	if err := json.Unmarshal(r.Body, &recs); err != nil {
		t.Fatalf("GET /all: body is not a JSON array of records: %v\n%.500s", err, r.Body)
	}
	return recs
}

// waitStatus polls /status until cond holds, failing after d.
func waitStatus(t *testing.T, p *harness.Process, watched string, d time.Duration, desc string, cond func(record) bool) record {
	t.Helper()
	var last record
	if !harness.Poll(d, func() bool { last = getStatus(t, p, watched); return cond(last) }) {
		t.Fatalf("%s: %s not reached within %s; last status %+v", watched, desc, d, last.Status)
	}
	return last
}

// eventually polls cond until it holds, failing after d.
func eventually(t *testing.T, d time.Duration, desc string, cond func() bool) {
	t.Helper()
	harness.Eventually(t, d, desc, cond)
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), d)
}

// jsonEqual compares two JSON texts by value.
func jsonEqual(a, b []byte) bool { return harness.JSONEqual(a, b) }

// wantErrorJSON checks that r is a JSON {"error": "…"} answer with a non-empty message.
func wantErrorJSON(t *testing.T, what string, r response) {
	t.Helper()
	var e struct {
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &e); err != nil || e.Error == nil || *e.Error == "" {
		t.Errorf("%s: body %q is not a JSON {\"error\": \"…\"} with a message", what, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("%s: Content-Type = %q, want application/json", what, ct)
	}
}
