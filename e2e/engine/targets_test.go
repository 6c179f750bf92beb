package engine

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAllowedTargets: with ALLOWED_TARGETS set, a URL whose host the rules
// do not allow is a 400 naming the rules (PUT) or an item error (bulk); a
// name matching no pattern is judged by the address it resolves to when it
// is probed.
func TestAllowedTargets(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, modeOK)
	port := tg.URL("")[strings.LastIndexByte(tg.URL(""), ':'):]
	p := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=500ms", "ALLOWED_TARGETS=localhost, 10.0.0.0/8")
	const rules = "ALLOWED_TARGETS=localhost,10.0.0.0/8"

	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:22/", "http://0.0.0.0/", "http://[::1]/"} {
		r := do(t, http.MethodPut, p.URL(q("/", u)), nil)
		if r.Code != http.StatusBadRequest || !strings.Contains(string(r.Body), rules) {
			t.Errorf("PUT %s: %d %s, want 400 naming %s", u, r.Code, r.Body, rules)
		}
		wantErrorJSON(t, "PUT "+u, r)
	}
	allowed := "http://localhost" + port + "/ok"
	put(t, p, allowed, nil, http.StatusCreated)
	waitStatus(t, p, allowed, 10*time.Second, "healthy", func(r record) bool { return r.Status.State == "healthy" })

	body := `[{"url": "http://10.1.2.3:7700/"}, {"url": "http://127.0.0.1` + port + `/"}]`
	r := do(t, http.MethodPost, p.URL("/bulk"), []byte(body))
	var out struct {
		Created int `json:"created"`
		Errors  []struct {
			Index int    `json:"index"`
			Error string `json:"error"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &out); err != nil || r.Code != http.StatusOK || out.Created != 1 ||
		len(out.Errors) != 1 || out.Errors[0].Index != 1 || !strings.Contains(out.Errors[0].Error, rules) {
		t.Fatalf("bulk with one disallowed item: %d %s", r.Code, r.Body)
	}
	if r := do(t, http.MethodGet, p.URL("/healthz"), nil); r.Code != http.StatusOK || !strings.Contains(string(r.Body), `"status":"ok"`) {
		t.Errorf("/healthz: %d %s", r.Code, r.Body)
	}

	// A name that matches no pattern, while ranges exist, is accepted and
	// checked where it resolves: 127.0.0.1 is not in 10.0.0.0/8.
	p2 := startSpo2(t, "PROBE_INTERVAL=1s", "PROBE_TIMEOUT=500ms", "ALLOWED_TARGETS=10.0.0.0/8")
	byName := "http://localhost" + port + "/by-name"
	put(t, p2, byName, nil, http.StatusCreated)
	rec := waitStatus(t, p2, byName, 10*time.Second, "unreachable", func(r record) bool { return r.Status.State == "unreachable" })
	if rec.Status.ErrorKind != "other" || !strings.Contains(rec.Status.Error, "not allowed by ALLOWED_TARGETS") {
		t.Errorf("status %+v, want an 'other' error naming ALLOWED_TARGETS", rec.Status)
	}
	if n := tg.count(); n == 0 {
		t.Error("the allowed URL was never probed")
	}
}
