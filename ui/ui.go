// Package ui embeds the live dashboard: a single page of vanilla HTML,
// JavaScript and CSS with no build step. The page connects to the WebSocket
// stream at ../ws relative to its own location, so it works behind a reverse
// proxy that mounts SpO₂ on a sub-path.
package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var files embed.FS

// Prefix is the path under which Handler expects to be mounted.
const Prefix = "/ui/"

// Handler serves the dashboard's files under the /ui/ prefix: /ui/ is the
// page itself, /ui/style.css its style, /ui/app.js its entry module and the
// modules it imports (stream, store, table, groups, search, details,
// format). Only GET
// and HEAD are allowed. Files are revalidated on every load (no-cache) so a
// new binary never leaves a stale page in a browser.
func Handler() http.Handler {
	static, err := fs.Sub(files, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	fileServer := http.FileServerFS(static)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusMethodNotAllowed)
			_, _ = w.Write([]byte(`{"error":"method not allowed"}` + "\n"))
			return
		}
		if r.URL.Path == "/ui" {
			// Relative on purpose: behind a proxy on a sub-path the browser
			// resolves it against the path it actually used.
			w.Header().Set("Location", "ui/")
			w.WriteHeader(http.StatusMovedPermanently)
			return
		}
		name, ok := strings.CutPrefix(r.URL.Path, Prefix)
		if !ok || strings.HasSuffix(name, "/") && name != "" || name == "index.html" {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data:; style-src 'self'; script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = "/" + name
		u.RawPath = ""
		r2.URL = &u
		fileServer.ServeHTTP(w, r2)
	})
}
