package health

import (
	"testing"
	"time"
)

func TestCheckTTL(t *testing.T) {
	for _, tc := range []struct {
		ttl time.Duration
		ok  bool
	}{
		{0, true}, {MinTTL, true}, {30 * time.Minute, true}, {MaxTTL, true},
		{MinTTL - time.Nanosecond, false}, {time.Second, false}, {-time.Minute, false}, {MaxTTL + time.Second, false},
	} {
		if err := CheckTTL(tc.ttl); (err == nil) != tc.ok {
			t.Errorf("CheckTTL(%s) = %v, want ok=%v", tc.ttl, err, tc.ok)
		}
	}
}

func TestRegistrationLease(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		reg     Registration
		leased  bool
		ttl     time.Duration
		expires time.Time
	}{
		{Registration{URL: "http://h/"}, false, 0, time.Time{}},
		{Registration{URL: "http://h/", Lease: &Lease{TTL: time.Minute, ExpiresAt: at}}, true, time.Minute, at},
	}
	for _, tc := range tests {
		if tc.reg.Leased() != tc.leased || tc.reg.TTL() != tc.ttl || !tc.reg.ExpiresAt().Equal(tc.expires) {
			t.Errorf("%+v: leased %v ttl %v expires %v, want %v %v %v", tc.reg.Lease, tc.reg.Leased(), tc.reg.TTL(),
				tc.reg.ExpiresAt(), tc.leased, tc.ttl, tc.expires)
		}
	}
}
