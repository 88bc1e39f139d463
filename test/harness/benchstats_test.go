package harness

import (
	"testing"
	"time"
)

func TestBenchStats(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, x := range n {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	if got := Median(ms(5, 1, 3)); got != 3*time.Millisecond {
		t.Errorf("Median odd = %v, want 3ms", got)
	}
	if got := Median(ms(4, 1, 3, 2)); got != 2500*time.Microsecond {
		t.Errorf("Median even = %v, want 2.5ms", got)
	}
	if got := Median(nil); got != 0 {
		t.Errorf("Median(nil) = %v, want 0", got)
	}
	if got := MaxDuration(ms(2, 7, 1)); got != 7*time.Millisecond {
		t.Errorf("MaxDuration = %v, want 7ms", got)
	}
	if got := Ms(1500 * time.Microsecond); got != "2" {
		t.Errorf("Ms(1.5ms) = %q, want 2", got)
	}
	took := ms(10, 1, 9, 2, 8, 3, 7, 4, 6, 5)
	n, p50, p99, hi := Percentiles(took)
	if n != 10 || p50 != 5 || p99 != 10 || hi != 10 {
		t.Errorf("Percentiles = %d %v %v %v, want 10 5 10 10", n, p50, p99, hi)
	}
	if took[0] != 10*time.Millisecond {
		t.Errorf("Percentiles sorted its argument: %v", took)
	}
}
