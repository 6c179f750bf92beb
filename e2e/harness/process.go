package harness

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Process is one running spo2. HTTPAddr and WSAddr are the addresses the
// process itself reported bound; they stay the same across Restart.
type Process struct {
	Bin      string
	DBPath   string
	HTTPAddr string
	WSAddr   string
	Env      []string // extra KEY=VALUE pairs given at start

	tls    bool // the start line said TLS is on
	cmd    *exec.Cmd
	logs   *Buffer
	exited chan struct{}
	err    error
}

// Options configure Start. Env holds extra KEY=VALUE pairs (they win over
// the harness's own); DBPath defaults to a fresh directory under TempDir.
type Options struct {
	Bin     string
	TempDir string
	DBPath  string
	Env     []string
}

// startTimeout bounds start-up: the start line, then /healthz answering 200.
const startTimeout = 60 * time.Second

// Start launches spo2 with HTTP_LISTEN_ADDR and WS_LISTEN_ADDR on port 0 of
// 127.0.0.1, learns the ports the kernel chose from the process's start log
// line, and returns once /healthz answers 200. No port is picked before the
// process binds it, so parallel tests cannot race for one. It fails when the
// process exits first, or after a minute (or ctx's deadline). Env may hold
// LISTEN addresses of its own; LOG_LEVEL must leave info lines on, as the
// start line is one.
func Start(ctx context.Context, o Options) (*Process, error) {
	db := o.DBPath
	if db == "" {
		db = filepath.Join(o.TempDir, "spo2.db")
	}
	for _, kv := range o.Env {
		if kv == "LOG_LEVEL=warn" || kv == "LOG_LEVEL=error" {
			return nil, fmt.Errorf("%s hides the start line the harness learns the listen addresses from", kv)
		}
	}
	p := &Process{Bin: o.Bin, DBPath: db, Env: o.Env}
	return p, p.start(ctx, []string{"HTTP_LISTEN_ADDR=127.0.0.1:0", "WS_LISTEN_ADDR=127.0.0.1:0"}, nil)
}

// Restart starts the same binary again on the same addresses and store,
// after the previous run has exited. The previous run's logs are dropped.
func (p *Process) Restart(ctx context.Context) error {
	return p.start(ctx, nil, []string{"HTTP_LISTEN_ADDR=" + p.HTTPAddr, "WS_LISTEN_ADDR=" + p.WSAddr})
}

// start runs the binary with before, DB_PATH, p.Env and after (a later pair
// wins) and waits until it is ready.
func (p *Process) start(ctx context.Context, before, after []string) error {
	p.logs = &Buffer{}
	p.exited = make(chan struct{})
	p.cmd = exec.Command(p.Bin)
	p.cmd.Env = append(os.Environ(), before...)
	p.cmd.Env = append(p.cmd.Env, "DB_PATH="+p.DBPath)
	p.cmd.Env = append(p.cmd.Env, p.Env...)
	p.cmd.Env = append(p.cmd.Env, after...)
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
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	line, err := p.awaitStartLine(ctx)
	if err != nil {
		return err
	}
	p.HTTPAddr, p.WSAddr, p.tls = line.HTTP, line.WS, line.TLS
	return p.awaitHealthy(ctx)
}

// awaitStartLine waits for the process's "spo2 started" log line.
func (p *Process) awaitStartLine(ctx context.Context) (startLine, error) {
	for {
		changed := p.logs.Changed()
		if line, ok := findStartLine(p.logs.String()); ok {
			return line, nil
		}
		select {
		case <-changed:
		case <-p.exited:
			if line, ok := findStartLine(p.logs.String()); ok {
				return line, nil
			}
			return startLine{}, fmt.Errorf("spo2 exited during start-up (%v); logs:\n%s", p.err, p.Logs())
		case <-ctx.Done():
			return startLine{}, fmt.Errorf("no start line from spo2: %w; logs:\n%s", ctx.Err(), p.Logs())
		}
	}
}

// awaitHealthy polls /healthz until it answers 200.
func (p *Process) awaitHealthy(ctx context.Context) error {
	client := p.Client()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL("/healthz"), nil)
		resp, err := client.Do(req)
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

// URL returns the HTTP listener's URL for path (path may hold a query):
// https when the process said TLS is on.
func (p *Process) URL(path string) string {
	scheme := "http"
	if p.tls {
		scheme = "https"
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

// Logs returns everything the current run printed so far, stdout and
// stderr interleaved.
func (p *Process) Logs() string { return p.logs.String() }

// Stop sends SIGTERM and waits for exit, returning the exit error (nil for
// status 0) and how long shutdown took. After timeout it kills the process
// and reports that it did not exit.
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

// Exited is closed when the current run has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Pid returns the OS process id of the current run.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// running reports whether the current run has not exited yet.
func (p *Process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}
