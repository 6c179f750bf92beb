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
