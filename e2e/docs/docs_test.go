// Package docs runs the shell examples of README.md and docs/api.md against
// the real binary and checks each answer against the one documented, so the
// documents cannot drift from what SpO₂ does.
//
// Examples sit in ```sh blocks, in one of two forms:
//
//   - a line starting with `curl `, followed by `# → STATUS BODY` (either
//     part may be left out);
//   - a terminal transcript: `$ command` lines, each followed by the output
//     it printed.
//
// A command may use $ID: the "id" of the last answer that had one (a JSON
// object, or a transcript line holding one), such as a silence's id, which
// SpO₂ picks.
//
// The examples of a document run in order against one spo2, started with the
// default configuration. An HTML comment `<!-- doc-test: env K=V … -->`
// before a block starts a fresh spo2 with that environment for it and the
// blocks after it. curl reaches that spo2 at the documented `localhost:8000`
// and `localhost:8001` (curl's --connect-to), so Host headers stay as shown.
//
// Answers are compared by shape. JSON must have the same types, objects the
// same keys, arrays the same length, and the same text wherever the key is
// "error" (except in a status: a probe's error varies); a null in the documented JSON matches any value (a time not yet
// set, say). Other output must match line by line, except `Date:` headers and
// the value of a Prometheus sample (`name{labels} value`).
package docs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
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
	line       int
	command    string
	env        []string // set on the first example of a block with a doc-test comment
	newProcess bool     // start a fresh spo2 (with env) before this example
	transcript bool     // a `$ ` line: output is what the command printed
	output     []string // transcript output lines
	status     int      // `# →` form: 0 when not documented
	body       string   // `# →` form: "" when not documented
}

var directive = regexp.MustCompile(`^<!--\s*doc-test:\s*env\s*(.*?)\s*-->$`)

// showAnswers (DOCS_SHOW=1, with -v) logs every real answer, to write an
// example's documented output from a run rather than by hand.
var showAnswers = os.Getenv("DOCS_SHOW") == "1"

func TestDocumentedExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed to run the documented examples: %v", err)
	}
	root, err := harness.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{"README.md", "docs/api.md"} {
		t.Run(doc, func(t *testing.T) {
			examples := parseExamples(t, filepath.Join(root, doc))
			if len(examples) == 0 {
				t.Fatalf("%s has no example to run", doc)
			}
			var p *harness.Process
			var id string // $ID: the last answer's "id"
			for i, ex := range examples {
				if i == 0 || ex.newProcess {
					if p != nil {
						stop(t, p)
					}
					p = start(t, ex.env)
				}
				where := fmt.Sprintf("%s:%d: %s", doc, ex.line, ex.command)
				if ex.transcript {
					got := runTranscript(t, ex.command, p, id)
					if showAnswers {
						t.Logf("%s\n%s", where, strings.Join(got, "\n"))
					}
					for _, line := range got {
						id = idOf(line, id)
					}
					if diff := sameOutput(ex.output, got); diff != "" {
						t.Errorf("%s\n%s\n got:\n%s\nwant:\n%s", where, diff, strings.Join(got, "\n"), strings.Join(ex.output, "\n"))
					}
					continue
				}
				status, body := runCurl(t, ex.command, p, id)
				if showAnswers {
					t.Logf("%s\n# → %d %s", where, status, body)
				}
				id = idOf(string(body), id)
				if ex.status != 0 && status != ex.status {
					t.Errorf("%s\nanswered %d %s, documented %d", where, status, body, ex.status)
					continue
				}
				if ex.body != "" {
					if diff := sameJSON(ex.body, string(body)); diff != "" {
						t.Errorf("%s\n%s\n got %s\nwant %s", where, diff, body, ex.body)
					}
				}
			}
			stop(t, p)
		})
	}
}

func start(t *testing.T, env []string) *harness.Process {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := harness.Start(ctx, harness.Options{Bin: bin, TempDir: t.TempDir(), Env: env})
	if err != nil {
		t.Fatalf("starting spo2 with %v: %v", env, err)
	}
	return p
}

func stop(t *testing.T, p *harness.Process) {
	t.Helper()
	if _, err := p.Stop(15 * time.Second); err != nil {
		t.Errorf("spo2 did not stop cleanly: %v\n%s", err, p.Logs())
	}
}

// parseExamples reads the examples of a Markdown file.
func parseExamples(t *testing.T, path string) []example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []example
	inSh := false
	var pendingEnv []string
	pendingNew := false
	blockStart := false
	cont := false // the last command continues on the next line
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		raw := sc.Text()
		line := strings.TrimSpace(raw)
		if m := directive.FindStringSubmatch(line); m != nil && !inSh {
			pendingEnv, pendingNew = strings.Fields(m[1]), true
			continue
		}
		if strings.HasPrefix(line, "```") {
			inSh = !inSh && strings.TrimPrefix(line, "```") == "sh"
			blockStart = inSh
			continue
		}
		if !inSh {
			continue
		}
		add := func(ex example) {
			if blockStart && pendingNew {
				ex.newProcess, ex.env = true, pendingEnv
				pendingNew = false
			}
			blockStart = false
			out = append(out, ex)
		}
		switch {
		case cont:
			last := &out[len(out)-1]
			last.command += " " + strings.TrimSuffix(line, `\`)
			cont = strings.HasSuffix(line, `\`)
		case strings.HasPrefix(raw, "$ "):
			add(example{line: n, command: strings.TrimSuffix(raw[2:], `\`), transcript: true})
			cont = strings.HasSuffix(raw, `\`)
		case len(out) > 0 && out[len(out)-1].transcript && !blockStart:
			last := &out[len(out)-1]
			last.output = append(last.output, raw)
		case strings.HasPrefix(line, "curl "):
			add(example{line: n, command: strings.TrimSuffix(line, `\`)})
			cont = strings.HasSuffix(line, `\`)
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

// idOf returns the "id" of answer when it is a JSON object that has one,
// else last.
func idOf(answer, last string) string {
	var v struct {
		ID *string `json:"id"`
	}
	if err := json.Unmarshal([]byte(answer), &v); err != nil || v.ID == nil {
		return last
	}
	return *v.ID
}

// shell runs script with bash, with a curl that reaches p at the documented
// addresses and $ID set to id, and returns what it printed on stdout.
func shell(t *testing.T, script string, p *harness.Process, curlFlags, id string) []byte {
	t.Helper()
	_, httpPort, _ := net.SplitHostPort(p.HTTPAddr)
	_, wsPort, _ := net.SplitHostPort(p.WSAddr)
	wrapper := fmt.Sprintf("curl() { command curl --max-time 20 --connect-to localhost:8000:127.0.0.1:%s --connect-to localhost:8001:127.0.0.1:%s %s \"$@\"; }\n",
		httpPort, wsPort, curlFlags) + "ID=" + strconv.Quote(id) + "\n"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", wrapper+script)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, stderr.String())
	}
	return out
}

// runCurl runs a `# →` example and returns the HTTP status and body.
func runCurl(t *testing.T, command string, p *harness.Process, id string) (int, []byte) {
	t.Helper()
	bodyFile := filepath.Join(t.TempDir(), "body")
	out := shell(t, command, p, fmt.Sprintf("-sS -o %q -w '%%{http_code}'", bodyFile), id)
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

// runTranscript runs a `$ ` command as written and returns its output lines.
func runTranscript(t *testing.T, command string, p *harness.Process, id string) []string {
	t.Helper()
	out := strings.ReplaceAll(string(shell(t, command, p, "", id)), "\r\n", "\n")
	return strings.Split(strings.TrimRight(out, "\n"), "\n")
}

var promSample = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})?) [-+0-9.eE]+$`)

// sameOutput compares a transcript's documented output with what the command
// printed, and describes the first difference.
func sameOutput(want, got []string) string {
	norm := func(lines []string) []string {
		var out []string
		for _, l := range lines {
			if strings.HasPrefix(l, "Date: ") {
				continue
			}
			if m := promSample.FindStringSubmatch(l); m != nil {
				l = m[1] + " <value>"
			}
			out = append(out, l)
		}
		for len(out) > 0 && strings.TrimSpace(out[len(out)-1]) == "" {
			out = out[:len(out)-1]
		}
		return out
	}
	w, g := norm(want), norm(got)
	for i := range max(len(w), len(g)) {
		switch {
		case i >= len(w):
			return fmt.Sprintf("line %d printed but not documented: %q", i+1, g[i])
		case i >= len(g):
			return fmt.Sprintf("line %d documented but not printed: %q", i+1, w[i])
		case isJSON(w[i]) && isJSON(g[i]):
			if d := sameJSON(w[i], g[i]); d != "" {
				return fmt.Sprintf("line %d: %s", i+1, d)
			}
		case w[i] != g[i]:
			return fmt.Sprintf("line %d: %q, documented %q", i+1, g[i], w[i])
		}
	}
	return ""
}

// isJSON reports whether line is one JSON object or array.
func isJSON(line string) bool {
	line = strings.TrimSpace(line)
	return (strings.HasPrefix(line, "{") || strings.HasPrefix(line, "[")) && json.Valid([]byte(line))
}

// sameJSON compares two JSON texts by shape.
func sameJSON(want, got string) string {
	var w, g any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		return fmt.Sprintf("documented answer is not JSON: %v", err)
	}
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		return fmt.Sprintf("answer is not JSON: %v", err)
	}
	return sameShape("", w, g)
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
			_, isStatus := w["state"] // a probe's error varies; SpO₂'s own do not
			if k == "error" && !isStatus && w[k] != g[k] {
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
