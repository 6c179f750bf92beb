package engine

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// TestDiskFull fills DB_PATH's filesystem (a real 74 MiB tmpfs) with PUTs:
// writes are then refused with 507, the process stays up, reads and probing go
// on; once space is freed a PUT succeeds again without a restart, and every
// acknowledged write survives kill -9.
func TestDiskFull(t *testing.T) {
	t.Parallel()
	dir := mountTmpfs(t, "74m")
	// Something to delete later, in the same filesystem, to free space.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextTimeout(90 * time.Second)
	defer cancel()
	db := filepath.Join(dir, "db")
	p, err := harness.Start(ctx, harness.Options{Bin: bin, DBPath: db,
		Env: []string{"PROBE_INTERVAL=1s", "PROBE_TIMEOUT=500ms"}}) // the default DB_MIN_FREE, 64 MiB
	if err != nil {
		t.Fatalf("starting spo2: %v", err)
	}
	t.Cleanup(func() { stopAndCheck(t, p) })

	tg := newTarget(t, modeOK)
	probed := tg.URL("/probed")
	put(t, p, probed, nil, http.StatusCreated)
	waitStatus(t, p, probed, 10*time.Second, "healthy", func(r record) bool { return r.Status.State == "healthy" })

	// 60 KB of data per PUT. With the filler and the 64 MiB DB_MIN_FREE, about
	// 6 MiB is left: less than one 8 MiB memtable, so no flush (which briefly
	// takes space and so refuses writes for a moment) blurs when the disk is full.
	acked := map[string][]byte{}
	var full response
	for i := 0; i < 2000 && full.Code == 0; i++ {
		u := tg.URL(fmt.Sprintf("/fill/%d", i))
		pad := make([]byte, 45_000)
		_, _ = rand.Read(pad) // incompressible: Badger's tables compress
		data := fmt.Appendf(nil, `{"i":%d,"pad":%q}`, i, base64.StdEncoding.EncodeToString(pad))
		r, err := send(http.MethodPut, p.URL(q("/", u, "interval", "24h")), data) // probed rarely: only the data matters
		switch {
		case err != nil:
			t.Fatalf("PUT #%d: %v; spo2 died?\n%s", i, err, crashReport(p.Logs()))
		case r.Code == http.StatusCreated:
			acked[u] = data
		case r.Code == http.StatusInsufficientStorage:
			full = r
		default:
			t.Fatalf("PUT #%d: got %d %s, want 201 or 507", i, r.Code, r.Body)
		}
	}
	if full.Code == 0 {
		t.Fatalf("%d PUTs of 60 KB on a 74 MiB filesystem all succeeded", len(acked))
	}
	t.Logf("507 after %d acknowledged PUTs: %s", len(acked), full.Body)
	wantErrorJSON(t, "PUT on a full disk", full)
	if !strings.Contains(string(full.Body), db) || !strings.Contains(string(full.Body), "free") {
		t.Errorf("507 body %s does not name DB_PATH %s and the free space", full.Body, db)
	}

	// The process is up; reads and probing go on; a DELETE changes nothing.
	select {
	case <-p.Exited():
		t.Fatalf("spo2 exited on a full disk:\n%s", tail(p.Logs(), 30))
	default:
	}
	some := tg.URL("/fill/0")
	if r := do(t, http.MethodGet, p.URL(q("/", some)), nil); r.Code != http.StatusOK || !jsonEqual(r.Body, acked[some]) {
		t.Errorf("GET %s on a full disk: %d, data differs: %t", some, r.Code, !jsonEqual(r.Body, acked[some]))
	}
	if n := len(getAll(t, p)); n != len(acked)+1 {
		t.Errorf("GET /all on a full disk: %d records, want %d", n, len(acked)+1)
	}
	if r := do(t, http.MethodDelete, p.URL(q("/", some)), nil); r.Code != http.StatusInsufficientStorage {
		t.Errorf("DELETE on a full disk: got %d %s, want 507", r.Code, r.Body)
	}
	getStatus(t, p, some) // still registered
	checked := getStatus(t, p, probed).Status.CheckedAt
	waitStatus(t, p, probed, 10*time.Second, "a new probe", func(r record) bool {
		return r.Status.CheckedAt != nil && checked != nil && r.Status.CheckedAt.After(*checked)
	})
	if v, ok := metricValue(t, p, `spo2_store_writes_refused_total{kind="durable"}`); !ok || v < 2 {
		t.Errorf("spo2_store_writes_refused_total{kind=\"durable\"} = %v (found %t), want at least 2", v, ok)
	}
	if v, ok := metricValue(t, p, "spo2_store_free_bytes"); !ok || v <= 0 || v > 66<<20 {
		t.Errorf("spo2_store_free_bytes = %v (found %t), want about DB_MIN_FREE (64 MiB)", v, ok)
	}

	// Space comes back: writes work again, without a restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	again := tg.URL("/after-space-returned")
	put(t, p, again, []byte(`{"back":true}`), http.StatusCreated)
	acked[again] = []byte(`{"back":true}`)
	// The line is written before the write it admits, but reaches the test
	// through the process's stderr pipe, which the kit reads on its own.
	if !harness.Poll(5*time.Second, func() bool { return strings.Contains(p.Logs(), "store writes resumed") }) {
		t.Errorf("no log line saying writes resumed:\n%s", tail(p.Logs(), 20))
	}

	// Nothing acknowledged is lost, and the store opens after kill -9.
	p.Kill()
	checkNoRace(t, p)
	restart(t, p)
	after := map[string]record{}
	for _, rec := range getAll(t, p) {
		after[rec.URL] = rec
	}
	for u, data := range acked {
		rec, ok := after[u]
		switch {
		case !ok:
			t.Errorf("acknowledged %s lost after kill -9", u)
		case !jsonEqual(rec.Data, data):
			t.Errorf("%s: data changed across kill -9", u)
		}
	}
	if len(after) != len(acked)+1 {
		t.Errorf("%d records after restart, want %d", len(after), len(acked)+1)
	}
}

// mountTmpfs mounts a tmpfs of the given size on a fresh directory, unmounted
// at cleanup; the test is skipped where mounting is not permitted.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("needs a small filesystem to fill: mount -t tmpfs failed (root or CAP_SYS_ADMIN needed): %v %s", err, out)
	}
	// Registered after TempDir's removal, so it runs before it.
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// crashReport is the start of a Go crash report in logs, or their tail.
func crashReport(logs string) string {
	i := strings.Index(logs, "fatal error")
	if i < 0 {
		return tail(logs, 30)
	}
	lines := strings.SplitN(logs[i:], "\n", 16)
	return strings.Join(lines[:min(len(lines), 15)], "\n")
}
