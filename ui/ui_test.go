package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) *http.Response {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec.Result()
}

func TestHandlerServesFiles(t *testing.T) {
	h := Handler()
	cases := []struct {
		path, ctype, contains string
	}{
		{"/ui/", "text/html; charset=utf-8", `<script type="module" src="app.js">`},
		{"/ui/app.js", "text/javascript; charset=utf-8", "import { Stream } from './stream.js'"},
		{"/ui/stream.js", "text/javascript; charset=utf-8", "new URL('../ws', location.href)"},
		{"/ui/store.js", "text/javascript; charset=utf-8", "export class Store"},
		{"/ui/table.js", "text/javascript; charset=utf-8", "export class Table"},
		{"/ui/groups.js", "text/javascript; charset=utf-8", "export function group"},
		{"/ui/search.js", "text/javascript; charset=utf-8", "export class SearchIndex"},
		{"/ui/details.js", "text/javascript; charset=utf-8", "export class Details"},
		{"/ui/format.js", "text/javascript; charset=utf-8", "export function maskURL"},
		{"/ui/style.css", "text/css; charset=utf-8", "prefers-color-scheme: dark"},
	}
	for _, c := range cases {
		res := get(t, h, http.MethodGet, c.path)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", c.path, res.StatusCode)
			continue
		}
		if got := res.Header.Get("Content-Type"); got != c.ctype {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no nosniff header", c.path)
		}
		if !strings.Contains(string(body), c.contains) {
			t.Errorf("GET %s: body lacks %q", c.path, c.contains)
		}
	}
}

func TestHandlerRejects(t *testing.T) {
	h := Handler()
	for _, path := range []string{"/ui/nope.js", "/ui/index.html", "/elsewhere", "/ui/../ui.go"} {
		if res := get(t, h, http.MethodGet, path); res.StatusCode != http.StatusNotFound && res.StatusCode != http.StatusMovedPermanently {
			t.Errorf("GET %s: status %d, want 404", path, res.StatusCode)
		}
	}
	if res := get(t, h, http.MethodPost, "/ui/"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /ui/: status %d, want 405", res.StatusCode)
	}
	if res := get(t, h, http.MethodGet, "/ui"); res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "ui/" {
		t.Errorf("GET /ui: status %d Location %q, want 301 to ui/", res.StatusCode, res.Header.Get("Location"))
	}
	if res := get(t, h, http.MethodHead, "/ui/app.js"); res.StatusCode != http.StatusOK {
		t.Errorf("HEAD /ui/app.js: status %d", res.StatusCode)
	}
}
