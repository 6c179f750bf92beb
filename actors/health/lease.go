package health

import (
	"fmt"
	"time"
)

// Limits on a lease's ttl, enforced by CheckTTL. A ttl of 0 means no lease.
const (
	MinTTL = 10 * time.Second
	MaxTTL = 30 * 24 * time.Hour
)

// CheckTTL accepts 0 (no lease, or clear it) and MinTTL-MaxTTL; any other
// ttl is an error naming it.
func CheckTTL(ttl time.Duration) error {
	if ttl != 0 && (ttl < MinTTL || ttl > MaxTTL) {
		return fmt.Errorf("ttl %s is outside 10s-720h (30 days); ttl=0 clears the lease", ttl)
	}
	return nil
}

// Leased reports whether r is removed by itself at r.ExpiresAt.
func (r *Registration) Leased() bool { return r.TTL > 0 }

// Renew returns the deadline of a lease of ttl renewed at now.
func Renew(now time.Time, ttl time.Duration) time.Time { return now.Add(ttl).UTC() }
