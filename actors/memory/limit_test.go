package memory

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLimitFromCgroup(t *testing.T) {
	dir := t.TempDir()
	file := func(content string) string {
		p := filepath.Join(dir, content[:len(content)-1])
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name    string
		path    string
		want    int64
		wantErr bool
	}{
		{"no file", filepath.Join(dir, "absent"), 0, false},
		{"no limit", file("max\n"), 0, false},
		{"2 GiB", file("2147483648\n"), 2147483648 / 10 * 8, false},
		{"garbage", file("lots\n"), 0, true},
		{"zero", file("0\n"), 0, true},
	}
	for _, c := range cases {
		got, err := LimitFromCgroup(c.path)
		if got != c.want || (err != nil) != c.wantErr {
			t.Errorf("%s: got %d, %v; want %d, error %v", c.name, got, err, c.want, c.wantErr)
		}
	}
}

func TestSetDefaultLimitLeavesAGivenGOMEMLIMIT(t *testing.T) {
	p := filepath.Join(t.TempDir(), "memory.max")
	if err := os.WriteFile(p, []byte("1073741824\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	if got, err := SetDefaultLimit(p); got != 0 || err != nil {
		t.Errorf("with GOMEMLIMIT set: set %d, %v; want nothing set", got, err)
	}
}
