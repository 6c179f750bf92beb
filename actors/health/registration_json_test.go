package health

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// TestRegistrationAppendJSONMatchesEncodingJSON: the stored form written by
// hand is byte for byte what encoding/json writes for it, and reads back.
func TestRegistrationAppendJSONMatchesEncodingJSON(t *testing.T) {
	at := time.Date(2026, 11, 21, 10, 0, 0, 123456789, time.UTC)
	local := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	settings := Settings{Interval: 10 * time.Second, Timeout: 1500 * time.Millisecond, FailureThreshold: 3,
		SuccessThreshold: 1, Expect: MustParseExpect("200,204,300-399")}
	derived := settings
	derived.TimeoutDerived = true
	tests := []struct {
		name string
		reg  Registration
	}{
		{"plain", Registration{URL: "http://127.0.0.1:9/h", Data: json.RawMessage(`{"a":1}`), Probe: settings, CreatedAt: at, UpdatedAt: at}},
		{"no data", Registration{URL: "http://127.0.0.1:9/h", Probe: settings, CreatedAt: at, UpdatedAt: local}},
		{"derived timeout", Registration{URL: "http://h/a?b=1&c=<2>", Data: json.RawMessage(`"x<&>y"`), Probe: derived, CreatedAt: local, UpdatedAt: at}},
		{"odd url", Registration{URL: "http://h/quo\"te\\tab\t\u2028bad\xff", Data: json.RawMessage(`null`), Probe: settings}},
		{"labels", Registration{URL: "http://h/l", Probe: settings, Labels: Labels{"tier": "gold <&>", "team": "sé\"arch", "a.b-c_d": ""}, CreatedAt: at, UpdatedAt: at}},
		{"lease", Registration{URL: "http://h/t", Probe: settings, CreatedAt: at, UpdatedAt: at, Lease: &Lease{TTL: 30 * time.Minute, ExpiresAt: at.Add(30 * time.Minute)}}},
		{"paused", Registration{URL: "http://h/p", Probe: derived, CreatedAt: at, UpdatedAt: at, Paused: true}},
		{"paused lease", Registration{URL: "http://h/pl", Probe: settings, CreatedAt: at, UpdatedAt: at, Lease: &Lease{TTL: 10 * time.Second, ExpiresAt: at}, Paused: true}},
		{"nested data", Registration{URL: "https://h", Data: json.RawMessage(`[1,2.5,{"k":[null,true]},"é"]`), Probe: derived, CreatedAt: at, UpdatedAt: at}},
	}
	for _, tt := range tests {
		stored := storedRegistration{registrationFields: registrationFields(tt.reg), TimeoutDerived: tt.reg.Probe.TimeoutDerived,
			Paused: tt.reg.Paused}
		if tt.reg.Leased() {
			stored.TTL, stored.ExpiresAt = tt.reg.Lease.TTL.String(), &tt.reg.Lease.ExpiresAt
		}
		want := marshalPlain(t, stored)
		got := tt.reg.AppendJSON([]byte("prefix"))
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got[len("prefix"):], want)
		}
		m, err := tt.reg.MarshalJSON()
		if err != nil || !bytes.Equal(m, want) {
			t.Errorf("%s: MarshalJSON %s, %v; want %s", tt.name, m, err, want)
		}
		var back Registration
		if err := json.Unmarshal(want, &back); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if back.URL != tt.reg.URL && tt.name != "odd url" || !back.Probe.Equal(tt.reg.Probe) || !back.Labels.Equal(tt.reg.Labels) ||
			back.TTL() != tt.reg.TTL() || !back.ExpiresAt().Equal(tt.reg.ExpiresAt()) || back.Paused != tt.reg.Paused {
			t.Errorf("%s: read back %+v", tt.name, back)
		}
	}
}
