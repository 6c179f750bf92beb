// Package proc reads what Linux says about a process (CPU time, memory,
// files, TCP sockets) and about the machine the figures were measured on.
package proc

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTick is USER_HZ, 100 on every Linux this runs on.
const clockTick = 100

// Sample is one reading of a process's CPU time, memory and files.
type Sample struct {
	At      time.Time
	CPU     time.Duration // user + system
	RSS     int64         // bytes
	RSSFile int64         // bytes of RSS that are mapped files (RssFile): pages the kernel may drop
	FDs     int
	Sockets int
}

// Read reads /proc/<pid>/stat, /status and /fd.
func Read(pid int) (Sample, error) {
	s := Sample{At: time.Now()}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return s, fmt.Errorf("read stat of %d: %w", pid, err)
	}
	// Fields after the parenthesised command name: state is field 3; utime, stime are 14, 15.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return s, fmt.Errorf("parse stat of %d: no ')'", pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return s, fmt.Errorf("parse stat of %d: %d fields", pid, len(f))
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	s.CPU = time.Duration(ut+st) * time.Second / clockTick

	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return s, fmt.Errorf("read status of %d: %w", pid, err)
	}
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			s.RSS = kb << 10
		}
		if rest, ok := strings.CutPrefix(sc.Text(), "RssFile:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			s.RSSFile = kb << 10
		}
	}
	status.Close()

	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err == nil {
		s.FDs = len(ents)
		for _, e := range ents {
			if t, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(t, "socket:") {
				s.Sockets++
			}
		}
	}
	return s, nil
}

// CPUCores returns the cores used between two samples.
func CPUCores(a, b Sample) float64 {
	wall := b.At.Sub(a.At).Seconds()
	if wall <= 0 {
		return 0
	}
	return (b.CPU - a.CPU).Seconds() / wall
}

// MachineSample is the machine-wide busy CPU time from /proc/stat.
type MachineSample struct {
	At   time.Time
	Busy time.Duration
}

// ReadMachine reads the first line of /proc/stat (zero on error).
func ReadMachine() MachineSample {
	m := MachineSample{At: time.Now()}
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return m
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 { // idle, iowait
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		busy += n
	}
	m.Busy = time.Duration(busy) * time.Second / clockTick
	return m
}

// MachineBusy returns the busy cores of the whole machine between samples.
func MachineBusy(a, b MachineSample) float64 {
	wall := b.At.Sub(a.At).Seconds()
	if wall <= 0 || a.Busy == 0 {
		return 0
	}
	return (b.Busy - a.Busy).Seconds() / wall
}
