package proc

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// tcpStates names the st column of /proc/net/tcp.
var tcpStates = map[string]string{
	"01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1",
	"05": "FIN_WAIT2", "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT",
	"09": "LAST_ACK", "0A": "LISTEN", "0B": "CLOSING",
}

// TCPStates counts the TCP sockets (IPv4 and IPv6) that process pid holds
// open, by state (ESTABLISHED, SYN_SENT, CLOSE_WAIT, …). Sockets no process
// holds, such as TIME_WAIT, are not counted.
func TCPStates(pid int) (map[string]int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("read fds of %d: %w", pid, err)
	}
	inodes := make(map[uint64]bool, len(ents))
	for _, e := range ents {
		t, err := os.Readlink(dir + "/" + e.Name())
		if err != nil {
			continue
		}
		if rest, ok := strings.CutPrefix(t, "socket:["); ok {
			if n, err := strconv.ParseUint(strings.TrimSuffix(rest, "]"), 10, 64); err == nil {
				inodes[n] = true
			}
		}
	}
	counts := map[string]int{}
	for _, table := range []string{"tcp", "tcp6"} {
		if err := countTCP(fmt.Sprintf("/proc/%d/net/%s", pid, table), inodes, counts); err != nil {
			return counts, err
		}
	}
	return counts, nil
}

func countTCP(file string, inodes map[uint64]bool, counts map[string]int) error {
	f, err := os.Open(file)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // no IPv6
		}
		return fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		n, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil || n == 0 || !inodes[n] {
			continue
		}
		st := tcpStates[fields[3]]
		if st == "" {
			st = "0x" + fields[3]
		}
		counts[st]++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	return nil
}
