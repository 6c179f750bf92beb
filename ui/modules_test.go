package ui

import (
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestModules runs testdata/modules_test.mjs with Node on the embedded
// modules themselves: the merged order against a full sort, the text index
// against a scan, group counts, resuming and formatting. Without node the
// test is skipped, and fails in CI (CI=true).
func TestModules(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		msg := "node is not installed (Debian: apt-get install -y nodejs; .ci/run installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	static, err := fs.Sub(files, "static")
	if err != nil {
		t.Fatal(err)
	}
	js, err := fs.Glob(static, "*.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range js {
		b, err := fs.ReadFile(static, name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The modules are ES modules; tell Node so.
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"type": "module"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	script, err := filepath.Abs(filepath.Join("testdata", "modules_test.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script, dir)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("node:\n%s", strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("node %s: %v", script, err)
	}
}
