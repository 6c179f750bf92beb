package slack

import (
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestWindow(t *testing.T) {
	var w Window
	t0 := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	if w.IsOpen() || w.Current(0) {
		t.Fatal("the zero window is open")
	}
	w.Open(t0, 5*time.Second)
	w.Open(t0.Add(time.Second), 5*time.Second) // already open: keeps its end
	if !w.IsOpen() || !w.End().Equal(t0.Add(5*time.Second)) || !w.Current(0) {
		t.Fatalf("open %v, end %v, current %v", w.IsOpen(), w.End(), w.Current(0))
	}
	w.Saw(u(1), health.Unreachable)
	w.Saw(u(2), health.Unhealthy)
	w.Saw(u(3), health.Unhealthy)
	w.Saw(u(2), health.Healthy) // recovered within the window
	w.Forget(u(3))              // removed
	if w.Failing() != 1 {
		t.Errorf("%d failing, want 1", w.Failing())
	}
	id, failing := w.Close()
	if id != 0 || len(failing) != 1 || failing[u(1)] != health.Unreachable {
		t.Errorf("closed window %d with %v", id, failing)
	}
	if w.IsOpen() || w.ID() != 1 || w.Failing() != 0 || w.Current(0) {
		t.Errorf("after Close: open %v, id %d, failing %d", w.IsOpen(), w.ID(), w.Failing())
	}
}
