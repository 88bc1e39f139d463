package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestControllerDead (issue 15 #14): with the sandbox's ovn-controller
// killed (its Chassis row stays), STATUS says not ready naming
// ovn-controller and ADD fails at once with CNI code 11, instead of
// waiting ready_timeout for flows; once it is back, ADD works again.
func TestControllerDead(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-ctl", "--subnet4", "10.208.0.0/24")
	c, _ := harness.NewCNI(t, env.Bin, harness.ConfList("ctlnet", "e2e-ctl", d.Socket, ""))
	b, err := os.ReadFile(filepath.Join(sbx.Dir, "ovn-controller.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // the other tests need it
		if out, err := sbx.Script("sandbox.sh", "up"); err != nil {
			t.Errorf("sandbox up: %v\n%s", err, out)
		}
	})
	if !ovsdbtest.Until(context.Background(), 10*time.Second, func() bool {
		out, err := d.Qnetctl("status")
		return err != nil && strings.Contains(out, "ovn-controller")
	}) {
		out, _ := d.Qnetctl("status")
		t.Fatalf("STATUS with ovn-controller dead:\n%s", out)
	}
	ns := harness.Netns(t, "ctl")
	start := time.Now()
	_, err = c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("c-ctl", ns, "eth0"))
	took := time.Since(start)
	t.Logf("ADD with ovn-controller dead: %v after %v", err, took)
	if code := cniCode(err); code != 11 || !strings.Contains(err.Error(), "ovn-controller") || took > 5*time.Second {
		t.Fatalf("ADD with ovn-controller dead: code %d after %v (%v), want 11 at once naming ovn-controller", code, took, err)
	}
	if out, err := sbx.Script("sandbox.sh", "up"); err != nil {
		t.Fatalf("sandbox up: %v\n%s", err, out)
	}
	if err := d.WaitReady(20 * time.Second); err != nil {
		t.Fatalf("not ready with ovn-controller back: %v", err)
	}
	if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("c-ctl", ns, "eth0")); err != nil {
		t.Fatalf("ADD with ovn-controller back: %v", err)
	}
	c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("c-ctl", ns, "eth0"))
}
