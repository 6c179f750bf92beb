package silence

import (
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func bySelector(t *testing.T, id, sel string, end time.Duration) Silence {
	t.Helper()
	s, err := health.ParseSelector(sel)
	if err != nil {
		t.Fatal(err)
	}
	return Silence{ID: id, Labels: sel, Selector: s, StartsAt: t0, EndsAt: t0.Add(end)}
}

func byURL(id, url string, end time.Duration) Silence {
	return Silence{ID: id, URL: url, StartsAt: t0, EndsAt: t0.Add(end)}
}

func TestSetMatches(t *testing.T) {
	set := NewSet([]Silence{
		byURL("a", "http://10.0.0.1/health", time.Hour),
		bySelector(t, "b", "team=search,tier=gold", time.Hour),
		bySelector(t, "c", "env=staging", time.Hour),
	})
	for _, c := range []struct {
		name   string
		url    string
		labels health.Labels
		want   bool
	}{
		{"the URL silence", "http://10.0.0.1/health", nil, true},
		{"the URL silence whatever the labels", "http://10.0.0.1/health", health.Labels{"team": "other"}, true},
		{"another URL without labels", "http://10.0.0.2/health", nil, false},
		{"a URL differing by a slash", "http://10.0.0.1/health/", nil, false},
		{"every label of a selector", "http://10.0.0.3/", health.Labels{"team": "search", "tier": "gold"}, true},
		{"more labels than the selector", "http://10.0.0.3/", health.Labels{"team": "search", "tier": "gold", "x": "y"}, true},
		{"one label of two", "http://10.0.0.3/", health.Labels{"team": "search"}, false},
		{"a different value", "http://10.0.0.3/", health.Labels{"team": "search", "tier": "silver"}, false},
		{"the second selector", "http://10.0.0.4/", health.Labels{"env": "staging"}, true},
		{"a value that is a key elsewhere", "http://10.0.0.4/", health.Labels{"staging": "env"}, false},
	} {
		if got := set.Matches(c.url, c.labels); got != c.want {
			t.Errorf("%s: Matches(%s, %v) = %v, want %v", c.name, c.url, c.labels, got, c.want)
		}
	}
	var empty *Set
	if empty.Matches("http://10.0.0.1/health", health.Labels{"team": "search"}) || empty.Len() != 0 || len(empty.List()) != 0 {
		t.Error("the nil set silences something")
	}
	if NewSet(nil) != nil {
		t.Error("a set of no silences is not nil")
	}
}

func TestSetListsSoonestEndingFirst(t *testing.T) {
	set := NewSet([]Silence{
		byURL("late", "http://a/", 3*time.Hour),
		byURL("b-tie", "http://b/", time.Hour),
		byURL("soon", "http://c/", time.Minute),
		byURL("a-tie", "http://d/", time.Hour),
	})
	var ids []string
	for _, s := range set.List() {
		ids = append(ids, s.ID)
	}
	want := []string{"soon", "a-tie", "b-tie", "late"}
	if len(ids) != len(want) {
		t.Fatalf("listed %v, want %v", ids, want)
	}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("listed %v, want %v", ids, want)
		}
	}
}

func TestSilenceJSONRoundTrip(t *testing.T) {
	for _, s := range []Silence{
		byURL("1", "http://10.0.0.1/health", time.Hour),
		bySelector(t, "2", "team=search", 2*time.Hour),
	} {
		s.Reason = "deploy"
		b, err := s.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back Silence
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if back.ID != s.ID || back.URL != s.URL || back.Labels != s.Labels || back.Reason != s.Reason ||
			!back.EndsAt.Equal(s.EndsAt) || !back.StartsAt.Equal(s.StartsAt) || len(back.Selector) != len(s.Selector) {
			t.Errorf("round trip of %s gave %+v", b, back)
		}
	}
	for _, bad := range []string{`{"id":"1","reason":"x"}`, `{"id":"1","url":"http://a/","labels":"a=b"}`,
		`{"url":"http://a/"}`, `{"id":"1","labels":"nokey"}`} {
		var s Silence
		if err := s.UnmarshalJSON([]byte(bad)); err == nil {
			t.Errorf("%s read as a silence", bad)
		}
	}
}

// BenchmarkSetMatches is the cost a record pays for its "silenced" field.
func BenchmarkSetMatches(b *testing.B) {
	sel := func(s string) health.Selector {
		out, err := health.ParseSelector(s)
		if err != nil {
			b.Fatal(err)
		}
		return out
	}
	end := t0.Add(time.Hour)
	three := NewSet([]Silence{
		{ID: "1", URL: "http://10.0.0.7:7700/health", EndsAt: end},
		{ID: "2", Labels: "team=search", Selector: sel("team=search"), EndsAt: end},
		{ID: "3", Labels: "tier=gold,env=prod", Selector: sel("tier=gold,env=prod"), EndsAt: end},
	})
	url, labels := "http://10.1.134.160:7700/health", health.Labels{"team": "ads", "tier": "silver"}
	for _, c := range []struct {
		name string
		set  *Set
	}{{"none", nil}, {"three", three}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if c.set.Matches(url, labels) {
					b.Fatal("matched")
				}
			}
		})
	}
}
