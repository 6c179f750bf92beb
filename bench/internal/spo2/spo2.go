// Package spo2 starts the real spo2 binary for the harnesses and talks to
// its API: bulk and PUT registrations, /metrics, /all, profiles.
package spo2

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spo2/spo2/bench/internal/scrape"
	"github.com/spo2/spo2/e2e/harness"
)

// Instance is one running spo2 process and an API client for it.
type Instance struct {
	p      *harness.Process
	client *http.Client
	name   string
}

// Start starts bin with a DB under dir and the given extra environment.
func Start(ctx context.Context, name, bin, dir string, env []string) (*Instance, error) {
	p, err := harness.Start(ctx, harness.Options{Bin: bin, TempDir: dir, Env: env})
	if err != nil {
		return nil, fmt.Errorf("start spo2 (%s): %w", name, err)
	}
	tr := &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	return &Instance{p: p, client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, name: name}, nil
}

// Pid is the process id.
func (s *Instance) Pid() int { return s.p.Pid() }

// Exited is closed when the process has exited, whoever ended it.
func (s *Instance) Exited() <-chan struct{} { return s.p.Exited() }

// Logs returns everything the process printed so far.
func (s *Instance) Logs() string { return s.p.Logs() }

// WSAddr is the dedicated WebSocket listener.
func (s *Instance) WSAddr() string { return s.p.WSAddr }

// Metrics scrapes /metrics.
func (s *Instance) Metrics() (scrape.Metrics, error) {
	return scrape.Fetch(s.client, s.p.URL("/metrics"))
}

// Stop sends SIGTERM and waits up to 15 s; it saves the logs to logDir.
func (s *Instance) Stop(logDir string) (time.Duration, error) {
	d, err := s.p.Stop(15 * time.Second)
	s.saveLogs(logDir)
	s.client.CloseIdleConnections()
	return d, err
}

// SetName changes the name the logs are saved under (spo2-<name>.log).
func (s *Instance) SetName(name string) { s.name = name }

// Restart starts the same binary on the same store and ports.
func (s *Instance) Restart(ctx context.Context) error {
	if err := s.p.Restart(ctx); err != nil {
		return fmt.Errorf("restart spo2 (%s): %w", s.name, err)
	}
	return nil
}

// Kill ends the process brutally (used on harness errors).
func (s *Instance) Kill(logDir string) {
	select {
	case <-s.p.Exited():
	default:
		s.p.Kill()
	}
	s.saveLogs(logDir)
}

func (s *Instance) saveLogs(dir string) {
	if dir == "" {
		return
	}
	f := filepath.Join(dir, "spo2-"+s.name+".log")
	if err := os.WriteFile(f, []byte(s.p.Logs()), 0o644); err != nil {
		slog.Warn("save spo2 logs", "file", f, "err", err)
	}
}

// BulkItem is one registration of POST /bulk; empty settings take spo2's
// defaults.
type BulkItem struct {
	URL      string `json:"url"`
	Data     any    `json:"data"`
	Interval string `json:"interval,omitempty"`
	Timeout  string `json:"timeout,omitempty"`
}

type bulkReply struct {
	Created int               `json:"created"`
	Updated int               `json:"updated"`
	Errors  []json.RawMessage `json:"errors"`
}

// RegResult is the throughput of one registration method.
type RegResult struct {
	URLs       int     `json:"urls"`
	OK         int     `json:"ok"`
	Errors     int     `json:"errors"`
	Seconds    float64 `json:"seconds"`
	PerSec     float64 `json:"per_sec"`
	FirstError string  `json:"first_error,omitempty"`
}

func benchData(id int) map[string]any { return map[string]any{"customer": id, "index": "bench"} }

// Bulk registers ids through POST /bulk in chunks of chunk items, one after
// the other, and times the whole.
func (s *Instance) Bulk(urls []string, ids []int, chunk int) RegResult {
	items := make([]BulkItem, len(ids))
	for i, id := range ids {
		items[i] = BulkItem{URL: urls[id], Data: benchData(id)}
	}
	return s.BulkItems(items, chunk)
}

// BulkItems registers items through POST /bulk in chunks of chunk items, one
// after the other, and times the whole.
func (s *Instance) BulkItems(all []BulkItem, chunk int) RegResult {
	r := RegResult{URLs: len(all)}
	start := time.Now()
	for lo := 0; lo < len(all); lo += chunk {
		hi := min(lo+chunk, len(all))
		body, _ := json.Marshal(all[lo:hi])
		resp, err := s.client.Post(s.p.URL("/bulk"), "application/json", bytes.NewReader(body))
		if err != nil {
			r.Errors += hi - lo
			r.FirstError = firstOf(r.FirstError, fmt.Sprintf("POST /bulk: %v", err))
			continue
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var br bulkReply
		if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &br) != nil {
			r.Errors += hi - lo
			r.FirstError = firstOf(r.FirstError, fmt.Sprintf("POST /bulk: status %d: %.200s", resp.StatusCode, raw))
			continue
		}
		r.OK += br.Created + br.Updated
		r.Errors += len(br.Errors)
		if len(br.Errors) > 0 {
			r.FirstError = firstOf(r.FirstError, string(br.Errors[0]))
		}
	}
	r.Seconds = time.Since(start).Seconds()
	r.PerSec = float64(r.OK) / r.Seconds
	return r
}

// Put registers ids with PUT /?url=…, conc requests at a time.
func (s *Instance) Put(urls []string, ids []int, conc int) RegResult {
	r := RegResult{URLs: len(ids)}
	var next, ok, bad atomic.Int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) {
					return
				}
				id := ids[i]
				body, _ := json.Marshal(benchData(id))
				req, _ := http.NewRequest(http.MethodPut, s.p.URL("/?url="+url.QueryEscape(urls[id])), bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				resp, err := s.client.Do(req)
				if err != nil {
					bad.Add(1)
					mu.Lock()
					r.FirstError = firstOf(r.FirstError, fmt.Sprintf("PUT: %v", err))
					mu.Unlock()
					continue
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == http.StatusCreated || resp.StatusCode == http.StatusOK {
					ok.Add(1)
				} else {
					bad.Add(1)
					mu.Lock()
					r.FirstError = firstOf(r.FirstError, fmt.Sprintf("PUT: status %d: %.200s", resp.StatusCode, raw))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	r.Seconds = time.Since(start).Seconds()
	r.OK, r.Errors = int(ok.Load()), int(bad.Load())
	r.PerSec = float64(r.OK) / r.Seconds
	return r
}

// Profile fetches a CPU profile of seconds from /debug/pprof/profile into
// file; it is best effort (the route may not exist).
func (s *Instance) Profile(seconds int, file string) error {
	resp, err := s.client.Get(s.p.URL(fmt.Sprintf("/debug/pprof/profile?seconds=%d", seconds)))
	if err != nil {
		return fmt.Errorf("pprof: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("pprof: status %d", resp.StatusCode)
	}
	out, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("pprof file: %w", err)
	}
	defer out.Close()
	if _, err := io.Copy(out, resp.Body); err != nil {
		return fmt.Errorf("pprof copy: %w", err)
	}
	return nil
}

// Fetch saves the body of GET path (e.g. a pprof endpoint) into file.
func (s *Instance) Fetch(path, file string) error {
	resp, err := s.client.Get(s.p.URL(path))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	out, err := os.Create(file)
	if err != nil {
		return fmt.Errorf("create %s: %w", file, err)
	}
	defer out.Close()
	if _, err := io.Copy(out, resp.Body); err != nil {
		return fmt.Errorf("save %s: %w", file, err)
	}
	return nil
}

func firstOf(first, next string) string {
	if first != "" {
		return first
	}
	return next
}

// State is the part of a record the harnesses read: its URL, state and error kind.
type State struct {
	URL    string `json:"url"`
	Status struct {
		State     string `json:"state"`
		ErrorKind string `json:"error_kind"`
	} `json:"status"`
}

// All fetches GET /all and returns every record's state.
func (s *Instance) All() ([]State, error) {
	resp, err := s.client.Get(s.p.URL("/all"))
	if err != nil {
		return nil, fmt.Errorf("GET /all: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET /all: status %d", resp.StatusCode)
	}
	var all []State
	if err := json.NewDecoder(resp.Body).Decode(&all); err != nil {
		return nil, fmt.Errorf("decode /all: %w", err)
	}
	return all, nil
}
