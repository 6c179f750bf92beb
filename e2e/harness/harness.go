// Package harness builds and runs the real spo2 binary for end-to-end tests,
// browser tests and the load harness: a temp DB_PATH, free loopback ports,
// captured logs, and clean or brutal stops.
package harness

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"
)

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("cannot locate harness source")
	}
	dir := filepath.Dir(file)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above " + filepath.Dir(file))
		}
		dir = parent
	}
}

// Build compiles the spo2 binary into dir and returns its path. Extra go
// build flags (e.g. "-race") may be given.
func Build(dir string, flags ...string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "spo2")
	args := append([]string{"build", "-o", bin}, flags...)
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// Process is one running spo2.
type Process struct {
	Bin      string
	DBPath   string
	HTTPAddr string
	WSAddr   string
	Env      []string // extra KEY=VALUE pairs given at start

	cmd    *exec.Cmd
	logs   *syncBuffer
	exited chan struct{}
	err    error
}

// Options configure Start. Env holds extra KEY=VALUE pairs; DBPath defaults
// to a fresh directory under TempDir.
type Options struct {
	Bin     string
	TempDir string
	DBPath  string
	Env     []string
}

// Start launches spo2 with free ports and waits until /healthz answers.
func Start(ctx context.Context, o Options) (*Process, error) {
	httpAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	wsAddr, err := FreeAddr()
	if err != nil {
		return nil, err
	}
	db := o.DBPath
	if db == "" {
		db = filepath.Join(o.TempDir, "spo2.db")
	}
	p := &Process{Bin: o.Bin, DBPath: db, HTTPAddr: httpAddr, WSAddr: wsAddr, Env: o.Env}
	return p, p.start(ctx)
}

// Restart starts the same binary again on the same ports and store, after the
// previous run has exited.
func (p *Process) Restart(ctx context.Context) error { return p.start(ctx) }

func (p *Process) start(ctx context.Context) error {
	p.logs = &syncBuffer{}
	p.exited = make(chan struct{})
	p.cmd = exec.Command(p.Bin)
	p.cmd.Env = append(os.Environ(),
		"HTTP_LISTEN_ADDR="+p.HTTPAddr, "WS_LISTEN_ADDR="+p.WSAddr, "DB_PATH="+p.DBPath)
	p.cmd.Env = append(p.cmd.Env, p.Env...)
	p.cmd.Stdout = p.logs
	p.cmd.Stderr = p.logs
	if err := p.cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", p.Bin, err)
	}
	cmd, exited := p.cmd, p.exited // this run's, whatever later runs assign
	go func() {
		p.err = cmd.Wait()
		close(exited)
	}()
	return p.waitReady(ctx)
}

func (p *Process) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	client := p.Client()
	for {
		resp, err := client.Get(p.URL("/healthz"))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("spo2 exited during start-up (%v); logs:\n%s", p.err, p.Logs())
		case <-ctx.Done():
			return fmt.Errorf("spo2 not ready: %w; logs:\n%s", ctx.Err(), p.Logs())
		case <-tick.C:
		}
	}
}

// URL returns the HTTP listener's URL for path (path may hold a query).
func (p *Process) URL(path string) string {
	scheme := "http"
	for _, kv := range p.Env {
		if strings.HasPrefix(kv, "TLS_CERT_FILE=") {
			scheme = "https"
		}
	}
	return scheme + "://" + p.HTTPAddr + path
}

// Client returns an HTTP client for the process; with TLS it trusts any
// certificate (tests use self-signed ones).
func (p *Process) Client() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // test certificates
	}}
}

// Logs returns everything the process printed so far.
func (p *Process) Logs() string { return p.logs.String() }

// Stop sends SIGTERM and waits for exit, returning the exit error (nil for
// status 0) and how long shutdown took.
func (p *Process) Stop(timeout time.Duration) (time.Duration, error) {
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	select {
	case <-p.exited:
		return time.Since(start), p.err
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return time.Since(start), fmt.Errorf("no exit within %s after SIGTERM", timeout)
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Pid returns the OS process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
