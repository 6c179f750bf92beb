// Package table formats the numbers of the harnesses' Markdown tables.
package table

import (
	"fmt"
	"math"
)

// Num formats v with about three significant digits: "n/a" for a negative
// value or NaN (not measured), "0", then 0.123, 1.23, 12.3 or 1234.
func Num(v float64) string {
	switch {
	case v < 0 || math.IsNaN(v):
		return "n/a"
	case v == 0:
		return "0"
	case v >= 1000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.1f", v)
	case v >= 1:
		return fmt.Sprintf("%.2f", v)
	}
	return fmt.Sprintf("%.3f", v)
}
