package memory

import (
	"fmt"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// CgroupMemoryMax is where a cgroup v2 container's memory limit is read.
const CgroupMemoryMax = "/sys/fs/cgroup/memory.max"

// LimitFromCgroup returns the soft memory limit SpO₂ sets when GOMEMLIMIT
// is not given: 80 % of the limit in the cgroup file at path. It returns 0,
// with a nil error, when there is no such file or the cgroup has no limit
// ("max"); an error when the file holds something else.
func LimitFromCgroup(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%s holds %q, not a byte count", path, s)
	}
	return n / 10 * 8, nil
}

// SetDefaultLimit sets the runtime's soft memory limit to LimitFromCgroup(path)
// unless GOMEMLIMIT is set (the runtime has then applied it) or there is no
// limit to derive. It returns the limit it set, or 0.
func SetDefaultLimit(path string) (int64, error) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return 0, nil
	}
	limit, err := LimitFromCgroup(path)
	if err != nil || limit == 0 {
		return 0, err
	}
	debug.SetMemoryLimit(limit)
	return limit, nil
}
