package actors

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

func TestEventsEncodeRecordsAsTheAPIDoes(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 500, time.UTC)
	rec := health.NewRecord(&health.Registration{URL: "http://h/<a>&b", Data: json.RawMessage(`{"html":"<b>&amp;</b>"}`),
		Probe: fastSettings, CreatedAt: at, UpdatedAt: at},
		&health.Status{State: health.Unhealthy, Code: 503, CheckedAt: &at, Since: at})
	wantRecord := string(rec.AppendJSON(nil))
	tests := []struct {
		name string
		ev   Event
		want string
	}{
		{"registered", Registered{Record: rec, New: true}, `{"type":"registered","seq":42,"record":` + wantRecord + `}`},
		{"snapshot", Snapshot{Record: rec}, `{"type":"snapshot","seq":42,"record":` + wantRecord + `}`},
		{"status", StatusChanged{URL: "http://h/<a>&b", State: health.Unreachable, Previous: health.Healthy,
			Error: "connection refused", ErrorKind: health.KindRefused, LatencyMS: 0.4, At: at, PreviousSince: at},
			`{"type":"status","seq":42,"url":"http://h/<a>&b","state":"unreachable","previous":"healthy","code":0,` +
				`"error":"connection refused","error_kind":"refused","latency_ms":0.4,"at":"2026-11-21T10:00:00.0000005Z"}`},
		{"removed", Removed{URL: "http://h/<a>&b", Reason: RemovalReasonDeleted, Data: json.RawMessage(`1`)},
			`{"type":"removed","seq":42,"url":"http://h/<a>&b","reason":"deleted"}`},
		{"synced", Synced{}, `{"type":"synced","seq":42}`},
		{"seq of a whole uint64", Synced{}, `{"type":"synced","seq":18446744073709551615}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seq := uint64(42)
			if strings.Contains(tc.name, "uint64") {
				seq = math.MaxUint64
			}
			got := string(tc.ev.AppendJSON(nil, seq))
			if got != tc.want {
				t.Fatalf("AppendJSON\n got %s\nwant %s", got, tc.want)
			}
			var fields map[string]any
			if err := json.Unmarshal([]byte(got), &fields); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if fields["type"] != tc.ev.EventType() {
				t.Fatalf("type %v, want %s", fields["type"], tc.ev.EventType())
			}
			if strings.Contains(got, `\u003c`) || strings.Contains(got, `\u0026`) {
				t.Fatalf("HTML-escaped: %s", got)
			}
		})
	}
}
