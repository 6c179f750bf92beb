package engine

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// TestInvalidUTF8: JSON is UTF-8 (RFC 8259) and WebSocket text frames must
// be valid UTF-8 (RFC 6455 §8.1; browsers drop the connection otherwise, so
// one bad record would break every dashboard for good: each reconnect gets
// it again in its snapshot). Input with invalid UTF-8 is refused with a 4xx,
// or else nothing SpO₂ sends out may carry it.
func TestInvalidUTF8(t *testing.T) {
	t.Parallel()
	p := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")

	t.Run("in the data", func(t *testing.T) {
		c := connectWS(t, "ws://"+p.WSAddr+"/")
		c.waitSynced(t)
		u := closedPortURL(t, "/utf8-data")
		r := do(t, http.MethodPut, p.URL(q("/", u)), []byte("{\"s\":\"bad \xff\xfe bytes\"}"))
		if r.Code >= 400 && r.Code < 500 {
			wantErrorJSON(t, "PUT with invalid UTF-8 data", r)
			return
		}
		if r.Code/100 != 2 {
			t.Fatalf("PUT with invalid UTF-8 data: got %d %s, want a 4xx (or a 2xx with the data made valid)", r.Code, r.Body)
		}
		if !utf8.Valid(r.Body) {
			t.Errorf("PUT answer echoes invalid UTF-8: %q", r.Body)
		}
		if all := do(t, http.MethodGet, p.URL("/all"), nil); !utf8.Valid(all.Body) {
			t.Errorf("GET /all is not valid UTF-8 JSON after PUT of invalid UTF-8 data (accepted with %d)", r.Code)
		}
		c.next(t, 5*time.Second, "a valid UTF-8 registered event", func(e event) bool { return e.Type == "registered" })
		// A new dashboard connecting now must get a valid snapshot too.
		again := connectWS(t, "ws://"+p.WSAddr+"/")
		again.waitSynced(t)
	})

	t.Run("in the url", func(t *testing.T) {
		prefix := closedPortURL(t, "/caf")
		u := prefix + "\xe9"
		r := do(t, http.MethodPut, p.URL("/?url="+url.QueryEscape(u)), nil)
		if r.Code >= 400 && r.Code < 500 {
			wantErrorJSON(t, "PUT of a URL with invalid UTF-8", r)
			return
		}
		if r.Code/100 != 2 {
			t.Fatalf("PUT of a URL with invalid UTF-8: got %d %s", r.Code, r.Body)
		}
		// Accepted: the URL shown in the records must be usable to manage it.
		var shown string
		for _, rec := range getAll(t, p) {
			if strings.HasPrefix(rec.URL, prefix) {
				shown = rec.URL
			}
		}
		if shown == "" {
			t.Fatalf("accepted URL not listed in GET /all")
		}
		if r := do(t, http.MethodGet, p.URL(q("/status", shown)), nil); r.Code != http.StatusOK {
			t.Errorf("PUT accepted a URL with invalid UTF-8 (%d) but the URL it lists, %q, gives %d on GET /status: it cannot be managed", 201, shown, r.Code)
		}
	})

	t.Run("in bulk data", func(t *testing.T) {
		u := closedPortURL(t, "/utf8-bulk")
		r := do(t, http.MethodPost, p.URL("/bulk"), []byte("[{\"url\":\""+u+"\",\"data\":\"\xff\"}]"))
		if r.Code >= 400 && r.Code < 500 {
			return
		}
		if r.Code != http.StatusOK {
			t.Fatalf("POST /bulk with invalid UTF-8 data: got %d %s", r.Code, r.Body)
		}
		if strings.Contains(string(r.Body), `"created":1`) {
			if all := do(t, http.MethodGet, p.URL("/all"), nil); !utf8.Valid(all.Body) {
				t.Errorf("POST /bulk accepted invalid UTF-8 data (%s) and GET /all is no longer valid UTF-8 JSON", r.Body)
			}
		}
	})
}
