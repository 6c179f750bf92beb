package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/spo2/spo2/bench/internal/proc"
)

// The bare scheduled baselines run in a child process (this binary again,
// with -bare-client), so that their CPU time is read from their own process
// as spo2's is, instead of being told apart from the farm's, which stays in
// the harness. The parent drives the child's window over its stdin:
// "mark" starts it, "end" ends it; the child answers each with one JSON line
// on its stdout.

// childReport is what a bare child reports at the end of its window.
type childReport struct {
	Schedule   ScheduleResult `json:"schedule"`
	CPUSeconds float64        `json:"cpu_seconds"`
	Error      string         `json:"error,omitempty"`
}

// runBareChild is the child's main: it probes the URLs listed in urlsFile
// with the bare client kind until its window ends or its stdin closes.
func runBareChild(cfg Config, kind, urlsFile, cpuProfile string) int {
	data, err := os.ReadFile(urlsFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bare child:", err)
		return 1
	}
	urls := strings.Split(strings.TrimSpace(string(data)), "\n")
	s := StartSchedule(ScheduleConfig{Client: kind, URLs: urls, Interval: cfg.Interval, Timeout: cfg.Timeout, Workers: cfg.BaselineWorkers, MaxIdle: 2 * cfg.Listeners})
	defer s.Stop()
	out := json.NewEncoder(os.Stdout)
	in := bufio.NewScanner(os.Stdin)
	var st0, an0 int64
	var p0 proc.Sample
	var t0 time.Time
	var prof *os.File
	for in.Scan() {
		switch in.Text() {
		case "mark":
			if cpuProfile != "" {
				if prof, err = os.Create(cpuProfile); err == nil {
					err = pprof.StartCPUProfile(prof)
				}
			}
			s.ResetLag()
			st0, an0 = s.Mark()
			p0, _ = proc.Read(os.Getpid())
			t0 = time.Now()
			rep := childReport{}
			if err != nil {
				rep.Error = "cpu profile: " + err.Error()
			}
			out.Encode(rep)
		case "end":
			p1, _ := proc.Read(os.Getpid())
			res := s.Result(st0, an0, time.Since(t0).Seconds())
			if prof != nil {
				pprof.StopCPUProfile()
				prof.Close()
			}
			out.Encode(childReport{Schedule: res, CPUSeconds: (p1.CPU - p0.CPU).Seconds()})
			return 0
		}
	}
	return 1 // the parent went away
}

// bareChild is a running bare baseline in its child process.
type bareChild struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Reader
}

// startBareChild starts the child of client kind on the farm's URLs.
func (b *Bench) startBareChild(kind string) (*bareChild, error) {
	urlsFile := filepath.Join(b.tmp, "bare-urls.txt")
	if err := os.WriteFile(urlsFile, []byte(strings.Join(b.farm.URLs(), "\n")), 0o644); err != nil {
		return nil, fmt.Errorf("bare child urls: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bare child: %w", err)
	}
	cfg := b.cfg
	args := []string{"-bare-client", kind, "-bare-urls", urlsFile,
		"-interval", cfg.Interval.String(), "-timeout", cfg.Timeout.String(),
		"-baseline-workers", fmt.Sprint(cfg.BaselineWorkers), "-listeners", fmt.Sprint(cfg.Listeners)}
	if cfg.Profile {
		args = append(args, "-bare-cpuprofile", filepath.Join(b.outDir, "cpu-baseline-"+strings.ReplaceAll(kind, "/", "-")+".pb.gz"))
	}
	c := &bareChild{cmd: exec.Command(exe, args...)}
	c.cmd.Stderr = os.Stderr
	if c.in, err = c.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("bare child: %w", err)
	}
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bare child: %w", err)
	}
	c.out = bufio.NewReader(stdout)
	if err := c.cmd.Start(); err != nil {
		return nil, fmt.Errorf("bare child: %w", err)
	}
	return c, nil
}

// ask sends cmd to the child and reads its answer.
func (c *bareChild) ask(cmd string) (childReport, error) {
	var rep childReport
	if _, err := io.WriteString(c.in, cmd+"\n"); err != nil {
		return rep, fmt.Errorf("bare child %s: %w", cmd, err)
	}
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return rep, fmt.Errorf("bare child %s: %w", cmd, err)
	}
	if err := json.Unmarshal(line, &rep); err != nil {
		return rep, fmt.Errorf("bare child %s: %w", cmd, err)
	}
	if rep.Error != "" {
		return rep, errors.New("bare child: " + rep.Error)
	}
	return rep, nil
}

// stop ends the child: closing its stdin ends its loop; it is killed if it
// has not exited within 10 s.
func (c *bareChild) stop() {
	c.in.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
