package table

import (
	"math"
	"testing"
)

func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{-1, "n/a"}, {math.NaN(), "n/a"}, {0, "0"}, {0.12345, "0.123"}, {1.2345, "1.23"},
		{123.45, "123.5"}, {12345.6, "12346"},
	}
	for _, tc := range tests {
		if got := Num(tc.v); got != tc.want {
			t.Errorf("Num(%v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}
