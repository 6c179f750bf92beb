// Package clock holds the harnesses' waits: every one ends when its context
// does, so a run stops by itself.
package clock

import (
	"context"
	"time"
)

// Sleep waits for d, or until ctx ends (then it returns ctx's error).
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
