package persistence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/spo2/spo2/actors/health"
)

const mb = 1 << 20

// freeSpace is an injected FreeSpace: its value is set by the test; a
// gate holds the next reading until released.
type freeSpace struct {
	bytes atomic.Uint64
	err   atomic.Pointer[error]
	gate  atomic.Pointer[gate]
}

type gate struct{ entered, release chan struct{} }

func (f *freeSpace) read() (uint64, error) {
	if g := f.gate.Swap(nil); g != nil {
		close(g.entered)
		<-g.release
	}
	if e := f.err.Load(); e != nil {
		return 0, *e
	}
	return f.bytes.Load(), nil
}

func TestSpaceGuardAdmits(t *testing.T) {
	steps := []struct {
		at      time.Duration // since the start
		free    uint64
		size    uint64
		readErr error
		admit   bool
		log     string // a line the step must log, "" for none
	}{
		{free: 100 * mb, size: mb, admit: true},
		{free: 65 * mb, size: mb, admit: true},                     // exactly the minimum left
		{free: 65 * mb, size: mb + 1, log: "store writes refused"}, // one byte short
		{free: 60 * mb, size: 0},                                   // still refusing: no second line
		{free: 65 * mb, size: mb},                                  // back at the minimum, but within the resume margin
		{free: 66 * mb, size: mb, admit: true, log: "store writes resumed"},
		{at: 30 * time.Second, free: 60 * mb},              // refused again soon after: quiet
		{at: 31 * time.Second, free: 70 * mb, admit: true}, // and so is its end
		{at: 61 * time.Second, free: 60 * mb, log: "store writes refused"},
		{at: 62 * time.Second, free: 10 * mb, readErr: errors.New("statfs: gone"), admit: true, log: "cannot read the store's free space"},
		{at: 63 * time.Second, free: 10 * mb}, // refusing again, within a minute of the last line
		{at: 64 * time.Second, free: 70 * mb, admit: true, log: "store writes resumed"},
	}
	var logs bytes.Buffer
	var fs freeSpace
	var refused []string
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var at time.Duration
	g := &spaceGuard{path: "/db", minFree: 64 * mb, free: fs.read, now: func() time.Time { return start.Add(at) },
		log:       slog.New(slog.NewTextHandler(&logs, nil)),
		onRefused: func(kind string, writes int) { refused = append(refused, fmt.Sprint(kind, writes)) }}
	wantRefused := 0
	for i, st := range steps {
		at = st.at
		fs.bytes.Store(st.free)
		if st.readErr != nil {
			fs.err.Store(&st.readErr)
		} else {
			fs.err.Store(nil)
		}
		logs.Reset()
		err := g.admit("durable", 2, st.size)
		if st.admit != (err == nil) {
			t.Fatalf("step %d (free %d, size %d): admit = %v, want admitted %t", i, st.free, st.size, err, st.admit)
		}
		if err != nil {
			wantRefused++
			if !errors.Is(err, ErrDiskFull) || !strings.Contains(err.Error(), "/db") || !strings.Contains(err.Error(), "free") {
				t.Errorf("step %d: error %q does not wrap ErrDiskFull naming the path and the free space", i, err)
			}
		}
		switch lines := strings.Count(logs.String(), "\n"); {
		case st.log == "" && lines != 0:
			t.Errorf("step %d: logged %q, want nothing", i, logs.String())
		case st.log != "" && (lines != 1 || !strings.Contains(logs.String(), st.log)):
			t.Errorf("step %d: logged %q, want one line with %q", i, logs.String(), st.log)
		}
	}
	if len(refused) != wantRefused || refused[0] != "durable2" {
		t.Errorf("onRefused calls = %v, want %d of durable2", refused, wantRefused)
	}
}

func TestDiskFullMarksENOSPC(t *testing.T) {
	cases := []struct {
		err  error
		full bool
	}{
		{nil, false},
		{errors.New("some other failure"), false},
		{fmt.Errorf("sync: %w", syscall.ENOSPC), true},
		{fmt.Errorf("While opening memtable err: %v", syscall.ENOSPC), true}, // flattened, as Badger does
		{fmt.Errorf("refused: %w", ErrDiskFull), true},
	}
	for _, c := range cases {
		err := diskFull(c.err)
		if errors.Is(err, ErrDiskFull) != c.full {
			t.Errorf("diskFull(%v) = %v, want disk full %t", c.err, err, c.full)
		}
		if c.err != nil && !strings.Contains(err.Error(), c.err.Error()) {
			t.Errorf("diskFull(%v) = %v lost the cause", c.err, err)
		}
	}
}

func openGuarded(t *testing.T, dir string, fs *freeSpace, refused *sync.Map) *Store {
	t.Helper()
	s, err := OpenWith(dir, quiet, Options{MinFree: 64 * mb, FreeSpace: fs.read, OnRefused: func(kind string, writes int) {
		v, _ := refused.LoadOrStore(kind, new(atomic.Int64))
		v.(*atomic.Int64).Add(int64(writes))
	}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func refusedCount(m *sync.Map, kind string) int64 {
	if v, ok := m.Load(kind); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// A full disk refuses every write of the group, keeps lazy statuses for
// later, and writes work again as soon as space returns.
func TestStoreRefusesWritesWhileDiskIsFull(t *testing.T) {
	dir := t.TempDir()
	var fs freeSpace
	var refused sync.Map
	fs.bytes.Store(1 << 40)
	s := openGuarded(t, dir, &fs, &refused)
	ctx := context.Background()
	if err := s.Write(ctx, []Op{{URL: "http://kept/", Reg: reg("http://kept/", "1")}}); err != nil {
		t.Fatal(err)
	}

	fs.bytes.Store(64 * mb) // nothing more fits
	s.SaveStatus("http://kept/", health.Status{State: health.Unhealthy, Code: 500})
	errs := make(chan error, 3)
	for _, op := range []Op{
		{URL: "http://new/", Reg: reg("http://new/", "2")},
		{URL: "http://kept/", Reg: reg("http://kept/", `"changed"`)},
		{URL: "http://kept/"}, // a delete
	} {
		s.Apply([]Op{op}, func(err error) { errs <- err })
	}
	for range 3 {
		if err := <-errs; !errors.Is(err, ErrDiskFull) {
			t.Fatalf("write on a full disk: %v, want ErrDiskFull", err)
		}
	}
	if err := s.SaveAnnounced(map[string]health.State{"http://kept/": health.Unhealthy}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("SaveAnnounced on a full disk: %v, want ErrDiskFull", err)
	}
	s.flushLazy() // postponed, kept pending
	if got := refusedCount(&refused, "durable"); got != 3 {
		t.Errorf("refused durable writes = %d, want 3", got)
	}
	if refusedCount(&refused, "status") == 0 || refusedCount(&refused, "announced") != 1 {
		t.Errorf("refused status flushes = %d, announcements = %d; want some and 1",
			refusedCount(&refused, "status"), refusedCount(&refused, "announced"))
	}

	fs.bytes.Store(1 << 40) // space is back
	if err := s.Write(ctx, []Op{{URL: "http://after/", Reg: reg("http://after/", "3")}}); err != nil {
		t.Fatalf("write after space returned: %v", err)
	}
	if err := s.Close(); err != nil { // saves the postponed status
		t.Fatal(err)
	}

	s = openGuarded(t, dir, &fs, &refused)
	defer s.Close()
	got := loadMap(t, s)
	if len(got) != 2 || string(got["http://kept/"].Reg.Data) != "1" || got["http://after/"].Reg.URL == "" {
		t.Fatalf("after reopen: %v, want kept (unchanged) and after", got)
	}
	if st := got["http://kept/"].Status; st == nil || st.Code != 500 {
		t.Errorf("status postponed while the disk was full was not saved later: %+v", st)
	}
	if ann, _ := s.LoadAnnounced(); len(ann) != 0 {
		t.Errorf("an announcement refused on a full disk was saved: %v", ann)
	}
}

// When Badger fails in the middle of a group, every caller of that group is
// told, and the committer goes on with the next group.
func TestCommitterSurvivesAFailedGroup(t *testing.T) {
	var fs freeSpace
	var refused sync.Map
	fs.bytes.Store(1 << 40)
	s := openGuarded(t, t.TempDir(), &fs, &refused)
	defer s.Close()

	// Hold the committer in the guard of a first write while three more queue
	// up: they then form one group.
	g := &gate{entered: make(chan struct{}), release: make(chan struct{})}
	fs.gate.Store(g)
	first := make(chan error, 1)
	s.Apply([]Op{{URL: "http://first/", Reg: reg("http://first/", "0")}}, func(err error) { first <- err })
	<-g.entered
	huge := "http://huge/" + strings.Repeat("x", 70_000) // over Badger's key size limit
	errs := make(chan error, 3)
	for _, u := range []string{"http://a/", huge, "http://b/"} {
		s.Apply([]Op{{URL: u, Reg: reg(u, "1")}}, func(err error) { errs <- err })
	}
	close(g.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case err := <-errs:
			if err == nil {
				t.Fatal("a write of the failed group was acknowledged")
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a caller of the failed group was never answered")
		}
	}
	if err := s.Write(context.Background(), []Op{{URL: "http://later/", Reg: reg("http://later/", "2")}}); err != nil {
		t.Fatalf("write after a failed group: %v", err)
	}
	got := loadMap(t, s)
	if _, ok := got["http://later/"]; !ok || len(got) != 2 {
		t.Fatalf("store holds %d registrations (%v), want first and later", len(got), got)
	}
}

func TestOpenNeedsRoomToFlushItsLogs(t *testing.T) {
	withLog := t.TempDir()
	// A write-ahead log left by a crash, 2 MiB of it written.
	if err := os.WriteFile(filepath.Join(withLog, "000001.mem"), bytes.Repeat([]byte{1}, 2*mb), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		dir  string
		free uint64
		ok   bool
	}{
		{"new store", filepath.Join(t.TempDir(), "new"), 2 * mb, true},
		{"new store, no room at all", filepath.Join(t.TempDir(), "new"), 4 << 10, false},
		{"logs to flush, room", withLog, 4 * mb, true},
		{"logs to flush, no room", withLog, 2 * mb, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := checkRoomToOpen(c.dir, func() (uint64, error) { return c.free, nil })
			if c.ok != (err == nil) || (err != nil && !errors.Is(err, ErrDiskFull)) {
				t.Fatalf("checkRoomToOpen with %d bytes free = %v, want ok %t", c.free, err, c.ok)
			}
		})
	}
	if _, err := OpenWith(withLog, quiet, Options{FreeSpace: func() (uint64, error) { return mb, nil }}); !errors.Is(err, ErrDiskFull) {
		t.Fatalf("OpenWith on a full disk = %v, want ErrDiskFull", err)
	}
}
