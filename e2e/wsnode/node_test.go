package wsnode

import (
	"bufio"
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// clientJS is the Node client the tests run, written beside the installed
// ws package.
//
//go:embed client.js
var clientJS []byte

// installTimeout bounds npm install (a cold cache downloads one small
// package).
const installTimeout = 3 * time.Minute

// nodeClient is the Node client installed once per test binary: node and
// the script's path, or why it is missing.
var nodeClient struct {
	once    sync.Once
	dir     string
	node    string
	script  string
	missing string // why Node or ws is unavailable ("": available)
	elapsed time.Duration
}

// installNodeClient returns node and the script path, installing ws@8 with
// npm into a temp dir on first use. Without node or npm, or when the install
// fails, the test fails in CI (CI=true), where .ci/run installs them, and is
// skipped elsewhere.
func installNodeClient(t *testing.T) (node, script string) {
	t.Helper()
	c := &nodeClient
	c.once.Do(func() {
		start := time.Now()
		defer func() { c.elapsed = time.Since(start) }()
		var err error
		if c.node, err = exec.LookPath("node"); err != nil {
			c.missing = "node is not installed (Debian: apt-get install -y nodejs npm; .ci/run installs them)"
			return
		}
		npm, err := exec.LookPath("npm")
		if err != nil {
			c.missing = "npm is not installed (Debian: apt-get install -y npm; .ci/run installs it)"
			return
		}
		if c.dir, err = os.MkdirTemp("", "spo2-wsnode-"); err != nil {
			c.missing = fmt.Sprintf("temp dir for ws: %v", err)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), installTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, npm, "install", "--no-audit", "--no-fund", "--prefix", c.dir, "ws@8")
		cmd.Env = append(os.Environ(), "npm_config_update_notifier=false")
		cmd.WaitDelay = 5 * time.Second
		if out, err := cmd.CombinedOutput(); err != nil {
			c.missing = fmt.Sprintf("npm install ws@8 (bounded by %s): %v\n%s", installTimeout, err, out)
			return
		}
		c.script = filepath.Join(c.dir, "client.js")
		if err := os.WriteFile(c.script, clientJS, 0o644); err != nil {
			c.missing = fmt.Sprintf("write %s: %v", c.script, err)
		}
	})
	if c.missing != "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(c.missing)
		}
		t.Skip(c.missing)
	}
	return c.node, c.script
}

// removeNodeClient deletes the installed package, if any.
func removeNodeClient() {
	if nodeClient.dir != "" {
		os.RemoveAll(nodeClient.dir)
	}
}

// line is one JSON line the Node client printed; which fields are set
// depends on Kind (see client.js).
type line struct {
	Kind             string          `json:"kind"`
	Status           int             `json:"status"`
	ExtensionsHeader *string         `json:"extensions_header"`
	Extensions       string          `json:"extensions"`
	Binary           bool            `json:"binary"`
	Bytes            int             `json:"bytes"`
	Events           []harness.Event `json:"events"`
	PayloadBytes     int64           `json:"payload_bytes"`
	WireBytes        int64           `json:"wire_bytes"`
	Code             int             `json:"code"`
	Message          string          `json:"message"`
}

// nodeWS is one running Node client. Its lines arrive on lines, in order;
// the channel is closed when its stdout ends.
type nodeWS struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan line
	stderr *harness.Buffer
	done   chan struct{} // closed once Wait returned
	err    error         // Wait's error, set before done is closed
}

// startNode runs the Node client against u, offering permessage-deflate
// when deflate is set. At cleanup the process is killed if it still runs.
func startNode(t *testing.T, u string, deflate bool) *nodeWS {
	t.Helper()
	node, script := installNodeClient(t)
	mode := "plain"
	if deflate {
		mode = "deflate"
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := &nodeWS{
		cmd:    exec.CommandContext(ctx, node, script, u, mode),
		lines:  make(chan line, 1024),
		stderr: &harness.Buffer{},
		done:   make(chan struct{}),
	}
	n.cmd.Stderr = n.stderr
	n.cmd.WaitDelay = 5 * time.Second
	var err error
	if n.stdin, err = n.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := n.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start node %s: %v", script, err)
	}
	go func() {
		defer close(n.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
		for sc.Scan() {
			var l line
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = line{Kind: "garbage", Message: fmt.Sprintf("%v: %.300s", err, sc.Bytes())}
			}
			n.lines <- l
		}
		n.err = n.cmd.Wait()
		close(n.done)
	}()
	t.Cleanup(func() {
		cancel() // kills node unless it already exited
		<-n.done
		if t.Failed() {
			t.Logf("node %s stderr:\n%s", mode, harness.Tail(n.stderr.String(), 40))
		}
	})
	return n
}

// next returns the client's next line, failing the test when none comes
// within d or the client printed an error.
func (n *nodeWS) next(t *testing.T, d time.Duration, what string) line {
	t.Helper()
	select {
	case l, ok := <-n.lines:
		if !ok {
			t.Fatalf("%s: the node client ended (%v); stderr:\n%s", what, n.wait(t, 10*time.Second), n.stderr.String())
		}
		if l.Kind == "error" || l.Kind == "garbage" {
			t.Fatalf("%s: the node client says %s: %s", what, l.Kind, l.Message)
		}
		return l
	case <-time.After(d):
		t.Fatalf("%s: no line from the node client within %s", what, d)
	}
	return line{}
}

// send writes one command line to the client's stdin.
func (n *nodeWS) send(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(n.stdin, cmd+"\n"); err != nil {
		t.Fatalf("write %q to the node client: %v", cmd, err)
	}
}

// wait waits at most d for the client to exit, dropping the lines it still
// prints, and returns its exit error.
func (n *nodeWS) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	timer := time.NewTimer(d)
	defer timer.Stop()
	lines := n.lines
	for {
		select {
		case _, ok := <-lines:
			if !ok {
				lines = nil // closed: wait for done alone
			}
		case <-n.done:
			return n.err
		case <-timer.C:
			t.Fatalf("the node client did not exit within %s", d)
		}
	}
}
