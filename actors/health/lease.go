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

// Lease is a registration's lease: the URL is removed by itself at
// ExpiresAt unless a PUT renews it. TTL is positive. A Lease is replaced,
// never modified; a registration without a lease holds none, which keeps
// the many unleased registrations 24 bytes smaller.
type Lease struct {
	TTL       time.Duration
	ExpiresAt time.Time
}

// Leased reports whether r is removed by itself at r.ExpiresAt().
func (r *Registration) Leased() bool { return r.Lease != nil }

// TTL returns the length of r's lease; 0 when r has none.
func (r *Registration) TTL() time.Duration {
	if r.Lease == nil {
		return 0
	}
	return r.Lease.TTL
}

// ExpiresAt returns the deadline of r's lease; zero when r has none.
func (r *Registration) ExpiresAt() time.Time {
	if r.Lease == nil {
		return time.Time{}
	}
	return r.Lease.ExpiresAt
}

// Renew returns the deadline of a lease of ttl renewed at now.
func Renew(now time.Time, ttl time.Duration) time.Time { return now.Add(ttl).UTC() }
