package ovsdbtest

import (
	"context"
	"testing"
	"time"
)

// TestUntil: true as soon as cond holds, false at the timeout or when the
// context ends, cond never called again after it held.
func TestUntil(t *testing.T) {
	n := 0
	if !Until(context.Background(), time.Second, func() bool { n++; return n == 3 }) || n != 3 {
		t.Fatalf("Until returned after %d calls, want true after 3", n)
	}
	start := time.Now()
	if Until(context.Background(), 30*time.Millisecond, func() bool { return false }) {
		t.Fatal("Until of a condition never true returned true")
	}
	if d := time.Since(start); d < 30*time.Millisecond || d > time.Second {
		t.Fatalf("Until gave up after %v, want ~30ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if Until(ctx, time.Minute, func() bool { return false }) {
		t.Fatal("Until with an ended context returned true")
	}
}
