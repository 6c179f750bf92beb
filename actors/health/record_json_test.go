package health

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

func marshalPlain(t *testing.T, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	local := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	strs := []string{"", "plain", `quo"te`, `back\slash`, "tab\tnew\nline\r", "ctl\x01\x1f", "<html>&amp;",
		"héllo wörld ✓", "bad\xffutf8", "sep\u2028\u2029", "emoji 🚀"}
	for i := 0; i < 500; i++ {
		pick := func() string { return strs[rand.IntN(len(strs))] }
		checked := at.Add(time.Duration(rand.IntN(1e9)))
		r := Record{
			URL:  "http://h/" + pick(),
			Data: json.RawMessage(`{"k":"v","n":[1,2.5,null]}`),
			Probe: Settings{Interval: time.Duration(rand.IntN(100)+1) * 500 * time.Millisecond, Timeout: 1500 * time.Millisecond,
				FailureThreshold: rand.IntN(100) + 1, SuccessThreshold: 1, Expect: MustParseExpect("200,204,300-399")},
			Status: Status{State: AllStates[rand.IntN(len(AllStates))], Code: rand.IntN(600), Error: pick(), ErrorKind: KindRefused,
				LatencyMS: float64(rand.IntN(1e6)) / 1000, Since: local},
			CreatedAt: at, UpdatedAt: local,
		}
		if i%3 != 0 {
			r.Labels = Labels{"team": pick(), "tier": pick()}
		}
		if i%2 == 0 {
			r.Status.CheckedAt = &checked
		}
		if i%7 == 0 {
			r.Data = nil
		}
		if i%5 == 0 {
			expires := checked.Add(time.Hour)
			r.ExpiresAt = &expires
		}
		switch i % 4 {
		case 1:
			r.Uptime = Uptime{Known: true, Day: float64(rand.IntN(1e6+1)) / 1e6, Week: 1}
		case 2:
			r.Uptime = Uptime{Known: true, Day: math.NaN(), Week: 0.5}
		}
		want := marshalPlain(t, r)
		got := r.AppendJSON(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("record %d:\n got %s\nwant %s", i, got, want)
		}
		if !json.Valid(got) {
			t.Fatalf("record %d: invalid JSON %s", i, got)
		}
	}
}

func BenchmarkRecordJSON(b *testing.B) {
	now := time.Now()
	r := Record{URL: "http://10.0.3.7:7700/health", Data: json.RawMessage(`{"index":"movies","customer":42}`),
		Probe:  Settings{Interval: 10 * time.Second, Timeout: 5 * time.Second, FailureThreshold: 3, SuccessThreshold: 1, Expect: DefaultExpect},
		Status: Status{State: Healthy, Code: 200, LatencyMS: 1.234, CheckedAt: &now, Since: now}, CreatedAt: now, UpdatedAt: now}
	b.Run("AppendJSON", func(b *testing.B) {
		var buf []byte
		for b.Loop() {
			buf = r.AppendJSON(buf[:0])
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			_, _ = json.Marshal(r)
		}
	})
}
