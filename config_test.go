package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestDefaultTimeout: without PROBE_TIMEOUT the built-in timeout is capped
// to half the interval (so a short PROBE_INTERVAL alone starts); a given
// PROBE_TIMEOUT is used as it is and must be below PROBE_INTERVAL.
func TestDefaultTimeout(t *testing.T) {
	tests := []struct {
		env         map[string]string
		args        []string
		wantTimeout time.Duration // the timeout of a URL at the default interval
		wantDerived bool
		wantErr     string
	}{
		{env: nil, wantTimeout: 5 * time.Second, wantDerived: true},
		{env: map[string]string{"PROBE_INTERVAL": "2s"}, wantTimeout: time.Second, wantDerived: true},
		{env: map[string]string{"PROBE_INTERVAL": "1s"}, wantTimeout: 500 * time.Millisecond, wantDerived: true},
		{env: map[string]string{"PROBE_INTERVAL": "2s", "PROBE_TIMEOUT": "1500ms"}, wantTimeout: 1500 * time.Millisecond},
		{env: map[string]string{"PROBE_INTERVAL": "2s", "PROBE_TIMEOUT": "3s"}, wantErr: "PROBE_TIMEOUT=3s"},
		{env: map[string]string{"PROBE_INTERVAL": "2s", "PROBE_TIMEOUT": "5s"}, wantErr: "must be below interval"},
		{args: []string{"-probe-interval", "2s", "-probe-timeout", "5s"}, wantErr: "must be below interval"},
		{args: []string{"-probe-interval", "2s"}, wantTimeout: time.Second, wantDerived: true},
		{env: map[string]string{"PROBE_INTERVAL": "500ms"}, wantErr: "interval 500ms"},
	}
	for _, tc := range tests {
		for _, k := range []string{"PROBE_INTERVAL", "PROBE_TIMEOUT"} {
			t.Setenv(k, "")
			if v, ok := tc.env[k]; ok {
				t.Setenv(k, v)
			} else {
				unsetenv(t, k)
			}
		}
		c, err := loadConfig(tc.args)
		name := strings.TrimSpace(strings.Join(tc.args, " ") + " " + mapText(tc.env))
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s: error %v, want one with %q", name, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", name, err)
		case c.Defaults.TimeoutFor(c.Defaults.Interval) != tc.wantTimeout || c.Defaults.TimeoutDerived != tc.wantDerived:
			t.Errorf("%s: timeout %s derived %v, want %s %v", name, c.Defaults.TimeoutFor(c.Defaults.Interval),
				c.Defaults.TimeoutDerived, tc.wantTimeout, tc.wantDerived)
		}
	}
}

func mapText(m map[string]string) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

// unsetenv removes k for the test (t.Setenv has set it, so it is restored).
func unsetenv(t *testing.T, k string) {
	t.Helper()
	if err := os.Unsetenv(k); err != nil {
		t.Fatal(err)
	}
}

// TestHistoryLimit: HISTORY_LIMIT defaults to 100 and takes 1-1000.
func TestHistoryLimit(t *testing.T) {
	for _, tc := range []struct {
		value   string // "" leaves it unset
		want    int
		wantErr string
	}{
		{"", 100, ""},
		{"5", 5, ""},
		{"1000", 1000, ""},
		{"0", 0, `HISTORY_LIMIT="0": not a whole number in 1-1000`},
		{"1001", 0, `HISTORY_LIMIT="1001": not a whole number in 1-1000`},
	} {
		t.Setenv("HISTORY_LIMIT", tc.value)
		if tc.value == "" {
			unsetenv(t, "HISTORY_LIMIT")
		}
		c, err := loadConfig(nil)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("HISTORY_LIMIT=%q: error %v, want %q", tc.value, err, tc.wantErr)
			}
		case err != nil || c.HistoryLimit != tc.want:
			t.Errorf("HISTORY_LIMIT=%q: limit %d (%v), want %d", tc.value, c.HistoryLimit, err, tc.want)
		}
	}
}
