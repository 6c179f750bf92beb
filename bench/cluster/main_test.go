package main

import (
	"testing"
	"time"
)

func TestParseSizes(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []Size
		err  bool
	}{
		{in: "10000@10s", want: []Size{{10000, 10 * time.Second}}},
		{in: "10000@5s, 100000@30s", want: []Size{{10000, 5 * time.Second}, {100000, 30 * time.Second}}},
		{in: "10000", err: true},
		{in: "5@1s", err: true},
		{in: "1000@100ms", err: true},
		{in: "x@1s", err: true},
	} {
		got, err := parseSizes(tc.in)
		if (err != nil) != tc.err {
			t.Errorf("parseSizes(%q) error = %v, want error %v", tc.in, err, tc.err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("parseSizes(%q) = %v, want %v", tc.in, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("parseSizes(%q)[%d] = %v, want %v", tc.in, i, got[i], tc.want[i])
			}
		}
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 100000: "100,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestSpaced(t *testing.T) {
	for d, want := range map[time.Duration]string{10 * time.Second: "10 s", 500 * time.Millisecond: "500 ms", 90 * time.Second: "1m30s", 30 * time.Second: "30 s"} {
		if got := spaced(d); got != want {
			t.Errorf("spaced(%s) = %q, want %q", d, got, want)
		}
	}
}
