package api

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
)

func TestHistoryRoute(t *testing.T) {
	s := newTestServer(t, Config{Token: "tok"}, false)
	auth := []string{"Authorization", "Bearer tok"}
	model := s.deps.Model
	created := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	model.Put(&health.Registration{URL: "http://127.0.0.1:9/quiet", CreatedAt: created}, &health.Status{State: health.Pending})
	flappy := model.Put(&health.Registration{URL: "http://127.0.0.1:9/h", CreatedAt: created}, &health.Status{State: health.Pending})
	flappy.AddChange(history.NewChange(created.Add(time.Second), health.Healthy, health.Pending, 200, ""), 100)
	flappy.AddChange(history.NewChange(created.Add(2*time.Second), health.Unreachable, health.Healthy, 0, health.KindRefused), 100)

	body := func(res *http.Response) string { b, _ := io.ReadAll(res.Body); return string(b) }
	for _, tc := range []struct {
		method, target string
		code           int
		body           string
	}{
		{"GET", "/history?" + watched, 200, `[{"state":"unreachable","previous":"healthy","code":0,"error_kind":"refused","at":"2026-11-30T12:00:02Z"},` +
			`{"state":"healthy","previous":"pending","code":200,"error_kind":"","at":"2026-11-30T12:00:01Z"}]` + "\n"},
		{"GET", "/history?url=http%3A%2F%2F127.0.0.1%3A9%2Fquiet", 200, "[]\n"},
		{"HEAD", "/history?" + watched, 200, ""}, // the server drops a HEAD body
		{"HEAD", "/history?url=http%3A%2F%2Fnope%2F", 404, ""},
	} {
		res := s.serve(tc.method, tc.target, "", auth...)
		got := body(res)
		if tc.method == http.MethodHead {
			got = ""
		}
		if res.StatusCode != tc.code || got != tc.body {
			t.Errorf("%s %s: %d %q, want %d %q", tc.method, tc.target, res.StatusCode, got, tc.code, tc.body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q, want application/json", tc.method, tc.target, ct)
		}
	}
	wantJSONError(t, "unknown URL", s.serve("GET", "/history?url=http%3A%2F%2Fnope%2F", "", auth...), http.StatusNotFound, "not registered")
	wantJSONError(t, "no url", s.serve("GET", "/history", "", auth...), http.StatusBadRequest, "url")
	wantJSONError(t, "unknown parameter", s.serve("GET", "/history?"+watched+"&limit=5", "", auth...), http.StatusBadRequest, `"limit"`)
	wantJSONError(t, "repeated url", s.serve("GET", "/history?"+watched+"&"+watched, "", auth...), http.StatusBadRequest, "more than once")
	wantJSONError(t, "no token", s.serve("GET", "/history?"+watched, ""), http.StatusUnauthorized, "token")
}
