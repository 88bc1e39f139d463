package attach

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
)

// TestIntegrationReconcileSweepsCrashedVeths: a veth pair an ADD created
// before a crash (marked as this chassis', named by no OVS port and no
// logical port) is removed at start; another daemon's marked pair and an
// unmarked one are left alone.
func TestIntegrationReconcileSweepsCrashedVeths(t *testing.T) {
	needRoot(t)
	nb, _ := ovntest.NewNB(t)
	oc, _ := ovstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := oc.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	m := reconcileManager(t, nb, oc)
	ns := netns(t, "qnsweep")
	mine, theirs, plain := HostIfname("ch1", "crashed", "eth0"), HostIfname("ch1", "other", "eth0"), HostIfname("ch1", "plain", "eth0")
	for _, v := range []struct {
		host, cont string
		group      uint32
	}{
		{mine, "eth0", m.vethGroup()}, {theirs, "eth1", m.vethGroup() + 1}, {plain, "eth2", 0},
	} {
		t.Cleanup(func() { hostnet.DeleteHostVeth(v.host) }) //nolint:errcheck
		if _, err := hostnet.CreateVeth(hostnet.VethSpec{HostName: v.host, ContName: v.cont, Netns: ns, MTU: 1400, Group: v.group}); err != nil {
			t.Fatal(err)
		}
	}
	if m.vethGroup() == 0 {
		t.Fatal("no mark: the OVS root row is unknown")
	}
	if err := m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if hostnet.HostVethExists(mine) {
		out, _ := exec.Command("ip", "-d", "link", "show", mine).CombinedOutput()
		t.Fatalf("the crashed ADD's veth is left:\n%s", out)
	}
	for _, n := range []string{theirs, plain} {
		if !hostnet.HostVethExists(n) {
			t.Errorf("veth %s, not this daemon's, was removed", n)
		}
	}
}
