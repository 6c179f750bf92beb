package slack_test

import (
	"context"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/slack"
	"github.com/spo2/spo2/persistence"
)

// Only saved states survive a restart; states set in memory and never saved
// (never delivered) are unannounced at the next load.
func TestAnnouncedSurvivesOnlyWhatWasSaved(t *testing.T) {
	dir := t.TempDir()
	store, err := persistence.Open(dir, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	urls := []string{"http://10.0.0.1/h", "http://10.0.0.2/h", "http://10.0.0.3/h"}
	ops := make([]persistence.Op, len(urls))
	for i, u := range urls {
		ops[i] = persistence.Op{URL: u, Reg: &health.Registration{URL: u}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := store.Write(ctx, ops); err != nil {
		t.Fatal(err)
	}

	a := slack.LoadAnnounced(store, quietLog())
	if got := a.Last(urls[0]); got != health.Healthy {
		t.Errorf("a URL never announced counts as %q, want healthy", got)
	}
	a.Set(urls[0], health.Unhealthy)
	a.Set(urls[1], health.Unreachable)
	a.Save(map[string]health.State{urls[0]: health.Unhealthy}) // delivered
	a.Set(urls[2], health.Unhealthy)
	a.Forget(urls[2])
	if a.Len() != 2 || a.Last(urls[1]) != health.Unreachable || a.Last(urls[2]) != health.Healthy {
		t.Errorf("in memory: len %d, %q, %q", a.Len(), a.Last(urls[1]), a.Last(urls[2]))
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}

	store, err = persistence.Open(dir, quietLog(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := slack.LoadAnnounced(store, quietLog())
	if b.Len() != 1 || b.Last(urls[0]) != health.Unhealthy || b.Last(urls[1]) != health.Healthy {
		t.Errorf("after reopening: len %d, %q, %q; want only the delivered %s unhealthy",
			b.Len(), b.Last(urls[0]), b.Last(urls[1]), urls[0])
	}
}
