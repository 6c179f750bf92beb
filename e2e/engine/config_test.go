package engine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadConfiguration: a bad value stops start-up with a non-zero exit and
// one line naming the variable and the value.
func TestBadConfiguration(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { busy.Close() })
	busyAddr := busy.Addr().String()
	file := filepath.Join(t.TempDir(), "not-a-dir")
	if err := os.WriteFile(file, []byte("not a badger store"), 0o644); err != nil {
		t.Fatal(err)
	}

	// A store already open by a running spo2.
	running := startSpo2(t, "PROBE_INTERVAL=1m", "PROBE_TIMEOUT=1s")

	cases := []struct {
		name  string
		env   []string
		names string // the variable the line must name
		value string // the value it must show
	}{
		{"PROBE_INTERVAL=abc", []string{"PROBE_INTERVAL=abc"}, "PROBE_INTERVAL", "abc"},
		{"PROBE_TIMEOUT without unit", []string{"PROBE_TIMEOUT=5"}, "PROBE_TIMEOUT", "5"},
		{"FAILURE_THRESHOLD=0", []string{"FAILURE_THRESHOLD=0"}, "FAILURE_THRESHOLD", "0"},
		{"WS_CLIENT_QUEUE=lots", []string{"WS_CLIENT_QUEUE=lots"}, "WS_CLIENT_QUEUE", "lots"},
		{"WS_RESUME_BUFFER negative", []string{"WS_RESUME_BUFFER=-1"}, "WS_RESUME_BUFFER", "-1"},
		{"WS_RESUME_BUFFER too large", []string{"WS_RESUME_BUFFER=20000000"}, "WS_RESUME_BUFFER", "20000000"},
		{"PROBE_TIMEOUT not below PROBE_INTERVAL", []string{"PROBE_INTERVAL=2s", "PROBE_TIMEOUT=3s"}, "PROBE_TIMEOUT", "3s"},
		{"HTTP_LISTEN_ADDR in use", []string{"HTTP_LISTEN_ADDR=" + busyAddr}, "HTTP_LISTEN_ADDR", busyAddr},
		{"WS_LISTEN_ADDR in use", []string{"WS_LISTEN_ADDR=" + busyAddr}, "WS_LISTEN_ADDR", busyAddr},
		{"HTTP_LISTEN_ADDR not an address", []string{"HTTP_LISTEN_ADDR=localhost"}, "HTTP_LISTEN_ADDR", "localhost"},
		{"DB_PATH is a file", []string{"DB_PATH=" + file}, "DB_PATH", file},
		{"DB_PATH in use by another spo2", []string{"DB_PATH=" + running.DBPath}, "DB_PATH", running.DBPath},
		{"DB_MIN_FREE not a size", []string{"DB_MIN_FREE=64MB"}, "DB_MIN_FREE", "64MB"},
		{"DB_MIN_FREE too small", []string{"DB_MIN_FREE=32MiB"}, "DB_MIN_FREE", "32MiB"},
		{"ALLOWED_TARGETS bad rule", []string{"ALLOWED_TARGETS=10.0.0.0/8,10.0.0.0/33"}, "ALLOWED_TARGETS", "10.0.0.0/33"},
		{"DB_PATH under a file", []string{"DB_PATH=" + filepath.Join(file, "db")}, "DB_PATH", filepath.Join(file, "db")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := append(os.Environ(), "HTTP_LISTEN_ADDR=127.0.0.1:0", "WS_LISTEN_ADDR=127.0.0.1:0",
				"DB_PATH="+filepath.Join(t.TempDir(), "db"))
			env = append(env, c.env...)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin)
			cmd.Env = env
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
				t.Fatalf("spo2 with %v: got %v after %s, want a non-zero exit\n%s", c.env, err, time.Since(start), out.String())
			}
			var naming []string
			for _, line := range strings.Split(out.String(), "\n") {
				if strings.Contains(line, c.names) {
					naming = append(naming, line)
				}
			}
			if len(naming) != 1 {
				t.Fatalf("spo2 with %v: %d lines name %s, want exactly one\n%s", c.env, len(naming), c.names, out.String())
			}
			if !strings.Contains(naming[0], c.value) {
				t.Errorf("spo2 with %v: line %q does not show the value %q", c.env, naming[0], c.value)
			}
			if strings.Contains(out.String(), "WARNING: DATA RACE") || strings.Contains(out.String(), "panic:") {
				t.Errorf("spo2 with %v: a race or panic on the way out:\n%s", c.env, out.String())
			}
		})
	}
}
