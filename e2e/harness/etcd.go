package harness

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Etcd is a real etcd server (Debian's etcd-server, /usr/bin/etcd) alone
// in its cluster, listening on loopback ports with its data in a
// temporary directory. Endpoint stays the same across Stop and Restart, as
// do the data and the revision history. Every method is safe to call from
// any goroutine; Stop and Kill of a stopped server do nothing.
type Etcd struct {
	// Endpoint is the client URL, "http://127.0.0.1:PORT".
	Endpoint string
	// DataDir holds the server's data.
	DataDir string

	bin     string
	peerURL string

	mu     sync.Mutex
	cmd    *exec.Cmd
	logs   *Buffer
	exited chan struct{}
	err    error
}

// etcdStartTimeout bounds one start: the process up and /health answering
// true.
const etcdStartTimeout = 30 * time.Second

// etcdBin is where Debian's etcd-server package installs the server.
const etcdBin = "/usr/bin/etcd"

// StartEtcd starts a one-member etcd (LaunchEtcd) in a temporary directory
// of the test and stops it at the test's cleanup; a failed test's log shows
// the last 60 lines it printed. Where etcd is not installed the test is
// skipped, or fails in CI; it fails when etcd does not come up.
func StartEtcd(t testing.TB) *Etcd {
	t.Helper()
	if _, err := etcdBinary(); err != nil {
		// Like the other tests of installed servers: skipped on a developer's
		// machine without it, a failure in CI (.ci/run installs it).
		msg := "etcd is not installed (Debian: apt-get install -y etcd-server; .ci/run installs it)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	e, err := LaunchEtcd(t.TempDir())
	if err != nil {
		t.Fatalf("starting etcd: %v", err)
	}
	t.Cleanup(func() {
		e.Stop()
		if t.Failed() {
			t.Logf("etcd logs, last 60 lines:\n%s", Tail(e.Logs(), 60))
		}
	})
	return e
}

// LaunchEtcd starts a one-member etcd on two free loopback ports (client and
// peer) with its data under dir, and returns once it answers /health, or an
// error when it exits first or does not come up within 30 s. A start that
// loses its ports to another process is retried on new ones, three times at
// most. The caller stops it (Stop).
func LaunchEtcd(dir string) (*Etcd, error) {
	bin, err := etcdBinary()
	if err != nil {
		return nil, err
	}
	var last error
	for attempt := range 3 {
		client, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		peer, err := freeLoopbackAddr()
		if err != nil {
			return nil, err
		}
		e := &Etcd{Endpoint: "http://" + client, DataDir: filepath.Join(dir, "data"+strconv.Itoa(attempt)),
			bin: bin, peerURL: "http://" + peer}
		if last = e.start(); last == nil {
			return e, nil
		}
		e.Stop()
	}
	return nil, last
}

// etcdBinary returns the etcd on PATH, or Debian's.
func etcdBinary() (string, error) {
	if bin, err := exec.LookPath("etcd"); err == nil {
		return bin, nil
	}
	if _, err := os.Stat(etcdBin); err != nil {
		return "", fmt.Errorf("etcd is not installed (apt-get install etcd-server): %w", err)
	}
	return etcdBin, nil
}

// Restart starts the server again on the same ports and data directory
// after Stop or Kill, and returns once it answers /health; it fails the
// test when it does not come up.
func (e *Etcd) Restart(t testing.TB) {
	t.Helper()
	e.Stop()
	if err := e.start(); err != nil {
		e.Stop()
		t.Fatalf("restarting etcd: %v", err)
	}
}

// Stop sends SIGTERM and waits for the server to exit; after 10 s it kills
// it.
func (e *Etcd) Stop() {
	cmd, exited := e.current()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Kill sends SIGKILL and waits for the server to be gone: a crash, as far
// as the clients can tell.
func (e *Etcd) Kill() {
	cmd, exited := e.current()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Kill()
	<-exited
}

// Pid is the current run's process id (0 before the first start).
func (e *Etcd) Pid() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil || e.cmd.Process == nil {
		return 0
	}
	return e.cmd.Process.Pid
}

// Exited is closed when the current run has exited, whoever ended it.
func (e *Etcd) Exited() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.exited
}

// ExitErr is how the current run exited (e.g. "signal: killed"); call it
// once Exited is closed.
func (e *Etcd) ExitErr() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// Logs returns everything the current run printed so far.
func (e *Etcd) Logs() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.logs == nil {
		return ""
	}
	return e.logs.String()
}

// current returns the running process and its exit channel, or nil when
// none runs.
func (e *Etcd) current() (*exec.Cmd, chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cmd == nil {
		return nil, nil
	}
	select {
	case <-e.exited:
		return nil, nil
	default:
		return e.cmd, e.exited
	}
}

// start runs the server and waits until /health says true, or the process
// exits, or etcdStartTimeout passes.
func (e *Etcd) start() error {
	logs := &Buffer{}
	cmd := exec.Command(e.bin,
		"--name", "harness",
		"--data-dir", e.DataDir,
		"--listen-client-urls", e.Endpoint,
		"--advertise-client-urls", e.Endpoint,
		"--listen-peer-urls", e.peerURL,
		"--initial-advertise-peer-urls", e.peerURL,
		"--initial-cluster", "harness="+e.peerURL,
		"--initial-cluster-state", "new",
		"--logger", "zap",
		"--log-level", "warn",
	)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", e.bin, err)
	}
	exited := make(chan struct{})
	e.mu.Lock()
	e.cmd, e.logs, e.exited, e.err = cmd, logs, exited, nil
	e.mu.Unlock()
	go func() {
		err := cmd.Wait()
		e.mu.Lock()
		e.err = err
		e.mu.Unlock()
		close(exited)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), etcdStartTimeout)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if etcdHealthy(ctx, client, e.Endpoint) {
			return nil
		}
		select {
		case <-exited:
			e.mu.Lock()
			err := e.err
			e.mu.Unlock()
			return fmt.Errorf("etcd exited during start-up (%v); logs:\n%s", err, Tail(logs.String(), 30))
		case <-ctx.Done():
			return fmt.Errorf("etcd not healthy at %s within %s; logs:\n%s", e.Endpoint, etcdStartTimeout, Tail(logs.String(), 30))
		case <-tick.C:
		}
	}
}

// etcdHealthy reports whether GET endpoint/health answers 200 with
// "health":"true".
func etcdHealthy(ctx context.Context, client *http.Client, endpoint string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`)
}

// freeLoopbackAddr returns "127.0.0.1:PORT" for a port the kernel had free
// a moment ago; the caller must cope with losing it (LaunchEtcd retries).
func freeLoopbackAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
