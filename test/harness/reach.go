package harness

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// ErrNoAnswer is no answer at all (dropped), as opposed to a refusal: the
// error PingOnce wraps when the echo request goes unanswered.
var ErrNoAnswer = errors.New("timed out")

// PingOnce is one echo request with a 1 s wait from the namespace at
// nsPath; its error wraps ErrNoAnswer.
func PingOnce(nsPath, addr string) error {
	out, err := exec.Command("ip", "netns", "exec", NsName(nsPath), "ping", "-c", "1", "-W", "1", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w (%v)\n%s", addr, NsName(nsPath), ErrNoAnswer, err, out)
	}
	return nil
}

// Within10s retries f for up to 10 s (the test fails, naming what, if it
// never succeeds) and returns how long it took to succeed (the caller
// may log it: how fast a change took effect).
func Within10s(t testing.TB, what string, f func() error) time.Duration {
	t.Helper()
	start := time.Now()
	var err error
	if !ovsdbtest.Until(context.Background(), 10*time.Second, func() bool { err = f(); return err == nil }) {
		t.Fatalf("%s: still failing after 10 s: %v", what, err)
	}
	return time.Since(start)
}
