package bgp_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// vm is the test guest (scripts/test-guest.sh) booted on host a.
type vm struct {
	name, iface, ip string
	host            string // where it runs now
}

// bootVM defines and starts the test guest name on host a with one NIC on
// network (pinging ping from inside, so that its first packet binds the
// port); it returns once the guest has its DHCP address. The VM is
// destroyed and undefined on both libvirt hosts when the test ends.
func bootVM(t testing.TB, name, network, ping string) *vm {
	t.Helper()
	v := &vm{name: name, iface: harness.UUID(), host: "a"}
	console := filepath.Join(nh.Dir, name+".console")
	xml := harness.Guest{Name: name, Iface: v.iface, Network: network, MAC: "52:54:00:23:19:01", Cmdline: "qnping=" + ping,
		Kernel: nh.Vars["QN_GUEST_KERNEL"], Initrd: nh.Vars["QN_GUEST_INITRD"], Console: console}.XML()
	path := filepath.Join(nh.Dir, name+".xml")
	if err := os.WriteFile(path, []byte(xml), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, h := range nh.Libvirt {
			nh.Virsh(h, "destroy", name)
			nh.Virsh(h, "undefine", name)
		}
	})
	for _, args := range [][]string{{"define", path}, {"start", name}} {
		if out, err := nh.Virsh("a", args...); err != nil {
			t.Fatalf("virsh %s: %v %s", strings.Join(args, " "), err, out)
		}
	}
	v.ip = harness.GuestIP(t, console, 90*time.Second)
	return v
}

// migrate moves v live to host to (virsh migrate --live --p2p, as
// test/migration does) and returns how long virsh took.
func (v *vm) migrate(t testing.TB, to string) time.Duration {
	t.Helper()
	took, err := v.migrateErr(to)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// migrateErr is migrate, failing with an error (off the test's goroutine).
func (v *vm) migrateErr(to string) (time.Duration, error) {
	t0 := time.Now()
	out, err := nh.Virsh(v.host, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", v.name, nh.Var("QN_LIBVIRT_MIGRATE_URI_", to))
	if err != nil {
		return 0, fmt.Errorf("virsh migrate %s %s->%s: %v\n%s", v.name, v.host, to, err, out)
	}
	v.host = to
	return time.Since(t0), nil
}

// TestNextHopFollowsMigration: a VM's (distributed) floating IP is
// announced with host a's next hop; after `virsh migrate` to host b, FRR's
// only path to its /32 goes via b's, the kernel route onto br-ex
// (expose_routes) moved from a's daemon to b's, and the host behind the ToR
// reaches the floating IP through b.
func TestNextHopFollowsMigration(t *testing.T) {
	env.Require(t)
	setup(t, "bgpr7", "bgpmig", "10.232.7.0/24")
	v := bootVM(t, "qn-test-bgpmig", "bgpmig", "10.232.7.1")
	addr, distributed := associatedFIP(t, v.iface)
	if !distributed {
		t.Skipf("floating IP %s is not distributed", addr)
	}
	announced(t, addr+"/32", addrs["a"])
	exposedOnlyOn(t, addr, "a")
	harness.Within10s(t, "before the migration the host behind the ToR pings "+addr, func() error { return fromBehind(addr, 1) })

	took := v.migrate(t, "b")
	t0 := time.Now()
	announced(t, addr+"/32", addrs["b"])
	t.Logf("virsh migrate a->b took %v; FRR's next hop to %s was b's %v later", took.Round(time.Millisecond), addr, time.Since(t0).Round(time.Millisecond))
	if !ovsdbtest.Until(context.Background(), 10*time.Second, func() bool {
		return strings.Contains(kernelRoute(t, addr), "via "+addrs["b"])
	}) {
		t.Fatalf("after the migration the outside's kernel routes %s: %q, want via %s", addr, kernelRoute(t, addr), addrs["b"])
	}
	exposedOnlyOn(t, addr, "b") // a's daemon removed its route, b's added one
	before, brexTX := forwarded(t, "b"), txPackets(t, "b", "br-ex")
	harness.Within10s(t, "after the migration the host behind the ToR pings "+addr, func() error { return fromBehind(addr, 3) })
	if n := forwarded(t, "b") - before; n < 3 {
		t.Errorf("after the migration host b forwarded %d datagrams to the floating IP, want at least 3", n)
	}
	if n := txPackets(t, "b", "br-ex") - brexTX; n < 3 {
		t.Errorf("after the migration host b sent %d packets on br-ex, want at least 3: its daemon's route missing?", n)
	}
}
