package api

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/metrics"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/silence"
	"github.com/spo2/spo2/persistence"
)

func TestParseSilenceRefusesBadInput(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, body, want string
	}{
		{"empty body", ``, "body must be a JSON object"},
		{"not JSON", `team=search`, "body must be a JSON object"},
		{"an array", `[{"url":"http://a/"}]`, "body must be a JSON object"},
		{"two objects", `{"url":"http://a/","reason":"r","duration":"1h"} {}`, "one JSON object"},
		{"not UTF-8", "{\"reason\":\"\xff\"}", "UTF-8"},
		{"unknown field", `{"url":"http://a/","reason":"r","duration":"1h","comment":"x"}`, `unknown field "comment"`},
		{"url not a string", `{"url":5,"reason":"r","duration":"1h"}`, "url must be a string"},
		{"labels not a string", `{"labels":{"team":"search"},"reason":"r","duration":"1h"}`, "labels must be a string"},
		{"neither url nor labels", `{"reason":"r","duration":"1h"}`, "give url"},
		{"both url and labels", `{"url":"http://a/","labels":"a=b","reason":"r","duration":"1h"}`, "not both"},
		{"relative url", `{"url":"/health","reason":"r","duration":"1h"}`, "absolute http"},
		{"empty url", `{"url":"","reason":"r","duration":"1h"}`, "url is empty"},
		{"empty selector", `{"labels":"","reason":"r","duration":"1h"}`, "labels: empty label selector"},
		{"selector without =", `{"labels":"team","reason":"r","duration":"1h"}`, `labels: label selector term "team"`},
		{"selector with a bad key", `{"labels":"Team=x","reason":"r","duration":"1h"}`, "labels: label selector"},
		{"no reason", `{"url":"http://a/","duration":"1h"}`, "reason is missing"},
		{"blank reason", `{"url":"http://a/","reason":"  ","duration":"1h"}`, "reason is missing"},
		{"long reason", `{"url":"http://a/","reason":"` + strings.Repeat("x", MaxSilenceReasonBytes+1) + `","duration":"1h"}`, "reason is 1025 bytes"},
		{"neither ends_at nor duration", `{"url":"http://a/","reason":"r"}`, "give ends_at"},
		{"both ends_at and duration", `{"url":"http://a/","reason":"r","duration":"1h","ends_at":"2026-11-30T13:00:00Z"}`, "not both"},
		{"ends_at not RFC 3339", `{"url":"http://a/","reason":"r","ends_at":"tomorrow"}`, `ends_at "tomorrow" is not an RFC 3339 time`},
		{"ends_at without zone", `{"url":"http://a/","reason":"r","ends_at":"2026-11-30T13:00:00"}`, "not an RFC 3339 time"},
		{"ends_at in the past", `{"url":"http://a/","reason":"r","ends_at":"2026-11-30T11:00:00Z"}`, "is not in the future"},
		{"ends_at now", `{"url":"http://a/","reason":"r","ends_at":"2026-11-30T12:00:00Z"}`, "is not in the future"},
		{"ends_at too far", `{"url":"http://a/","reason":"r","ends_at":"2027-01-30T12:00:00Z"}`, "more than 30 days ahead"},
		{"ends_at not a string", `{"url":"http://a/","reason":"r","ends_at":1764504000}`, "ends_at must be a string"},
		{"duration unparsable", `{"url":"http://a/","reason":"r","duration":"2 hours"}`, `duration "2 hours" is not a duration`},
		{"duration without unit", `{"url":"http://a/","reason":"r","duration":"60"}`, "is not a duration"},
		{"duration too short", `{"url":"http://a/","reason":"r","duration":"59s"}`, "out of range"},
		{"duration negative", `{"url":"http://a/","reason":"r","duration":"-1h"}`, "out of range"},
		{"duration too long", `{"url":"http://a/","reason":"r","duration":"721h"}`, "out of range"},
	} {
		_, err := parseSilence([]byte(c.body), now)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %s: error %v, want one containing %q", c.name, c.body, err, c.want)
		}
	}
}

func TestParseSilenceAccepts(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	s, err := parseSilence([]byte(`{"labels":"team=search,tier=gold","reason":"deploy","duration":"2h"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.ID == "" || s.URL != "" || s.Labels != "team=search,tier=gold" || len(s.Selector) != 2 || s.Reason != "deploy" ||
		!s.StartsAt.Equal(now) || !s.EndsAt.Equal(now.Add(2*time.Hour)) {
		t.Errorf("parsed %+v", s)
	}
	s, err = parseSilence([]byte(`{"url":"http://10.0.0.1/health","reason":"r","ends_at":"2026-11-30T14:00:05+02:00"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "http://10.0.0.1/health" || !s.EndsAt.Equal(now.Add(5*time.Second)) || s.EndsAt.Location() != time.UTC {
		t.Errorf("parsed %+v: ends_at a few seconds ahead, in another zone, is accepted and kept in UTC", s)
	}
	for _, edge := range []string{`"duration":"1m"`, `"duration":"720h"`, `"ends_at":"2026-12-30T12:00:00Z"`} {
		if _, err := parseSilence([]byte(`{"url":"http://a/","reason":"r",`+edge+`}`), now); err != nil {
			t.Errorf("%s refused: %v", edge, err)
		}
	}
}

// The routes, with a real Book on a real store.
func TestSilenceRoutes(t *testing.T) {
	store, err := persistence.Open(t.TempDir(), quietLog, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	book, err := silence.Open(store, quietLog)
	if err != nil {
		t.Fatal(err)
	}
	defer book.Close()
	s := New(Config{Token: "t0k"}, Deps{Model: readmodel.New(), Metrics: metrics.New(), Log: quietLog, Silences: book})
	h := s.Handler()
	do := func(method, target, body string) (int, string) {
		t.Helper()
		req := httptest.NewRequest(method, target, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer t0k")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		b, _ := io.ReadAll(w.Result().Body)
		if ct := w.Result().Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%s %s: Content-Type %q", method, target, ct)
		}
		return w.Code, string(b)
	}
	code, body := do("POST", "/silences", `{"labels":"team=search","reason":"deploy","duration":"2h"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	var late map[string]any
	if err := json.Unmarshal([]byte(body), &late); err != nil {
		t.Fatal(err)
	}
	if _, hasURL := late["url"]; hasURL || late["labels"] != "team=search" || late["id"] == "" || late["starts_at"] == nil {
		t.Errorf("POST answered %s", body)
	}
	code, body = do("POST", "/silences", `{"url":"http://10.0.0.1/","reason":"maintenance","duration":"1h"}`)
	if code != http.StatusCreated {
		t.Fatalf("POST: %d %s", code, body)
	}
	var soon map[string]any
	_ = json.Unmarshal([]byte(body), &soon)

	code, body = do("GET", "/silences", "")
	var list []map[string]any
	if err := json.Unmarshal([]byte(body), &list); code != http.StatusOK || err != nil || len(list) != 2 ||
		list[0]["id"] != soon["id"] || list[1]["id"] != late["id"] {
		t.Errorf("GET: %d %s, want the two, soonest ending first", code, body)
	}
	if code, _ := do("HEAD", "/silences", ""); code != http.StatusOK {
		t.Errorf("HEAD: %d", code)
	}
	if code, body := do("GET", "/silences?active=1", ""); code != http.StatusBadRequest || !strings.Contains(body, `\"active\"`) {
		t.Errorf("unknown query parameter: %d %s", code, body)
	}
	if code, body := do("POST", "/silences", `{"url":"http://a/","reason":"r","duration":"1h","until":"x"}`); code != http.StatusBadRequest ||
		!strings.Contains(body, `unknown field \"until\"`) {
		t.Errorf("unknown field: %d %s", code, body)
	}
	if code, body := do("POST", "/silences", `{"reason":"`+strings.Repeat("x", MaxSilenceBytes)+`"}`); code != http.StatusRequestEntityTooLarge {
		t.Errorf("body over the limit: %d %s", code, body)
	}

	code, body = do("DELETE", "/silences/"+soon["id"].(string), "")
	if code != http.StatusOK || !strings.Contains(body, soon["id"].(string)) {
		t.Errorf("DELETE: %d %s", code, body)
	}
	if code, body := do("DELETE", "/silences/"+soon["id"].(string), ""); code != http.StatusNotFound {
		t.Errorf("DELETE again: %d %s, want 404", code, body)
	}
	if code, _ := do("DELETE", "/silences/nope", ""); code != http.StatusNotFound {
		t.Errorf("DELETE of an unknown id: %d, want 404", code)
	}
	_, body = do("GET", "/silences", "")
	if err := json.Unmarshal([]byte(body), &list); err != nil || len(list) != 1 || list[0]["id"] != late["id"] {
		t.Errorf("GET after DELETE: %s", body)
	}

	req := httptest.NewRequest("GET", "/silences", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("without the token: %d", w.Code)
	}
}
