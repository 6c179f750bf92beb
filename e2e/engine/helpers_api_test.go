package engine

import (
	"context"
	"encoding/json"
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
var client = harness.NewClient(256)

// send performs one request without failing the test (for goroutines).
func send(method, u string, body []byte, header ...string) (response, error) {
	return harness.Send(client, method, u, body, header...)
}

// do performs one request and fails the test on transport errors.
func do(t *testing.T, method, u string, body []byte, header ...string) response {
	t.Helper()
	return harness.Do(t, client, method, u, body, header...)
}

// q builds "/path?url=<escaped u>&k=v…"; see harness.Query.
func q(path, watched string, kv ...string) string { return harness.Query(path, watched, kv...) }

// put registers watched with data (nil: empty body) and settings, and wants want.
func put(t *testing.T, p *harness.Process, watched string, data []byte, want int, settings ...string) record {
	t.Helper()
	return harness.Put(t, client, p, watched, data, want, settings...)
}

// getStatus returns the record of watched from GET /status.
func getStatus(t *testing.T, p *harness.Process, watched string) record {
	t.Helper()
	return harness.GetStatus(t, client, p, watched)
}

// getAll returns GET /all as records.
func getAll(t *testing.T, p *harness.Process) []record {
	t.Helper()
	return harness.GetAll(t, client, p)
}

// metricValue reads one unlabelled sample from /metrics.
func metricValue(t *testing.T, p *harness.Process, name string) (float64, bool) {
	t.Helper()
	return harness.MetricValue(t, client, p, name)
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
