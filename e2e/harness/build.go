package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
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
		return "", fmt.Errorf("go build %v: %v\n%s", flags, err, out)
	}
	return bin, nil
}

// Binary is the spo2 binary of one test package, built on first use with
// Flags and shared by every test of the package. Its zero value (plus
// Flags) is ready; call Remove from TestMain once the tests have run.
type Binary struct {
	Flags []string // go build flags, e.g. "-race"

	once sync.Once
	dir  string
	path string
	err  error
}

// Build builds the binary the first time it is called and returns its path;
// later calls return the same path or the same error.
func (b *Binary) Build() (string, error) {
	b.once.Do(func() {
		b.dir, b.err = os.MkdirTemp("", "spo2-test-bin-")
		if b.err == nil {
			b.path, b.err = Build(b.dir, b.Flags...)
		}
	})
	return b.path, b.err
}

// Path is Build for a test: it fails the test when the build fails.
func (b *Binary) Path(t testing.TB) string {
	t.Helper()
	p, err := b.Build()
	if err != nil {
		t.Fatalf("building spo2: %v", err)
	}
	return p
}

// Remove deletes the built binary, if any.
func (b *Binary) Remove() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}
