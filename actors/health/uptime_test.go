package health

import (
	"encoding/json"
	"math"
	"testing"
)

func TestUptimeJSON(t *testing.T) {
	for _, tc := range []struct {
		u    Uptime
		want string
	}{
		{Uptime{}, `null`},
		{Uptime{Known: true, Day: 0.999, Week: 0.98}, `{"24h":0.999,"7d":0.98}`},
		{Uptime{Known: true, Day: 1, Week: 0}, `{"24h":1,"7d":0}`},
		{Uptime{Known: true, Day: math.NaN(), Week: 0.123456}, `{"24h":null,"7d":0.123456}`},
	} {
		if got := string(tc.u.AppendJSON(nil)); got != tc.want {
			t.Errorf("%+v: AppendJSON %s, want %s", tc.u, got, tc.want)
		}
		if got, err := json.Marshal(struct{ U Uptime }{tc.u}); err != nil || string(got) != `{"U":`+tc.want+`}` {
			t.Errorf("%+v: json.Marshal %s (%v), want the same encoding", tc.u, got, err)
		}
	}
}
