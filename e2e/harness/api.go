package harness

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"
)

// Query builds "/path?url=<escaped watched>&k=v…" from a path, the watched
// URL and extra key, value pairs.
func Query(path, watched string, kv ...string) string {
	v := url.Values{}
	v.Set("url", watched)
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return path + "?" + v.Encode()
}

// Put registers watched on p with data (nil: empty body) and settings (key,
// value pairs of PUT's query parameters), and fails the test unless the
// answer has status want and is watched's record, which it returns.
func Put(t testing.TB, client *http.Client, p *Process, watched string, data []byte, want int, settings ...string) Record {
	t.Helper()
	r := Do(t, client, http.MethodPut, p.URL(Query("/", watched, settings...)), data)
	if r.Code != want {
		t.Fatalf("PUT %s: got %d %s, want %d", watched, r.Code, r.Body, want)
	}
	var rec Record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("PUT %s: body %q is not a record: %v", watched, r.Body, err)
	}
	if rec.URL != watched {
		t.Fatalf("PUT %s: record url = %q, want %q", watched, rec.URL, watched)
	}
	return rec
}

// GetStatus returns watched's record from p's GET /status, failing the
// test on any answer but 200 with a record.
func GetStatus(t testing.TB, client *http.Client, p *Process, watched string) Record {
	t.Helper()
	r := Do(t, client, http.MethodGet, p.URL(Query("/status", watched)), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /status?url=%s: got %d %s, want 200", watched, r.Code, r.Body)
	}
	var rec Record
	if err := json.Unmarshal(r.Body, &rec); err != nil {
		t.Fatalf("GET /status: body %q is not a record: %v", r.Body, err)
	}
	return rec
}

// GetAll returns p's GET /all as records, failing the test on any answer
// but 200 with a JSON array of records.
func GetAll(t testing.TB, client *http.Client, p *Process) []Record {
	t.Helper()
	r := Do(t, client, http.MethodGet, p.URL("/all"), nil)
	if r.Code != http.StatusOK {
		t.Fatalf("GET /all: got %d %s, want 200", r.Code, r.Body)
	}
	var recs []Record
	if err := json.Unmarshal(r.Body, &recs); err != nil {
		t.Fatalf("GET /all: body is not a JSON array of records: %v\n%.500s", err, r.Body)
	}
	return recs
}

// MetricValue reads one unlabelled sample, name, from p's /metrics; false
// when the metric is absent or not a number.
func MetricValue(t testing.TB, client *http.Client, p *Process, name string) (float64, bool) {
	t.Helper()
	r := Do(t, client, http.MethodGet, p.URL("/metrics"), nil)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindSubmatch(r.Body)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	return v, err == nil
}
