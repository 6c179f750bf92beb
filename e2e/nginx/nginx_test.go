// Package nginx tests SpO₂ behind Debian's nginx with the configuration that
// docs/enable-ssl.md shows (docs/nginx-spo2.conf): TLS terminated by nginx,
// HTTP basic auth, the API and dashboard at / and under /spo2/, and the
// WebSocket stream through nginx's upgrade.
package nginx

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// The basic-auth user of the test; htpasswdLine was made with
// `openssl passwd -apr1 -salt e2etest 'nginx-e2e-password'`, as the doc does.
const (
	user         = "spo2"
	password     = "nginx-e2e-password"
	htpasswdLine = user + ":$apr1$e2etest$PNIb6H1He3uvvAWo0A9/v.\n"
)

// TestDocShowsConfig keeps the doc and the tested configuration the same:
// docs/enable-ssl.md must show docs/nginx-spo2.conf verbatim.
func TestDocShowsConfig(t *testing.T) {
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	conf, err := os.ReadFile(filepath.Join(root, "docs", "nginx-spo2.conf"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "enable-ssl.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, append([]byte("```nginx\n"), append(conf, []byte("```\n")...)...)) {
		t.Fatal("docs/enable-ssl.md does not show docs/nginx-spo2.conf verbatim in an ```nginx block; copy the file into the doc")
	}
}

// TestThroughNginx drives the real spo2 binary through nginx over HTTPS.
func TestThroughNginx(t *testing.T) {
	nginxBin := findNginx(t)
	p := harness.StartT(t, spo2.Path(t))
	start := time.Now()
	ng := startNginx(t, nginxBin, p.HTTPAddr, nil)
	defer func() {
		t.Logf("nginx up and every request through it done in %s", time.Since(start).Round(time.Millisecond))
	}()

	base := "https://" + ng.addr
	auth := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))}
	client := &http.Client{
		Timeout:       30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: ng.tls.Clone(), ForceAttemptHTTP2: false},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(t *testing.T, method, path string, body []byte, header ...string) harness.Response {
		t.Helper()
		r, err := harness.Send(client, method, base+path, body, header...)
		if err != nil {
			t.Fatalf("%s %s through nginx: %v\nnginx:\n%s", method, path, err, harness.Tail(ng.logs.String(), 40))
		}
		return r
	}
	watched := "http://127.0.0.1:9/health" // nothing listens: the probe's verdict does not matter here
	other := "http://127.0.0.1:9/other"
	q := func(path, u string) string { return path + "?url=" + url.QueryEscape(u) }

	t.Run("no basic auth is a 401 from nginx", func(t *testing.T) {
		for _, path := range []string{"/all", "/healthz", "/spo2/", q("/", watched)} {
			r := do(t, http.MethodGet, path, nil)
			if r.Code != http.StatusUnauthorized || !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("GET %s without credentials: got %d (WWW-Authenticate %q), want 401 asking for Basic", path, r.Code, r.Header.Get("WWW-Authenticate"))
			}
		}
		wrong := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":wrong"))}
		if r := do(t, http.MethodGet, "/all", nil, wrong...); r.Code != http.StatusUnauthorized {
			t.Errorf("GET /all with a wrong password: got %d, want 401", r.Code)
		}
	})

	// Two streams, at /ws and under the sub-path, both opened before the
	// registrations below so that they see them live.
	streams := map[string]*harness.WSClient{}
	for _, path := range []string{"/ws", "/spo2/ws"} {
		c := harness.ConnectWS(t, "wss://"+ng.addr+path, http.Header{"Authorization": {auth[1]}}, ng.tls.Clone())
		c.WaitSynced(t)
		streams[path] = c
	}

	t.Run("PUT GET DELETE with basic auth", func(t *testing.T) {
		if r := do(t, http.MethodPut, q("/", watched), []byte(`{"team":"db"}`), auth...); r.Code != http.StatusCreated {
			t.Fatalf("PUT: got %d %s, want 201", r.Code, r.Body)
		}
		if r := do(t, http.MethodGet, q("/", watched), nil, auth...); r.Code != http.StatusOK || string(bytes.TrimSpace(r.Body)) != `{"team":"db"}` {
			t.Fatalf("GET: got %d %s, want 200 {\"team\":\"db\"}", r.Code, r.Body)
		}
		if r := do(t, http.MethodGet, q("/spo2/status", watched), nil, auth...); r.Code != http.StatusOK || !bytes.Contains(r.Body, []byte(`"url":"`+watched+`"`)) {
			t.Fatalf("GET /spo2/status: got %d %s, want 200 with the record", r.Code, r.Body)
		}
		if r := do(t, http.MethodPut, q("/spo2/", other), nil, auth...); r.Code != http.StatusCreated {
			t.Fatalf("PUT under /spo2/: got %d %s, want 201", r.Code, r.Body)
		}
		if r := do(t, http.MethodDelete, q("/", other), nil, auth...); r.Code != http.StatusOK || string(bytes.TrimSpace(r.Body)) != "null" {
			t.Fatalf("DELETE: got %d %s, want 200 null", r.Code, r.Body)
		}
		if r := do(t, http.MethodGet, q("/", other), nil, auth...); r.Code != http.StatusNotFound {
			t.Fatalf("GET after DELETE: got %d %s, want 404", r.Code, r.Body)
		}
	})

	t.Run("WebSocket through the upgrade sees the changes live", func(t *testing.T) {
		for path, c := range streams {
			for _, want := range []struct{ typ, url string }{{"registered", watched}, {"registered", other}, {"removed", other}} {
				e := c.Next(t, 15*time.Second, want.typ+" "+want.url+" on "+path, func(e harness.Event) bool {
					return e.Type == want.typ && (e.URL == want.url || e.Record != nil && e.Record.URL == want.url)
				})
				if e.Type == "registered" && e.Record.URL == watched && string(e.Record.Data) != `{"team":"db"}` {
					t.Errorf("%s: registered event data = %s, want {\"team\":\"db\"}", path, e.Record.Data)
				}
			}
		}
		// A new stream's snapshot holds what is registered now.
		c := harness.ConnectWS(t, "wss://"+ng.addr+"/spo2/ws", http.Header{"Authorization": {auth[1]}}, ng.tls.Clone())
		snap := c.WaitSynced(t)
		if _, ok := snap[watched]; !ok || len(snap) != 1 {
			t.Errorf("snapshot through nginx holds %v, want only %s", keys(snap), watched)
		}
	})

	t.Run("WebSocket without basic auth is refused", func(t *testing.T) {
		ctx, cancel := contextTimeout(10 * time.Second)
		defer cancel()
		conn, _, err := harness.DialWS(ctx, "wss://"+ng.addr+"/ws", nil, ng.tls.Clone())
		if err == nil {
			conn.Close()
			t.Fatal("WebSocket handshake without credentials succeeded, want 401")
		}
		if !strings.Contains(err.Error(), "401") {
			t.Errorf("handshake without credentials: %v, want a 401", err)
		}
	})

	t.Run("dashboard under /spo2/", func(t *testing.T) {
		r := do(t, http.MethodGet, "/spo2/", nil, auth...)
		if r.Code != http.StatusFound || r.Header.Get("Location") != "ui/" {
			t.Fatalf("GET /spo2/: got %d Location %q, want 302 to the relative ui/", r.Code, r.Header.Get("Location"))
		}
		page := do(t, http.MethodGet, "/spo2/ui/", nil, auth...)
		if page.Code != http.StatusOK || !bytes.Contains(page.Body, []byte(`src="app.js"`)) {
			t.Fatalf("GET /spo2/ui/: got %d, want 200 HTML loading the relative app.js:\n%.300s", page.Code, page.Body)
		}
		js := do(t, http.MethodGet, "/spo2/ui/app.js", nil, auth...)
		if js.Code != http.StatusOK || !bytes.Contains(js.Body, []byte(`'../ws'`)) {
			t.Fatalf("GET /spo2/ui/app.js: got %d, want 200 with the relative '../ws' stream URL", js.Code)
		}
	})
}

// TestTokenInjectedByNginx runs the variant the doc describes for using
// both: nginx checks the password, then replaces the Authorization header
// with SpO₂'s API token, so a local client that bypasses nginx needs the
// token while a user behind nginx never sees it.
func TestTokenInjectedByNginx(t *testing.T) {
	const token = "injected-token"
	nginxBin := findNginx(t)
	p := harness.StartT(t, spo2.Path(t), "API_TOKEN="+token)
	anchor := "    proxy_set_header Connection $spo2_connection;\n"
	ng := startNginx(t, nginxBin, p.HTTPAddr, func(conf string) string {
		if !strings.Contains(conf, anchor) {
			t.Fatalf("docs/nginx-spo2.conf has no line %q to add the token after", anchor)
		}
		return strings.Replace(conf, anchor, anchor+`    proxy_set_header Authorization "Bearer `+token+`";`+"\n", 1)
	})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: ng.tls.Clone()}}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
	watched := "http://127.0.0.1:9/token"

	r, err := harness.Send(client, http.MethodPut, "https://"+ng.addr+"/spo2/?url="+url.QueryEscape(watched), nil, "Authorization", auth)
	if err != nil || r.Code != http.StatusCreated {
		t.Fatalf("PUT through nginx with the password only: %v %d %s, want 201", err, r.Code, r.Body)
	}
	direct, err := harness.Send(p.Client(), http.MethodGet, p.URL("/all"), nil)
	if err != nil || direct.Code != http.StatusUnauthorized {
		t.Fatalf("GET /all straight to spo2 without the token: %v %d, want 401", err, direct.Code)
	}
	c := harness.ConnectWS(t, "wss://"+ng.addr+"/ws", http.Header{"Authorization": {auth}}, ng.tls.Clone())
	if snap := c.WaitSynced(t); len(snap) != 1 {
		t.Fatalf("snapshot through nginx holds %v, want %s", keys(snap), watched)
	}
}

// spo2 is the race-enabled binary, built once for the package's tests.
var spo2 = harness.Binary{Flags: []string{"-race"}}

func TestMain(m *testing.M) {
	code := m.Run()
	spo2.Remove()
	os.Exit(code)
}

func keys(m map[string]harness.Record) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// tlsFor is a client TLS configuration trusting only the test's certificate.
func tlsFor(certPEM []byte) *tls.Config {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}}
	cfg.RootCAs = certPool(certPEM)
	return cfg
}
