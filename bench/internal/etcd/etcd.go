// Package etcd starts a one-member etcd server on loopback for the
// harnesses: Debian's etcd-server (/usr/bin/etcd), data in a given
// directory. Tests use e2e/harness's StartEtcd instead, which ties the
// server to a test's lifetime.
package etcd

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spo2/spo2/e2e/harness"
)

// Server is a running etcd. Stop ends it; the caller must call it on every
// path (it does nothing the second time).
type Server struct {
	// Endpoint is the client URL, "http://127.0.0.1:PORT".
	Endpoint string

	cmd    *exec.Cmd
	logs   *harness.Buffer
	exited chan struct{}
	err    error // the exit status, set before exited is closed
}

// Start runs etcd with its data under dir on two free loopback ports and
// returns once /health answers true, or an error after timeout or when the
// process exits first.
func Start(ctx context.Context, dir string, timeout time.Duration) (*Server, error) {
	bin, err := exec.LookPath("etcd")
	if err != nil {
		bin = "/usr/bin/etcd"
	}
	client, err := freeAddr()
	if err != nil {
		return nil, err
	}
	peer, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &Server{Endpoint: "http://" + client, logs: &harness.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(bin,
		"--name", "bench", "--data-dir", dir,
		"--listen-client-urls", s.Endpoint, "--advertise-client-urls", s.Endpoint,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "bench=http://"+peer, "--initial-cluster-state", "new",
		"--logger", "zap", "--log-level", "warn",
	)
	s.cmd.Stdout, s.cmd.Stderr = s.logs, s.logs
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	go func() {
		s.err = s.cmd.Wait()
		close(s.exited)
	}()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hc := &http.Client{Timeout: time.Second}
	for !healthy(ctx, hc, s.Endpoint) {
		select {
		case <-s.exited:
			return nil, fmt.Errorf("etcd exited during start-up; logs:\n%s", harness.Tail(s.logs.String(), 30))
		case <-ctx.Done():
			s.Stop()
			return nil, fmt.Errorf("etcd not healthy at %s: %w; logs:\n%s", s.Endpoint, ctx.Err(), harness.Tail(s.logs.String(), 30))
		case <-time.After(20 * time.Millisecond):
		}
	}
	return s, nil
}

// Pid is the server's process id.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Exited is closed when the server has exited, whoever ended it.
func (s *Server) Exited() <-chan struct{} { return s.exited }

// ExitErr is how the server exited (e.g. "signal: killed"); call it after
// Exited is closed.
func (s *Server) ExitErr() error { return s.err }

// Logs returns what the server printed so far.
func (s *Server) Logs() string { return s.logs.String() }

// Stop sends SIGTERM and waits; after 10 s it kills the server.
func (s *Server) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

func healthy(ctx context.Context, hc *http.Client, endpoint string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/health", nil)
	if err != nil {
		return false
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == http.StatusOK && strings.Contains(string(body), `"health":"true"`)
}

// freeAddr returns "127.0.0.1:PORT" for a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("free loopback port: %w", err)
	}
	defer l.Close()
	return l.Addr().String(), nil
}
