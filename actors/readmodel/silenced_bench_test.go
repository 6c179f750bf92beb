package readmodel_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
	"github.com/spo2/spo2/actors/readmodel"
	"github.com/spo2/spo2/actors/silence"
)

// setSilencer is a Silencer over a fixed Set.
type setSilencer struct{ set *silence.Set }

func (s setSilencer) Silenced(url string, labels health.Labels) bool {
	return s.set.Matches(url, labels)
}

// BenchmarkRefsSilenced measures what GET /all does with 100,000 entries —
// capture them, build and encode each record — without silences, with none
// active, and with three (one by URL, two by selector), each URL carrying
// two labels.
func BenchmarkRefsSilenced(b *testing.B) {
	sel := func(s string) health.Selector {
		out, err := health.ParseSelector(s)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	end := time.Now().Add(time.Hour)
	three := silence.NewSet([]silence.Silence{
		{ID: "1", URL: "http://10.0.0.7:7700/health", EndsAt: end},
		{ID: "2", Labels: "team=search", Selector: sel("team=search"), EndsAt: end},
		{ID: "3", Labels: "tier=gold,env=prod", Selector: sel("tier=gold,env=prod"), EndsAt: end},
	})
	for _, c := range []struct {
		name string
		s    readmodel.Silencer
	}{{"unset", nil}, {"none", setSilencer{}}, {"three", setSilencer{three}}} {
		m := readmodel.New()
		if c.s != nil {
			m.SetSilencer(c.s)
		}
		teams := []string{"search", "ads", "maps", "books"}
		for i := range 100_000 {
			m.Put(&health.Registration{URL: fmt.Sprintf("http://10.%d.%d.%d:7700/health", i>>16, i>>8&255, i&255),
				Labels: health.Labels{"team": teams[i%4], "tier": "silver"}}, &health.Status{State: health.Healthy})
		}
		b.Run(c.name, func(b *testing.B) {
			silenced := 0
			var buf []byte
			for b.Loop() {
				silenced = 0
				for _, r := range m.Refs() {
					rec := r.Record()
					buf = rec.AppendJSON(buf[:0])
					if rec.Silenced {
						silenced++
					}
				}
			}
			if want := map[string]int{"three": 25_001}[c.name]; silenced != want {
				b.Fatalf("%d silenced, want %d", silenced, want)
			}
		})
	}
}
