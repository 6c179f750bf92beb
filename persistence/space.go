package persistence

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ErrDiskFull marks a write refused, or failed, because the store's
// filesystem is (nearly) full. Nothing of the write was acknowledged; the same
// write succeeds once space is freed, without a restart.
var ErrDiskFull = errors.New("disk full")

// DefaultMinFree is the free space kept on the store's filesystem when
// Options.MinFree is zero: room for Badger's own background work (flushing an
// 8 MiB memtable, compacting up to five level-0 tables) on stores of up to
// some tens of MiB.
const DefaultMinFree = 64 << 20

// resumeMargin is how much more than the minimum must be free before writes
// resume after a refusal, so a filesystem hovering at the limit does not flap
// between refusing and accepting.
const resumeMargin = 1 << 20

// quietLog is the least time between two "refused" log lines: near the limit
// Badger's flushes make free space swing by megabytes, and writes with it.
const quietLog = time.Minute

// entryOverhead bounds Badger's bytes per entry besides key and value (header,
// checksum) in its write-ahead log.
const entryOverhead = 64

// FreeSpace reports the bytes an unprivileged writer may still use on the
// store's filesystem.
type FreeSpace func() (uint64, error)

// StatFS returns a FreeSpace that asks statfs(2) about the filesystem holding
// path.
func StatFS(path string) FreeSpace {
	return func() (uint64, error) {
		var st syscall.Statfs_t
		if err := syscall.Statfs(path, &st); err != nil {
			return 0, fmt.Errorf("statfs %s: %w", path, err)
		}
		return uint64(st.Bavail) * uint64(st.Bsize), nil
	}
}

// spaceGuard admits a write only when the store's filesystem keeps at least
// minFree bytes free after it. Badger writes its log and tables through
// memory maps: on a full filesystem that is a SIGBUS, which no Go code can
// recover, so writes must stop before the filesystem is full, leaving Badger
// the room its background flushes and compactions need. It logs a line when
// it starts refusing, at most once per quietLog, and one when writes resume
// after such a line.
type spaceGuard struct {
	path      string
	minFree   uint64
	free      FreeSpace
	now       func() time.Time
	log       *slog.Logger
	onRefused func(kind string, writes int)

	mu        sync.Mutex
	refusing  bool
	blind     bool      // free space could not be read; writes are let through
	logged    bool      // a "refused" line awaits its "resumed" line
	loggedAt  time.Time // when the last "refused" line was written
	sinceLine int       // writes refused since then
}

// admit returns nil when size more bytes may be written, else an error
// wrapping ErrDiskFull. kind and writes are what onRefused is told.
func (g *spaceGuard) admit(kind string, writes int, size uint64) error {
	free, err := g.free()
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		// Without a reading, refusing would stop every write for good:
		// let them through and say so once.
		if !g.blind {
			g.blind = true
			g.log.Warn("cannot read the store's free space; writes are not guarded", "path", g.path, "err", err)
		}
		return nil
	}
	g.blind = false
	need := g.minFree + size
	if g.refusing {
		need += resumeMargin
	}
	if free >= need {
		g.refusing = false
		if g.logged {
			g.logged = false
			g.log.Info("store writes resumed", "path", g.path, "free", bytesText(free), "refused_writes", g.sinceLine)
		}
		return nil
	}
	g.sinceLine += writes
	if !g.refusing {
		g.refusing = true
		if now := g.now(); !g.logged && (g.loggedAt.IsZero() || now.Sub(g.loggedAt) >= quietLog) {
			g.logged, g.loggedAt, g.sinceLine = true, now, writes
			g.log.Warn("store writes refused: the disk is almost full", "path", g.path, "free", bytesText(free), "min_free", bytesText(g.minFree))
		}
	}
	if g.onRefused != nil {
		g.onRefused(kind, writes)
	}
	return fmt.Errorf("%w: the filesystem of DB_PATH %s has %s free; writes resume once %s is free (DB_MIN_FREE=%s, this write, a %s margin)",
		ErrDiskFull, g.path, bytesText(free), bytesText(g.minFree+size+resumeMargin), bytesText(g.minFree), bytesText(resumeMargin))
}

// openRoom is what opening a store writes besides flushing its logs: a new
// write-ahead log, value log and discard file, a few pages each.
const openRoom = 1 << 20

// checkRoomToOpen refuses to open a store whose filesystem cannot hold what
// Badger writes while opening: the memtables a crash left in its write-ahead
// logs are flushed into tables at once, and without room for them Badger
// dies of SIGBUS.
func checkRoomToOpen(path string, free FreeSpace) error {
	entries, _ := os.ReadDir(path) // none for a new store
	need := uint64(openRoom)
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".mem") {
			continue
		}
		if info, err := e.Info(); err == nil {
			if st, ok := info.Sys().(*syscall.Stat_t); ok {
				need += uint64(st.Blocks) * 512 // the bytes written: the files are sparse
			}
		}
	}
	n, err := free()
	if err != nil || n >= need {
		return nil
	}
	return fmt.Errorf("%w: the filesystem of DB_PATH %s has %s free; opening the store needs %s to flush its write-ahead logs",
		ErrDiskFull, path, bytesText(n), bytesText(need))
}

// diskFull marks err with ErrDiskFull when it reports ENOSPC. Badger flattens
// the errors it wraps to text, so the text is checked too.
func diskFull(err error) error {
	if err == nil || errors.Is(err, ErrDiskFull) {
		return err
	}
	if errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), syscall.ENOSPC.Error()) {
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	return err
}

// bytesText renders a byte count for people: "512 B", "58.6 KiB", "3.2 MiB".
func bytesText(b uint64) string {
	switch {
	case b < 1<<10:
		return fmt.Sprintf("%d B", b)
	case b < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	case b < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(b)/(1<<30))
}
