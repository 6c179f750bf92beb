package dashboard

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// axeInstallTimeout bounds npm install (a cold cache downloads one package).
const axeInstallTimeout = 3 * time.Minute

// axeSource is axe-core's browser script, installed with npm into a temp
// dir once per test binary, or why it is missing.
var axeSource struct {
	once    sync.Once
	dir     string
	script  string
	missing string
}

// installAxe returns the text of axe-core's axe.min.js. Without npm, or
// when the install fails, the test fails in CI (CI=true), where .ci/run
// installs npm, and is skipped elsewhere.
func installAxe(t *testing.T) string {
	t.Helper()
	a := &axeSource
	a.once.Do(func() {
		npm, err := exec.LookPath("npm")
		if err != nil {
			a.missing = "npm is not installed (Debian: apt-get install -y npm; .ci/run installs it)"
			return
		}
		if a.dir, err = os.MkdirTemp("", "spo2-axe-"); err != nil {
			a.missing = fmt.Sprintf("temp dir for axe-core: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), axeInstallTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", a.dir, "axe-core@4")
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			a.missing = fmt.Sprintf("npm install axe-core@4 (bounded by %s): %v\n%s", axeInstallTimeout, err, out)
			return
		}
		b, err := os.ReadFile(filepath.Join(a.dir, "node_modules", "axe-core", "axe.min.js"))
		if err != nil {
			a.missing = fmt.Sprintf("read axe.min.js: %v", err)
			return
		}
		a.script = string(b)
	})
	if a.missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(a.missing)
		}
		t.Skip(a.missing)
	}
	return a.script
}

// removeAxe deletes the installed package, if any.
func removeAxe() {
	if axeSource.dir != "" {
		os.RemoveAll(axeSource.dir)
	}
}

// axeViolation is one rule axe-core reports as violated, with the
// elements that violate it.
type axeViolation struct {
	ID    string `json:"id"`
	Help  string `json:"help"`
	Nodes []struct {
		Target  []any  `json:"target"`
		Summary string `json:"failureSummary"`
	} `json:"nodes"`
}

// checkAxe injects axe-core into the page (once) and fails the test for
// every violation it reports on the whole document.
func checkAxe(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	src := installAxe(t)
	if !evalJS[bool](t, ctx, `typeof window.axe === 'object'`) {
		evalJS[bool](t, ctx, src+"\n;true")
	}
	vs := evalJS[[]axeViolation](t, ctx, `axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({id: v.id, help: v.help, nodes: v.nodes.map(n => ({target: n.target, failureSummary: n.failureSummary}))})))`)
	for _, v := range vs {
		var where []string
		for _, n := range v.Nodes {
			where = append(where, fmt.Sprintf("%v: %s", n.Target, strings.ReplaceAll(n.Summary, "\n", " ")))
		}
		t.Errorf("axe-core, %s: %s (%s):\n  %s", what, v.ID, v.Help, strings.Join(where, "\n  "))
	}
	t.Logf("axe-core, %s: %d violations", what, len(vs))
}
