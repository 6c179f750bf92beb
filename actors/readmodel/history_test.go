package readmodel

import (
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/history"
)

func TestEntryHistoryIsLazyAndFeedsUptime(t *testing.T) {
	m := New()
	created := time.Now().Add(-time.Hour)
	e := m.Put(&health.Registration{URL: "http://h/", CreatedAt: created}, &health.Status{State: health.Pending})
	if e.History() != nil {
		t.Fatal("a URL without a change has a history")
	}
	rec := e.Record()
	if got := string(rec.AppendJSON(nil)); !strings.Contains(got, `"uptime":null,"status":`) {
		t.Fatalf("pending record %s, want \"uptime\":null before \"status\"", got)
	}

	half := created.Add(30 * time.Minute)
	h := e.AddChange(history.NewChange(created, health.Unhealthy, health.Pending, 503, ""), 3)
	if e.AddChange(history.NewChange(half, health.Healthy, health.Unhealthy, 200, ""), 3) != h || h.Limit() != 3 {
		t.Fatal("the second change made a new history, or the limit was not kept")
	}
	e.SetStatus(&health.Status{State: health.Healthy, Since: half})
	ref := m.Refs()[0]
	if ref.Hist != h || h.Len() != 2 {
		t.Fatalf("ref holds history %p with %d changes, want %p with 2", ref.Hist, h.Len(), h)
	}
	u := ref.RecordAt(created.Add(time.Hour)).Uptime
	if !u.Known || u.Day != 0.5 || u.Week != 0.5 {
		t.Fatalf("uptime %+v, want 0.5 over both windows (30 min unhealthy, 30 min healthy)", u)
	}
}
