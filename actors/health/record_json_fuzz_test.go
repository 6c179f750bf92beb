package health

import (
	"bytes"
	"encoding/json"
	"math"
	"testing"
	"time"
)

// FuzzRecordJSON checks the hand-written encoder against encoding/json on
// arbitrary strings, codes and latencies: the bytes must be identical, and
// valid JSON.
func FuzzRecordJSON(f *testing.F) {
	f.Add("http://h/", "connection refused", 503, 4.1, int64(0))
	f.Add("http://h/\u2028<&>\"\\", "bad\xffutf8\x00\x1f", 0, 1e-7, int64(123456789))
	f.Add("emoji 🚀", "tab\tnew\nline\r", -1, 1e21, int64(-1))
	f.Fuzz(func(t *testing.T, url, errText string, code int, latency float64, nanos int64) {
		if math.IsNaN(latency) || math.IsInf(latency, 0) {
			return // encoding/json refuses them; latencies are measured, never NaN
		}
		at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC).Add(time.Duration(nanos % int64(100*365*24*time.Hour)))
		r := Record{
			URL:  url,
			Data: json.RawMessage(`{"k":"v"}`),
			Probe: Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second,
				FailureThreshold: 3, SuccessThreshold: 1, Expect: DefaultExpect},
			Status:    Status{State: Unreachable, Code: code, Error: errText, ErrorKind: KindOther, LatencyMS: latency, CheckedAt: &at, Since: at},
			CreatedAt: at, UpdatedAt: at,
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(r); err != nil {
			t.Fatalf("encoding/json: %v", err)
		}
		want := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		got := r.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON differs from encoding/json:\n got %s\nwant %s", got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("AppendJSON wrote invalid JSON: %s", got)
		}
	})
}
