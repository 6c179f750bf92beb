package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/spo2/spo2/actors"
	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/ui"
)

var quietLog = slog.New(slog.NewTextHandler(io.Discard, nil))

// fakeSupervisor answers Register like the real one, refusing items whose
// URL contains "refuse"; with hang set it never answers. Every item it saw
// is sent to got.
type fakeSupervisor struct {
	hang bool
	got  chan actors.RegisterItem
}

func (f *fakeSupervisor) Receive(c actor.Context) {
	msg, ok := c.Message().(actors.Register)
	if !ok || f.hang {
		return
	}
	var reply actors.RegisterReply
	for _, it := range msg.Items {
		select {
		case f.got <- it:
		default:
		}
		res := actors.ItemResult{Created: true, Record: health.Record{URL: it.URL, Data: it.Data}}
		if strings.Contains(it.URL, "refuse") {
			res = actors.ItemResult{Err: errors.New("refused by the supervisor")}
		}
		reply.Results = append(reply.Results, res)
	}
	c.Respond(reply)
}

type testServer struct {
	*Server
	h   http.Handler
	sup *fakeSupervisor
}

// newTestServer wires a Server to a fake supervisor, a real broadcaster, read
// model and dashboard files.
func newTestServer(t testing.TB, cfg Config, hang bool) *testServer {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return quietLog }))
	t.Cleanup(system.Shutdown)
	model := readmodel.New()
	m := metrics.New()
	sup := &fakeSupervisor{hang: hang, got: make(chan actors.RegisterItem, 100)}
	supPID := system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return sup }))
	bc := system.Root.Spawn(actors.NewBroadcasterProps(model, m, quietLog, 0, 0))
	s := New(cfg, Deps{Root: system.Root, Supervisor: supPID, Broadcaster: bc, Model: model, Metrics: m, Log: quietLog, UI: ui.Handler()})
	return &testServer{Server: s, h: s.Handler(), sup: sup}
}

func (s *testServer) serve(method, target string, body string, header ...string) *http.Response {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	return rec.Result()
}

// wantJSONError fails unless res is a JSON {"error": …} answer with code
// whose message contains every word in words.
func wantJSONError(t *testing.T, what string, res *http.Response, code int, words ...string) {
	t.Helper()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != code {
		t.Errorf("%s: status %d %s, want %d", what, res.StatusCode, body, code)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", what, ct)
	}
	var e struct{ Error string }
	if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
		t.Errorf("%s: body %q is not {\"error\": \"…\"}", what, body)
	}
	for _, w := range words {
		if !strings.Contains(e.Error, w) {
			t.Errorf("%s: error %q does not mention %q", what, e.Error, w)
		}
	}
}

const watched = "url=http%3A%2F%2F127.0.0.1%3A9%2Fh"

func TestQueryParametersAreStrict(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	tests := []struct {
		method, target string
		words          []string
	}{
		{"PUT", "/?" + watched + "&intervall=5s", []string{`"intervall"`, "interval"}},
		{"PUT", "/?" + watched + "&interval=5s&interval=1h", []string{`"interval"`, "more than once"}},
		{"PUT", "/?" + watched + "&interval=1h;x=1", []string{"semicolon"}},
		{"PUT", "/?" + watched + "&interval=%zz", []string{"does not parse"}},
		{"GET", "/?" + watched + "&x=1", []string{`"x"`}},
		{"GET", "/?" + watched + "&" + watched, []string{`"url"`, "more than once"}},
		{"DELETE", "/?" + watched + "&interval=5s", []string{`"interval"`}},
		{"GET", "/status?" + watched + "&verbose=1", []string{`"verbose"`}},
		{"GET", "/all?limit=10", []string{`"limit"`, "labels"}},
		{"GET", "/all?labels=a=b&labels=c=d", []string{`"labels"`, "more than once"}},
		{"DELETE", "/all?label=a=b", []string{`"label"`, "labels"}},
		{"DELETE", "/all", []string{"selector"}},
		{"DELETE", "/all?labels=team", []string{`"team"`, "key=value"}},
		{"GET", "/all?labels=", []string{"empty label selector"}},
		{"PUT", "/?" + watched + "&label=Team=x", []string{`"Team=x"`}},
		{"PUT", "/?" + watched + "&label=a=b&label=a=c", []string{`"a"`, "more than once"}},
		{"POST", "/bulk?dry_run=1", []string{`"dry_run"`}},
		{"GET", "/healthz?x", []string{`"x"`}},
		{"GET", "/metrics?name=x", []string{`"name"`}},
		{"GET", "/ws?token=a&token=b", []string{`"token"`}},
		{"GET", "/ws?tokn=a", []string{`"tokn"`}},
		{"GET", "/ui/?v=2", []string{`"v"`}},
		{"GET", "/?utm=1", []string{`"utm"`}},
		{"HEAD", "/all?x=1", nil},
	}
	for _, tc := range tests {
		res := s.serve(tc.method, tc.target, "[]")
		wantJSONError(t, tc.method+" "+tc.target, res, http.StatusBadRequest, tc.words...)
	}
	// Known parameters given once still work.
	if res := s.serve("PUT", "/?"+watched+"&interval=1h&timeout=2s&failure_threshold=2&success_threshold=1&expect=200", `{"a":1}`); res.StatusCode != http.StatusCreated {
		t.Errorf("PUT with every known parameter: %d", res.StatusCode)
	}
}

func TestHeadWhereverGet(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	srv := httptest.NewServer(s.h)
	t.Cleanup(srv.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		target string
		code   int
	}{
		{"/all", 200}, {"/healthz", 200}, {"/metrics", 200}, {"/ui/", 200}, {"/ui/app.js", 200},
		{"/", 302}, {"/ui", 301}, {"/status?" + watched, 404}, {"/?" + watched, 404}, {"/ws", 426},
		{"/debug/pprof/", 200}, {"/debug/pprof/profile?seconds=30", 200},
	} {
		res, err := client.Head(srv.URL + tc.target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != tc.code {
			t.Errorf("HEAD %s: %d, want %d", tc.target, res.StatusCode, tc.code)
		}
		if len(body) != 0 {
			t.Errorf("HEAD %s: %d body bytes, want none", tc.target, len(body))
		}
	}
}

func TestBearerSchemeAnyCase(t *testing.T) {
	s := newTestServer(t, Config{Token: "tok"}, false)
	for _, tc := range []struct {
		header string
		code   int
	}{
		{"Bearer tok", 200}, {"bearer tok", 200}, {"BEARER tok", 200}, {"bEaReR  tok ", 200},
		{"Bearer nope", 401}, {"Basic tok", 401}, {"Bearertok", 401}, {"tok", 401}, {"", 401},
	} {
		res := s.serve("GET", "/all", "", "Authorization", tc.header)
		if res.StatusCode != tc.code {
			t.Errorf("Authorization %q: %d, want %d", tc.header, res.StatusCode, tc.code)
		}
	}
}

func TestRedirectsAreRelative(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	for _, tc := range []struct {
		target string
		code   int
	}{{"/", http.StatusFound}, {"/ui", http.StatusMovedPermanently}} {
		res := s.serve("GET", tc.target, "")
		if res.StatusCode != tc.code || res.Header.Get("Location") != "ui/" {
			t.Errorf("GET %s: %d Location %q, want %d to ui/", tc.target, res.StatusCode, res.Header.Get("Location"), tc.code)
		}
	}
}

func TestErrorsAreJSON(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	wantJSONError(t, "unknown dashboard file", s.serve("GET", "/ui/nope.js", ""), 404, "/ui/nope.js")
	wantJSONError(t, "dashboard index by name", s.serve("GET", "/ui/index.html", ""), 404)
	wantJSONError(t, "plain GET /ws", s.serve("GET", "/ws", ""), 426, "WebSocket")
	wantJSONError(t, "unknown pprof profile", s.serve("GET", "/debug/pprof/nope", ""), 404)
	// The WebSocket listener serves any path.
	for _, tc := range []struct {
		method string
		header []string
		code   int
	}{
		{"GET", nil, 426},
		{"POST", nil, 405},
		{"GET", []string{"Upgrade", "websocket", "Connection", "Upgrade", "Sec-WebSocket-Version", "8"}, 426},
		{"GET", []string{"Upgrade", "websocket", "Connection", "keep-alive, Upgrade", "Sec-WebSocket-Version", "13", "Sec-WebSocket-Key", "short"}, 400},
	} {
		req := httptest.NewRequest(tc.method, "/anything", nil)
		for i := 0; i+1 < len(tc.header); i += 2 {
			req.Header.Set(tc.header[i], tc.header[i+1])
		}
		rec := httptest.NewRecorder()
		s.WS.ServeHTTP(rec, req)
		wantJSONError(t, "WebSocket listener "+tc.method+" "+strings.Join(tc.header, " "), rec.Result(), tc.code)
	}
	// Headers over the API's limit: a JSON 431 on both listeners.
	big := strings.Repeat("x", MaxHeaderBytes)
	wantJSONError(t, "huge header", s.serve("GET", "/all", "", "X-Big", big), 431, "limit")
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("X-Big", big)
	rec := httptest.NewRecorder()
	s.WS.ServeHTTP(rec, req)
	wantJSONError(t, "huge header on the WebSocket listener", rec.Result(), 431)
}

func TestPutData(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	for _, tc := range []struct {
		body, want string // want "" = nil: no data given
	}{
		{"", ""}, {"  \n", ""}, {"null", "null"}, {`{"a": 1}`, `{"a":1}`},
	} {
		res := s.serve("PUT", "/?"+watched, tc.body)
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %q: %d", tc.body, res.StatusCode)
		}
		if got := <-s.sup.got; string(got.Data) != tc.want || (tc.want == "" && got.Data != nil) {
			t.Errorf("PUT body %q: item data %q, want %q", tc.body, got.Data, tc.want)
		}
	}
	deep := strings.Repeat("[", MaxDataDepth+1) + strings.Repeat("]", MaxDataDepth+1)
	wantJSONError(t, "PUT data too deep", s.serve("PUT", "/?"+watched, deep), 400, "64 levels")
}

func TestBulkAnswers(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	wantJSONError(t, "bulk null", s.serve("POST", "/bulk", "null"), 400, "null")
	body := `[{"url":"http://127.0.0.1:9/refuse-0"},{"url":"ftp://x/"},{"url":"http://127.0.0.1:9/ok"},` +
		`{"url":"http://127.0.0.1:9/refuse-3"},{"url":"http://127.0.0.1:/"},` + "{\"url\":\"http://127.0.0.1:9/\xff\"}]"
	res := s.serve("POST", "/bulk", body)
	var reply bulkReply
	if err := json.NewDecoder(res.Body).Decode(&reply); err != nil || res.StatusCode != 200 {
		t.Fatalf("bulk: %d %v", res.StatusCode, err)
	}
	var idx []int
	for _, e := range reply.Errors {
		idx = append(idx, e.Index)
	}
	if got := jsonText(idx); got != "[0,1,3,4,5]" {
		t.Errorf("bulk error indexes %v, want 0,1,3,4,5 in order", idx)
	}
	if reply.Created != 1 {
		t.Errorf("bulk created %d, want 1", reply.Created)
	}
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestClientGoneEndsTheWait: a request whose client went away stops waiting
// for the supervisor instead of holding on for askTimeout.
func TestClientGoneEndsTheWait(t *testing.T) {
	s := newTestServer(t, Config{}, true)
	for _, tc := range []struct{ method, target, body string }{
		{"PUT", "/?" + watched, `{"a":1}`},
		{"DELETE", "/?" + watched, ""},
		{"POST", "/bulk", `[{"url":"http://127.0.0.1:9/x"}]`},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		req := httptest.NewRequestWithContext(ctx, tc.method, tc.target, bytes.NewReader([]byte(tc.body)))
		done := make(chan struct{})
		go func() {
			s.h.ServeHTTP(httptest.NewRecorder(), req)
			close(done)
		}()
		cancel()
		select {
		case <-done:
		case <-time.After(askTimeout / 2):
			t.Fatalf("%s %s: still waiting after the client went away", tc.method, tc.target)
		}
	}
}

func TestRequestsAreCountedByRouteAndCode(t *testing.T) {
	s := newTestServer(t, Config{}, false)
	requests := []struct {
		method, target string
		route, code    string
	}{
		{"GET", "/all", "all", "200"},
		{"HEAD", "/all", "all", "200"},
		{"GET", "/status?url=http%3A%2F%2Fnope%2F", "status", "404"},
		{"GET", "/all?limit=1", "all", "400"},
		{"GET", "/ui/app.js", "ui", "200"},
	}
	for _, r := range requests {
		s.serve(r.method, r.target, "").Body.Close()
	}
	want := map[[2]string]float64{}
	for _, r := range requests {
		want[[2]string{r.route, r.code}]++
	}
	for key, n := range want {
		if got := testutil.ToFloat64(s.deps.Metrics.HTTPRequests.WithLabelValues(key[0], key[1])); got != n {
			t.Errorf("spo2_http_requests_total{route=%q,code=%q} = %v, want %v", key[0], key[1], got, n)
		}
	}
}
