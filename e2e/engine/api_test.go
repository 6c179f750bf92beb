package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// TestOriginalCommands checks the four original routes (PUT, GET, DELETE /, GET /all) keep
// their shapes, plus the dashboard at GET / without url.
func TestOriginalCommands(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")
	tg := newTarget(t, modeOK)
	u := tg.URL("/health?x=1&y=2") // a query inside the watched URL survives encoding

	// PUT: 201 with the record.
	rec := put(t, p, u, []byte(`{"index": "movies", "customer": 42}`), http.StatusCreated)
	if !jsonEqual(rec.Data, []byte(`{"index":"movies","customer":42}`)) {
		t.Errorf("PUT record data = %s, want the body sent", rec.Data)
	}
	if rec.Probe.Interval != "1s" || rec.Probe.Timeout != "300ms" || rec.Probe.FailureThreshold != 3 ||
		rec.Probe.SuccessThreshold != 1 || rec.Probe.Expect != "200-399" {
		t.Errorf("PUT record probe = %+v, want the defaults {1s 300ms 3 1 200-399}", rec.Probe)
	}
	if rec.Status.State != "pending" && rec.Status.State != "healthy" {
		t.Errorf("new record state = %q, want pending (or already healthy)", rec.Status.State)
	}
	if rec.CreatedAt.IsZero() || rec.UpdatedAt.IsZero() {
		t.Errorf("record timestamps created_at=%v updated_at=%v, want both set", rec.CreatedAt, rec.UpdatedAt)
	}

	// GET /?url=: the data exactly as stored.
	r := do(t, http.MethodGet, p.URL(q("/", u)), nil)
	if r.Code != http.StatusOK || !jsonEqual(r.Body, []byte(`{"index":"movies","customer":42}`)) {
		t.Errorf("GET /?url=: got %d %s, want 200 with the data", r.Code, r.Body)
	}

	// Empty body = null; curl -d sends form encoding, still read as JSON.
	u2 := tg.URL("/second")
	rec2 := put(t, p, u2, nil, http.StatusCreated)
	if string(rec2.Data) != "null" {
		t.Errorf("PUT with empty body: data = %s, want null", rec2.Data)
	}
	r = do(t, http.MethodPut, p.URL(q("/", u2)), []byte(`"plain string"`), "Content-Type", "application/x-www-form-urlencoded")
	if r.Code != http.StatusOK {
		t.Errorf("PUT with form Content-Type and JSON body: got %d %s, want 200", r.Code, r.Body)
	}

	// GET /all: a JSON array of records, each URL once.
	all := getAll(t, p)
	byURL := map[string]record{}
	for _, rec := range all {
		byURL[rec.URL] = rec
	}
	if len(all) != 2 || len(byURL) != 2 {
		t.Fatalf("GET /all: %d records (%d URLs), want 2", len(all), len(byURL))
	}
	if got := byURL[u2].Data; string(got) != `"plain string"` {
		t.Errorf("GET /all: %s data = %s, want \"plain string\"", u2, got)
	}
	if got := byURL[u]; got.Probe.Interval != "1s" || got.Status.State == "" {
		t.Errorf("GET /all: %s record %+v lacks probe settings or status", u, got)
	}

	// DELETE: 200 with the data, then 404; GET of unknown is 404.
	r = do(t, http.MethodDelete, p.URL(q("/", u)), nil)
	if r.Code != http.StatusOK || !jsonEqual(r.Body, []byte(`{"index":"movies","customer":42}`)) {
		t.Errorf("DELETE: got %d %s, want 200 with the data", r.Code, r.Body)
	}
	for _, m := range []string{http.MethodDelete, http.MethodGet} {
		r = do(t, m, p.URL(q("/", u)), nil)
		if r.Code != http.StatusNotFound {
			t.Errorf("%s of a deleted URL: got %d %s, want 404", m, r.Code, r.Body)
		}
		wantErrorJSON(t, m+" unknown url", r)
	}
	r = do(t, http.MethodGet, p.URL(q("/status", u)), nil)
	if r.Code != http.StatusNotFound {
		t.Errorf("GET /status of a deleted URL: got %d, want 404", r.Code)
	}
	if n := len(getAll(t, p)); n != 1 {
		t.Errorf("GET /all after DELETE: %d records, want 1", n)
	}

	// GET / without url: the dashboard (302 to ui/, then 200 HTML).
	r = do(t, http.MethodGet, p.URL("/"), nil)
	target := p.URL("/")
	if r.Code == http.StatusFound || r.Code == http.StatusMovedPermanently || r.Code == http.StatusTemporaryRedirect {
		loc := r.Header.Get("Location")
		if loc != "ui/" && loc != "/ui/" {
			t.Errorf("GET /: redirect to %q, want ui/", loc)
		}
		target = p.URL("/ui/")
		r = do(t, http.MethodGet, target, nil)
	}
	if r.Code != http.StatusOK || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") ||
		!bytes.Contains(bytes.ToLower(r.Body), []byte("<html")) {
		t.Errorf("dashboard %s: got %d %q (%.80s), want 200 HTML", target, r.Code, r.Header.Get("Content-Type"), r.Body)
	}

	// /healthz and /metrics answer.
	for _, path := range []string{"/healthz", "/metrics"} {
		if r := do(t, http.MethodGet, p.URL(path), nil); r.Code != http.StatusOK {
			t.Errorf("GET %s: got %d, want 200", path, r.Code)
		}
	}
}

// TestIdempotentPut: PUTting the same URL again never starts a second
// checker: one 201 then 200s, and the target sees one checker's rate.
func TestIdempotentPut(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=300ms")

	t.Run("sequential", func(t *testing.T) {
		tg := newTarget(t, modeOK)
		u := tg.URL("/seq")
		for i := range 5 {
			want := http.StatusOK
			if i == 0 {
				want = http.StatusCreated
			}
			rec := put(t, p, u, fmt.Appendf(nil, `{"n":%d}`, i), want)
			if !jsonEqual(rec.Data, fmt.Appendf(nil, `{"n":%d}`, i)) {
				t.Errorf("PUT %d: record data %s, want {\"n\":%d}", i, rec.Data, i)
			}
		}
		r := do(t, http.MethodGet, p.URL(q("/", u)), nil)
		if !jsonEqual(r.Body, []byte(`{"n":4}`)) {
			t.Errorf("GET after 5 PUTs: %s, want the last data {\"n\":4}", r.Body)
		}
		assertOneChecker(t, p, tg, u)
	})

	t.Run("bulk repeating a URL", func(t *testing.T) {
		tg := newTarget(t, modeOK)
		u := tg.URL("/bulk-dup")
		body := fmt.Sprintf(`[{"url":%[1]q,"data":1},{"url":%[1]q,"data":2},{"url":%[1]q,"data":3}]`, u)
		r := do(t, http.MethodPost, p.URL("/bulk"), []byte(body))
		var reply struct{ Created, Updated int }
		if err := json.Unmarshal(r.Body, &reply); err != nil || r.Code != http.StatusOK || reply.Created != 1 || reply.Updated != 2 {
			t.Errorf("bulk of one URL three times: %d %s, want 200 with created 1, updated 2", r.Code, r.Body)
		}
		if r := do(t, http.MethodGet, p.URL(q("/", u)), nil); string(bytes.TrimSpace(r.Body)) != "3" {
			t.Errorf("data after the bulk: %s, want the last item's 3", r.Body)
		}
		assertOneChecker(t, p, tg, u)
	})

	t.Run("concurrent", func(t *testing.T) {
		tg := newTarget(t, modeOK)
		u := tg.URL("/conc")
		codes := make([]int, 5)
		var wg sync.WaitGroup
		for i := range codes {
			wg.Go(func() {
				r, err := send(http.MethodPut, p.URL(q("/", u)), fmt.Appendf(nil, `{"n":%d}`, i))
				if err != nil {
					t.Errorf("PUT %d: %v", i, err)
					return
				}
				codes[i] = r.Code
			})
		}
		wg.Wait()
		sort.Ints(codes)
		if fmt.Sprint(codes) != "[200 200 200 200 201]" {
			t.Errorf("5 concurrent PUTs of one URL: codes %v, want one 201 and four 200", codes)
		}
		assertOneChecker(t, p, tg, u)
	})
}

// assertOneChecker checks that u is listed once and that spo2_url_checkers,
// the number of checker actors, equals the number of registered URLs: one
// checker per URL, however the URL was registered.
func assertOneChecker(t *testing.T, p *harness.Process, tg *target, u string) {
	t.Helper()
	waitStatus(t, p, u, 5*time.Second, "first verdict", func(r record) bool { return r.Status.State == "healthy" })
	if tg.count() == 0 {
		t.Errorf("the target of %s saw no probe", u)
	}
	all := getAll(t, p)
	if countURL(all, u) != 1 {
		t.Errorf("GET /all lists %s %d times, want once", u, countURL(all, u))
	}
	var checkers float64
	eventually(t, 5*time.Second, "one checker per registered URL", func() bool {
		checkers, _ = metricValue(t, p, "spo2_url_checkers")
		return int(checkers) == len(getAll(t, p))
	})
}

func countURL(recs []record, u string) int {
	n := 0
	for _, r := range recs {
		if r.URL == u {
			n++
		}
	}
	return n
}

// regView is the registered part of a record (no status), for "changes
// nothing" comparisons.
func regView(recs []record) string {
	type view struct {
		URL       string
		Data      string
		Probe     probeSettings
		CreatedAt time.Time
		UpdatedAt time.Time
	}
	out := make([]view, 0, len(recs))
	for _, r := range recs {
		out = append(out, view{r.URL, string(r.Data), r.Probe, r.CreatedAt, r.UpdatedAt})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].URL < out[j].URL })
	b, _ := json.Marshal(out)
	return string(b)
}

// TestBadInput: every bad input listed in docs/api.md gets a clear 4xx JSON error and
// changes nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	existing := closedPortURL(t, "/existing")
	put(t, p, existing, []byte(`{"keep":"me"}`), http.StatusCreated, "interval", "30s", "timeout", "2s")
	before := regView(getAll(t, p))

	longURL := "http://127.0.0.1:9/" + strings.Repeat("a", 2100)
	bigData := []byte(`{"pad":"` + strings.Repeat("x", 65<<10) + `"}`)
	manyItems := bulkBody(10_001, "http://127.0.0.1:9/many/")
	bigBulk := []byte(`[{"url":"http://127.0.0.1:9/big","data":"` + strings.Repeat("x", 8<<20) + `"}]`)

	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		want   int // 0: any 4xx
	}{
		{"PUT missing url", "PUT", "/", []byte(`{}`), 400},
		{"GET /status missing url", "GET", "/status", nil, 400},
		{"DELETE missing url", "DELETE", "/", nil, 400},
		{"GET empty url is not the dashboard", "GET", "/?url=", nil, 400},
		{"PUT empty url", "PUT", "/?url=", []byte(`{}`), 400},
		{"DELETE empty url", "DELETE", "/?url=", nil, 400},
		{"PUT relative url", "PUT", q("/", "/health"), nil, 400},
		{"PUT host-relative url", "PUT", q("/", "127.0.0.1:9/health"), nil, 400},
		{"PUT ftp url", "PUT", q("/", "ftp://127.0.0.1/file"), nil, 400},
		{"PUT url without host", "PUT", q("/", "http:///path"), nil, 400},
		{"PUT url http://", "PUT", q("/", "http://"), nil, 400},
		{"PUT url over 2048 bytes", "PUT", q("/", longURL), nil, 0},
		{"PUT invalid JSON body", "PUT", q("/", existing), []byte(`{"keep": `), 400},
		{"PUT two JSON values", "PUT", q("/", existing), []byte(`{} {}`), 400},
		{"PUT form body that is not JSON", "PUT", q("/", existing), []byte(`a=1&b=2`), 400},
		{"PUT body over 64 KiB", "PUT", q("/", existing), bigData, 413},
		{"PUT interval 500ms", "PUT", q("/", existing, "interval", "500ms", "timeout", "100ms"), nil, 400},
		{"PUT interval 25h", "PUT", q("/", existing, "interval", "25h"), nil, 400},
		{"PUT interval not a duration", "PUT", q("/", existing, "interval", "soon"), nil, 400},
		{"PUT timeout equal to interval", "PUT", q("/", existing, "interval", "2s", "timeout", "2s"), nil, 400},
		{"PUT timeout above interval", "PUT", q("/", existing, "interval", "1s", "timeout", "5s"), nil, 400},
		{"PUT timeout above the URL's interval", "PUT", q("/", existing, "timeout", "45s"), nil, 400},
		{"PUT timeout 0", "PUT", q("/", existing, "timeout", "0s"), nil, 400},
		{"PUT failure_threshold 0", "PUT", q("/", existing, "failure_threshold", "0"), nil, 400},
		{"PUT failure_threshold 101", "PUT", q("/", existing, "failure_threshold", "101"), nil, 400},
		{"PUT success_threshold 0", "PUT", q("/", existing, "success_threshold", "0"), nil, 400},
		{"PUT success_threshold 101", "PUT", q("/", existing, "success_threshold", "101"), nil, 400},
		{"PUT threshold not a number", "PUT", q("/", existing, "failure_threshold", "three"), nil, 400},
		{"PUT expect word", "PUT", q("/", existing, "expect", "ok"), nil, 400},
		{"PUT expect 600", "PUT", q("/", existing, "expect", "200,600"), nil, 400},
		{"PUT expect reversed range", "PUT", q("/", existing, "expect", "299-200"), nil, 400},
		{"PUT expect empty", "PUT", q("/", existing, "expect", ""), nil, 400},
		{"new URL with a bad setting", "PUT", q("/", "http://127.0.0.1:9/new", "interval", "500ms"), nil, 400},
		{"unknown route", "GET", "/nope", nil, 404},
		{"unknown nested route", "PUT", "/api/v2/urls", nil, 404},
		{"POST /all", "POST", "/all", nil, 405},
		{"PATCH /", "PATCH", q("/", existing), []byte(`{}`), 405},
		{"DELETE /all without a label selector", "DELETE", "/all", nil, 400},
		{"GET /bulk", "GET", "/bulk", nil, 405},
		{"bulk not an array", "POST", "/bulk", []byte(`{"url":"http://127.0.0.1:9/x"}`), 400},
		{"bulk not JSON", "POST", "/bulk", []byte(`[{"url":`), 400},
		{"bulk over 10,000 items", "POST", "/bulk", manyItems, 0},
		{"bulk body over 8 MiB", "POST", "/bulk", bigBulk, 413},
	}
	for _, c := range cases {
		r := do(t, c.method, p.URL(c.path), c.body)
		switch {
		case c.want == 0 && (r.Code < 400 || r.Code > 499):
			t.Errorf("%s: got %d %.200s, want a 4xx", c.name, r.Code, r.Body)
		case c.want != 0 && r.Code != c.want:
			t.Errorf("%s: got %d %.200s, want %d", c.name, r.Code, r.Body, c.want)
		}
		wantErrorJSON(t, c.name, r)
	}

	if after := regView(getAll(t, p)); after != before {
		t.Errorf("bad input changed the registrations:\nbefore %s\nafter  %s", before, after)
	}
	if r := do(t, http.MethodGet, p.URL("/healthz"), nil); r.Code != http.StatusOK {
		t.Errorf("GET /healthz after bad input: %d, want 200", r.Code)
	}
}

func bulkBody(n int, prefix string) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"url":"%s%d","data":{"i":%d}}`, prefix, i, i)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// TestBulkPartial: valid items are applied, invalid ones reported with their
// index, and settings travel as JSON fields.
func TestBulkPartial(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	base := closedPortURL(t, "")
	put(t, p, base+"/old", []byte(`1`), http.StatusCreated)

	body := fmt.Sprintf(`[
		{"url": "%[1]s/a", "data": {"n": 1}},
		{"url": "ftp://127.0.0.1/x", "data": 2},
		{"url": "%[1]s/old", "data": {"n": 3}, "interval": "5s", "timeout": "1s", "failure_threshold": 2, "success_threshold": 4, "expect": "200,204"},
		{"url": "%[1]s/bad-interval", "interval": "500ms"},
		{"url": "", "data": 5},
		"not an object",
		{"url": "%[1]s/b"},
		{"url": "%[1]s/bad-threshold", "failure_threshold": 0},
		{"url": "%[1]s/bad-expect", "expect": "abc"}
	]`, base)
	r := do(t, http.MethodPost, p.URL("/bulk"), []byte(body))
	if r.Code != http.StatusOK {
		t.Fatalf("POST /bulk: got %d %s, want 200", r.Code, r.Body)
	}
	var reply struct {
		Created int `json:"created"`
		Updated int `json:"updated"`
		Errors  []struct {
			Index int    `json:"index"`
			URL   string `json:"url"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &reply); err != nil {
		t.Fatalf("POST /bulk reply %s: %v", r.Body, err)
	}
	if reply.Created != 2 || reply.Updated != 1 {
		t.Errorf("POST /bulk: created=%d updated=%d, want 2 and 1", reply.Created, reply.Updated)
	}
	var idx []int
	for _, e := range reply.Errors {
		idx = append(idx, e.Index)
		if e.Error == "" {
			t.Errorf("bulk error for index %d has no message", e.Index)
		}
	}
	sort.Ints(idx)
	if fmt.Sprint(idx) != "[1 3 4 5 7 8]" {
		t.Errorf("bulk error indexes %v, want [1 3 4 5 7 8]; errors %+v", idx, reply.Errors)
	}
	for _, e := range reply.Errors {
		if e.Index == 3 && e.URL != base+"/bad-interval" {
			t.Errorf("bulk error 3 url = %q, want %q", e.URL, base+"/bad-interval")
		}
	}

	all := getAll(t, p)
	got := map[string]record{}
	for _, rec := range all {
		got[rec.URL] = rec
	}
	if len(all) != 3 {
		t.Errorf("GET /all after bulk: %d records, want 3 (old, a, b): %v", len(all), regView(all))
	}
	if !jsonEqual(got[base+"/a"].Data, []byte(`{"n":1}`)) || string(got[base+"/b"].Data) != "null" {
		t.Errorf("bulk data: a=%s b=%s, want {\"n\":1} and null", got[base+"/a"].Data, got[base+"/b"].Data)
	}
	old := got[base+"/old"]
	want := probeSettings{Interval: "5s", Timeout: "1s", FailureThreshold: 2, SuccessThreshold: 4, Expect: "200,204"}
	if !jsonEqual(old.Data, []byte(`{"n":3}`)) || old.Probe != want {
		t.Errorf("bulk update of old: data %s probe %+v, want {\"n\":3} and %+v", old.Data, old.Probe, want)
	}
}

// TestAPIToken: with API_TOKEN set every route but /healthz needs the bearer
// token; the WebSocket also accepts ?token=.
func TestAPIToken(t *testing.T) {
	t.Parallel()
	const token = "s3cret-token"
	p := startSpo2(t, "API_TOKEN="+token, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")
	u := closedPortURL(t, "/tok")
	auth := []string{"Authorization", "Bearer " + token}
	wrong := []string{"Authorization", "Bearer nope"}

	r := do(t, http.MethodPut, p.URL(q("/", u)), []byte(`{"a":1}`))
	if r.Code != http.StatusUnauthorized {
		t.Errorf("PUT without token: got %d, want 401", r.Code)
	}
	wantErrorJSON(t, "PUT without token", r)
	if r := do(t, http.MethodPut, p.URL(q("/", u)), []byte(`{"a":1}`), auth...); r.Code != http.StatusCreated {
		t.Fatalf("PUT with token: got %d %s, want 201", r.Code, r.Body)
	}

	cases := []struct {
		name   string
		method string
		path   string
		header []string
		want   int
	}{
		{"GET /all without token", "GET", "/all", nil, 401},
		{"GET /all with wrong token", "GET", "/all", wrong, 401},
		{"GET /all with token", "GET", "/all", auth, 200},
		{"GET data without token", "GET", q("/", u), nil, 401},
		{"GET data with token", "GET", q("/", u), auth, 200},
		{"GET /status without token", "GET", q("/status", u), nil, 401},
		{"GET /status with token", "GET", q("/status", u), auth, 200},
		{"GET /metrics without token", "GET", "/metrics", nil, 401},
		{"POST /bulk without token", "POST", "/bulk", nil, 401},
		{"DELETE without token", "DELETE", q("/", u), nil, 401},
		{"token in query is not enough for the API", "GET", "/all?token=" + token, nil, 401},
		{"GET /healthz without token", "GET", "/healthz", nil, 200},
	}
	for _, c := range cases {
		r := do(t, c.method, p.URL(c.path), []byte(`[]`), c.header...)
		if r.Code != c.want {
			t.Errorf("%s: got %d %.200s, want %d", c.name, r.Code, r.Body, c.want)
		}
		if c.want == 401 {
			wantErrorJSON(t, c.name, r)
		}
	}
	if r := do(t, http.MethodGet, p.URL(q("/", u)), nil, auth...); !jsonEqual(r.Body, []byte(`{"a":1}`)) {
		t.Errorf("after unauthorised DELETE the data is %d %s, want 200 {\"a\":1}", r.Code, r.Body)
	}

	// WebSocket: refused without a token, served with ?token= or the header,
	// on both listeners.
	for _, base := range []string{"ws://" + p.WSAddr + "/", "ws://" + p.HTTPAddr + "/ws"} {
		for _, bad := range []string{base, base + "?token=nope"} {
			ctx, cancel := contextTimeout(10 * time.Second)
			conn, _, err := dialWS(ctx, bad, nil)
			cancel()
			if err == nil {
				conn.Close()
				t.Errorf("WebSocket %s: handshake succeeded, want 401", bad)
			} else if !strings.Contains(err.Error(), "401") {
				t.Errorf("WebSocket %s: handshake error %v, want a 401", bad, err)
			}
		}
		c := connectWS(t, base+"?token="+token)
		if snap := c.waitSynced(t); len(snap) != 1 {
			t.Errorf("WebSocket %s?token=: snapshot of %d records, want 1", base, len(snap))
		}
		c = connectWS(t, base, auth...)
		c.waitSynced(t)
	}
}
