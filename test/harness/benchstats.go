package harness

import (
	"fmt"
	"sort"
	"time"
)

// Median of durations (the mean of the two middle ones for an even
// count), 0 for none.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// MaxDuration is the longest of d, 0 for none.
func MaxDuration(d []time.Duration) time.Duration {
	var m time.Duration
	for _, x := range d {
		m = max(m, x)
	}
	return m
}

// Ms is d in whole milliseconds, for a table.
func Ms(d time.Duration) string { return fmt.Sprintf("%.0f", float64(d)/1e6) }

// QuantileMs is the q quantile (nearest rank) of sorted durations, in ms.
func QuantileMs(s []time.Duration, q float64) float64 {
	if len(s) == 0 {
		return 0
	}
	i := int(q*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / 1e6
}

// Percentiles is the count, p50, p99 and max in ms of took (not changed).
func Percentiles(took []time.Duration) (n int, p50, p99, maxMs float64) {
	s := append([]time.Duration(nil), took...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return len(s), QuantileMs(s, 0.5), QuantileMs(s, 0.99), QuantileMs(s, 1)
}
