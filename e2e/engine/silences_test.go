package engine

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/slack/slacktest"
	"github.com/spo2/spo2/e2e/harness"
)

// silenceAnswer is a silence as the API answers it.
type silenceAnswer struct {
	ID       string    `json:"id"`
	URL      string    `json:"url"`
	Labels   string    `json:"labels"`
	Reason   string    `json:"reason"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
}

func listSilences(t *testing.T, p interface{ URL(string) string }) []silenceAnswer {
	t.Helper()
	r := do(t, http.MethodGet, p.URL("/silences"), nil)
	var list []silenceAnswer
	if err := json.Unmarshal(r.Body, &list); r.Code != http.StatusOK || err != nil {
		t.Fatalf("GET /silences: %d %s", r.Code, r.Body)
	}
	return list
}

// mentions counts the Slack bodies that name u.
func mentions(bodies []string, u string) int {
	n := 0
	for _, b := range bodies {
		if strings.Contains(b, u) {
			n++
		}
	}
	return n
}

// TestSilenceMutesSlackNotTheStream: a label silence keeps Slack quiet about
// the URLs it covers while their changes still stream on the WebSocket and
// an unsilenced URL is announced; the silence ends on time, and the change
// that happened meanwhile is announced then, once. Its start and end stream
// the covered URL's record with its new "silenced".
func TestSilenceMutesSlackNotTheStream(t *testing.T) {
	slack := slacktest.NewServer(t, "/services/T0/B0/secret")
	p := startSpo2(t, "SLACK_HOOK_URL="+slack.URL, "SLACK_BATCH_WINDOW=200ms", "FAILURE_THRESHOLD=1")
	defer stopAndCheck(t, p)
	tgA, tgB := newTarget(t, modeOK), newTarget(t, modeOK)
	a, b := tgA.URL("/search"), tgB.URL("/ads")
	if r := do(t, http.MethodPut, p.URL(q("/", a, "interval", "1s", "timeout", "500ms")+"&label="+url.QueryEscape("team=search")), nil); r.Code != http.StatusCreated {
		t.Fatalf("PUT %s: %d %s", a, r.Code, r.Body)
	}
	put(t, p, b, nil, http.StatusCreated, "interval", "1s", "timeout", "500ms")
	for _, u := range []string{a, b} {
		waitStatus(t, p, u, 10*time.Second, "healthy", func(r record) bool { return r.Status.State == "healthy" })
	}

	ws := connectWS(t, "ws://"+p.WSAddr+"/")
	if snap := ws.waitSynced(t); snap[a].Silenced || snap[b].Silenced {
		t.Errorf("snapshot silenced before any silence: %v, %v", snap[a].Silenced, snap[b].Silenced)
	}
	silencedEvent := func(want bool) func(event) bool {
		return func(e event) bool { return e.Type == "registered" && e.Record.URL == a && e.Record.Silenced == want }
	}

	endsAt := time.Now().Add(6 * time.Second).UTC().Truncate(time.Second)
	r := do(t, http.MethodPost, p.URL("/silences"),
		[]byte(fmt.Sprintf(`{"labels":"team=search","reason":"deploy","ends_at":%q}`, endsAt.Format(time.RFC3339))))
	var s silenceAnswer
	if err := json.Unmarshal(r.Body, &s); r.Code != http.StatusCreated || err != nil || s.ID == "" ||
		s.Labels != "team=search" || !s.EndsAt.Equal(endsAt) {
		t.Fatalf("POST /silences: %d %s", r.Code, r.Body)
	}
	if !getStatus(t, p, a).Silenced || getStatus(t, p, b).Silenced {
		t.Fatalf("silenced: %s %v, %s %v; want true, false", a, getStatus(t, p, a).Silenced, b, getStatus(t, p, b).Silenced)
	}

	ws.next(t, 5*time.Second, "a registered event saying silenced", silencedEvent(true))
	tgA.set(modeFail)
	tgB.set(modeFail)
	eventually(t, 10*time.Second, "both changes on the WebSocket", func() bool {
		seen := map[string]bool{}
		for _, e := range ws.all() {
			if e.Type == "status" && e.State == "unhealthy" {
				seen[e.URL] = true
			}
		}
		return seen[a] && seen[b]
	})
	eventually(t, 10*time.Second, "the unsilenced URL on Slack", func() bool { return mentions(slack.Bodies(), b) == 1 })
	if time.Now().Before(endsAt) && mentions(slack.Bodies(), a) != 0 {
		t.Fatalf("Slack mentioned %s while it was silenced: %v", a, slack.Bodies())
	}

	eventually(t, 15*time.Second, "the silenced change announced after the end", func() bool {
		return mentions(slack.Bodies(), a) == 1
	})
	attempts := slack.Attempts()
	if last := attempts[len(attempts)-1].At; last.Before(endsAt) {
		t.Errorf("announced at %s, before the silence ended at %s", last, endsAt)
	}
	for _, body := range slack.Bodies() {
		if !strings.Contains(body, a) {
			continue
		}
		if !strings.Contains(body, "unhealthy") {
			t.Errorf("the announcement does not say unhealthy: %s", body)
		}
		t.Logf("announced after the silence: %s", body)
	}
	ws.next(t, 5*time.Second, "a registered event saying no longer silenced", silencedEvent(false))
	if getStatus(t, p, a).Silenced {
		t.Error("record still silenced after the end")
	}
	for _, e := range ws.all() {
		if e.Type == "registered" && e.Record.URL == b {
			t.Errorf("a registered event for %s, which no silence covered", b)
		}
	}
	if list := listSilences(t, p); len(list) != 0 {
		t.Errorf("GET /silences after the end: %+v", list)
	}
	// A few more probes and windows: nothing more to say.
	harness.Holds(t, 1500*time.Millisecond, "each URL announced once", func() bool {
		return mentions(slack.Bodies(), a) == 1 && mentions(slack.Bodies(), b) == 1
	})
}

// TestSilenceSurvivesKill9: a silence answered 201 is there after kill -9
// and a restart, with the same id and end, and still silences; DELETE then
// ends it.
func TestSilenceSurvivesKill9(t *testing.T) {
	p := startSpo2(t)
	defer stopAndCheck(t, p)
	u := closedPortURL(t, "/health")
	put(t, p, u, nil, http.StatusCreated)
	r := do(t, http.MethodPost, p.URL("/silences"), []byte(fmt.Sprintf(`{"url":%q,"reason":"maintenance","duration":"2h"}`, u)))
	var s silenceAnswer
	if err := json.Unmarshal(r.Body, &s); r.Code != http.StatusCreated || err != nil {
		t.Fatalf("POST /silences: %d %s", r.Code, r.Body)
	}
	p.Kill() // right after the answer
	checkNoRace(t, p)
	restart(t, p)

	list := listSilences(t, p)
	if len(list) != 1 || list[0].ID != s.ID || list[0].URL != u || !list[0].EndsAt.Equal(s.EndsAt) || list[0].Reason != "maintenance" {
		t.Fatalf("after kill -9: %+v, want %+v", list, s)
	}
	if !getStatus(t, p, u).Silenced {
		t.Error("the URL is not silenced after the restart")
	}
	if r := do(t, http.MethodDelete, p.URL("/silences/"+s.ID), nil); r.Code != http.StatusOK {
		t.Fatalf("DELETE: %d %s", r.Code, r.Body)
	}
	if r := do(t, http.MethodDelete, p.URL("/silences/"+s.ID), nil); r.Code != http.StatusNotFound {
		t.Errorf("DELETE again: %d %s, want 404", r.Code, r.Body)
	}
	wantErrorJSON(t, "DELETE of an ended silence", do(t, http.MethodDelete, p.URL("/silences/"+s.ID), nil))
	if getStatus(t, p, u).Silenced {
		t.Error("still silenced after DELETE")
	}
}
