package slack

import (
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestIncidentLifecycle(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	failing := map[string]health.State{u(0): health.Unreachable, u(1): health.Unreachable, u(2): health.Unhealthy}
	// u(2)'s change went out on its own line before the window closed: no event.
	inc := NewIncident(t0, failing, []Event{ev(0, health.Unreachable), ev(1, health.Unreachable)})
	if inc.Failing() != 3 || !inc.Has(u(2)) {
		t.Fatalf("failing %d, has u2 %v", inc.Failing(), inc.Has(u(2)))
	}
	inc.Absorb(ev(5, health.Unhealthy), t0.Add(time.Second)) // joins
	inc.Absorb(ev(0, health.Healthy), t0.Add(2*time.Second)) // recovers
	inc.Absorb(ev(1, health.Healthy), t0.Add(3*time.Second))
	inc.Remove(u(2))
	inc.Remove(u(9)) // not part of it: no effect
	if !inc.LastChange.Equal(t0.Add(3*time.Second)) || inc.Failing() != 1 {
		t.Errorf("last change %v, failing %d", inc.LastChange, inc.Failing())
	}
	rec, announce := inc.Recovery(t0.Add(time.Minute))
	if rec.Total != 4 || rec.Recovered != 2 || rec.Removed != 1 || rec.Lasted != time.Minute ||
		rec.StillByState[health.Unhealthy] != 1 || len(rec.Still) != 1 || rec.Still[0].URL != u(5) {
		t.Errorf("recovery %+v", rec)
	}
	want := map[string]health.State{u(0): health.Healthy, u(1): health.Healthy, u(5): health.Unhealthy}
	if len(announce) != len(want) {
		t.Errorf("announce %v, want %v", announce, want)
	}
	for url, st := range want {
		if announce[url] != st {
			t.Errorf("announce[%s] = %q, want %q", url, announce[url], st)
		}
	}
}
