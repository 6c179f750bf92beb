// Package docs runs the curl examples of README.md and docs/api.md against
// the real binary and checks that each answer has the documented status and
// shape, so the documents cannot drift from what SpO₂ does.
//
// An example is a line starting with `curl ` inside a ```sh block, followed
// by a line `# → STATUS BODY` (either part may be left out). The examples of
// one document run in order against one fresh spo2 with the default
// configuration; `localhost:8000` and `localhost:8001` stand for its HTTP
// and WebSocket listeners. BODY, when given, must be JSON; the answer must
// have the same shape: the same JSON types, objects with the same keys, arrays
// of the same length, and the same text wherever the key is "error". A null
// in BODY matches any value (a time not yet set, say).
package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// bin is the spo2 binary built once in TestMain.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "spo2-docs-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		os.Exit(1)
	}
	bin, err = harness.Build(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "building spo2:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// example is one documented command and what it should answer.
type example struct {
	line    int
	command string
	status  int    // 0: not documented
	body    string // "": not documented
}

func TestDocumentedExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed to run the documented examples: %v", err)
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"README.md"} {
		t.Run(doc, func(t *testing.T) {
			examples := parseExamples(t, filepath.Join(root, doc))
			if len(examples) == 0 {
				t.Fatalf("%s has no curl example with an answer", doc)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			p, err := harness.Start(ctx, harness.Options{Bin: bin, TempDir: t.TempDir()})
			if err != nil {
				t.Fatalf("starting spo2: %v", err)
			}
			defer func() {
				if _, err := p.Stop(15 * time.Second); err != nil {
					t.Errorf("spo2 did not stop cleanly: %v", err)
				}
			}()
			for _, ex := range examples {
				status, body := run(t, ex.command, p.HTTPAddr, p.WSAddr)
				where := fmt.Sprintf("%s:%d: %s", doc, ex.line, ex.command)
				if ex.status != 0 && status != ex.status {
					t.Errorf("%s\nanswered %d %s, documented %d", where, status, body, ex.status)
					continue
				}
				if ex.body == "" {
					continue
				}
				var want, got any
				if err := json.Unmarshal([]byte(ex.body), &want); err != nil {
					t.Errorf("%s\ndocumented answer is not JSON (%v): %s", where, err, ex.body)
					continue
				}
				if err := json.Unmarshal(body, &got); err != nil {
					t.Errorf("%s\nanswer is not JSON (%v): %s", where, err, body)
					continue
				}
				if diff := sameShape("", want, got); diff != "" {
					t.Errorf("%s\n%s\n got %s\nwant %s", where, diff, body, ex.body)
				}
			}
		})
	}
}

// parseExamples reads the curl examples of a Markdown file.
func parseExamples(t *testing.T, path string) []example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	inSh := false
	var cont string // a command continued with a trailing backslash
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "```"):
			inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
			continue
		case !inSh:
			continue
		case cont != "":
			cont += " " + strings.TrimSuffix(line, `\`)
			if !strings.HasSuffix(line, `\`) {
				out[len(out)-1].command, cont = cont, ""
			}
		case strings.HasPrefix(line, "curl "):
			out = append(out, example{line: n, command: strings.TrimSuffix(line, `\`)})
			if strings.HasSuffix(line, `\`) {
				cont = out[len(out)-1].command
			}
		case strings.HasPrefix(line, "# → ") && len(out) > 0:
			ex := &out[len(out)-1]
			rest := strings.TrimSpace(strings.TrimPrefix(line, "# → "))
			if code, err := strconv.Atoi(strings.SplitN(rest, " ", 2)[0]); err == nil && code >= 100 && code <= 599 {
				ex.status = code
				rest = strings.TrimSpace(strings.TrimPrefix(rest, strconv.Itoa(code)))
			}
			ex.body = rest
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// run runs command with bash, the documented addresses replaced by the
// process's, and returns the HTTP status and body curl got.
func run(t *testing.T, command, httpAddr, wsAddr string) (int, []byte) {
	t.Helper()
	command = strings.NewReplacer("localhost:8000", httpAddr, "127.0.0.1:8000", httpAddr,
		"localhost:8001", wsAddr, "127.0.0.1:8001", wsAddr).Replace(command)
	dir := t.TempDir()
	bodyFile := filepath.Join(dir, "body")
	// The example's own curl, with its answer's body to a file and the status
	// on stdout.
	script := fmt.Sprintf("curl() { command curl -sS --max-time 20 -o %q -w '%%{http_code}' \"$@\"; }\n%s\n", bodyFile, command)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", command, err, out)
	}
	status, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("%s: no status from curl: %q", command, out)
	}
	body, err := os.ReadFile(bodyFile)
	if err != nil {
		t.Fatalf("%s: %v", command, err)
	}
	return status, bytes.TrimSpace(body)
}

// sameShape describes the first difference of shape between want and got,
// or returns "" when they have the same shape.
func sameShape(at string, want, got any) string {
	if want == nil {
		return ""
	}
	if reflect.TypeOf(want) != reflect.TypeOf(got) {
		return fmt.Sprintf("at %q: %T, documented %T", at, got, want)
	}
	switch w := want.(type) {
	case map[string]any:
		g := got.(map[string]any)
		if wk, gk := keys(w), keys(g); !reflect.DeepEqual(wk, gk) {
			return fmt.Sprintf("at %q: keys %v, documented %v", at, gk, wk)
		}
		for _, k := range keys(w) {
			if k == "error" && w[k] != g[k] {
				return fmt.Sprintf("at %q: error %q, documented %q", at, g[k], w[k])
			}
			if d := sameShape(at+"."+k, w[k], g[k]); d != "" {
				return d
			}
		}
	case []any:
		g := got.([]any)
		if len(w) != len(g) {
			return fmt.Sprintf("at %q: %d items, documented %d", at, len(g), len(w))
		}
		for i := range w {
			if d := sameShape(fmt.Sprintf("%s[%d]", at, i), w[i], g[i]); d != "" {
				return d
			}
		}
	}
	return ""
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
