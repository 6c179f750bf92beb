package harness

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestEtcdStartStopRestart(t *testing.T) {
	e := StartEtcd(t)
	client := &http.Client{Timeout: 5 * time.Second}
	ctx := context.Background()
	if !etcdHealthy(ctx, client, e.Endpoint) {
		t.Fatalf("%s/health: not healthy after StartEtcd", e.Endpoint)
	}
	// A key written before the stop must be there after the restart: same data dir.
	put := `{"key":"` + b64("k") + `","value":"` + b64("v1") + `"}`
	if body := etcdPost(t, client, e.Endpoint+"/v3/kv/put", put); !strings.Contains(body, `"revision"`) {
		t.Fatalf("put answered %s", body)
	}

	e.Stop()
	_, err := client.Get(e.Endpoint + "/health")
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET /health after Stop: %v, want connection refused", err)
	}
	e.Stop() // a second Stop does nothing

	e.Restart(t)
	if !etcdHealthy(ctx, client, e.Endpoint) {
		t.Fatalf("%s/health: not healthy after Restart", e.Endpoint)
	}
	body := etcdPost(t, client, e.Endpoint+"/v3/kv/range", `{"key":"`+b64("k")+`"}`)
	if !strings.Contains(body, b64("v1")) {
		t.Fatalf("range after restart answered %s, want the value written before the stop", body)
	}

	e.Kill()
	if _, err := client.Get(e.Endpoint + "/health"); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("GET /health after Kill: %v, want connection refused", err)
	}
	e.Restart(t)
	if !etcdHealthy(ctx, client, e.Endpoint) {
		t.Fatalf("%s/health: not healthy after a restart from a kill", e.Endpoint)
	}
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// etcdPost posts a JSON body to etcd's gRPC gateway and returns the answer.
func etcdPost(t *testing.T, client *http.Client, url, body string) string {
	t.Helper()
	resp, err := client.Post(url, "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}
