package actors

import (
	"reflect"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestStatusWireRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	before := at.Add(-time.Hour)
	for name, p := range map[string]PeerStatus{
		"failing": {URL: "http://x/1", Status: health.Status{State: health.Unreachable, Code: 0, Error: "connection refused",
			ErrorKind: health.ErrorKind("refused"), LatencyMS: 1.5, CheckedAt: &at, Since: at},
			Previous: health.Healthy, PreviousSince: before},
		"never checked": {URL: "http://x/2", Status: health.Status{State: health.Pending, Since: at}, Previous: health.Pending},
	} {
		t.Run(name, func(t *testing.T) {
			if got := statusFromWire(statusToWire(p)); !reflect.DeepEqual(got, p) {
				t.Fatalf("round trip\n got %+v\nwant %+v", got, p)
			}
		})
	}
	// A local change, as a checker reports it, arrives as the status it set.
	ev := StatusChanged{URL: "http://x/3", State: health.Unhealthy, Previous: health.Healthy, Code: 503,
		LatencyMS: 2, At: at, PreviousSince: before}
	got := statusFromWire(changeToWire(ev))
	want := PeerStatus{URL: ev.URL, Status: health.Status{State: health.Unhealthy, Code: 503, LatencyMS: 2, CheckedAt: &at, Since: at},
		Previous: health.Healthy, PreviousSince: before}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("from a StatusChanged\n got %+v\nwant %+v", got, want)
	}
}
