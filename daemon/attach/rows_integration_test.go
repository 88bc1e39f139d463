package attach

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationOddAddresses (defect 1): an attachment's logical port
// whose addresses are [""] or [" "] (written by hand, or by a bug) makes
// CHECK and a retried ADD's result-building fail with an error naming the
// port; neither panics the daemon.
func TestIntegrationOddAddresses(t *testing.T) {
	spec, err := network.Parse(network.Input{Name: "blue", Subnet4: "10.0.0.0/24", Subnet6: "fd00::/64"})
	if err != nil {
		t.Fatal(err)
	}
	nb, _ := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ls, err := nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	m := &Manager{NB: nb, Chassis: "chassis-h", Bridge: "br-int", Log: ovsdbtest.Logger(t)}
	m.Reconciled.Store(true)
	for i, addrs := range [][]string{{""}, {" "}, {"", " ", "garbage"}} {
		r := Request{ContainerID: fmt.Sprintf("odd%d", i), Ifname: "eth0", Netns: "/proc/self/ns/net", Network: "blue", CNINetwork: "n"}
		name := PortName(m.Chassis, r.ContainerID, r.Ifname)
		if err := nb.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: name, Addresses: addrs, ExternalIDs: map[string]string{
			keys.Network: "blue", keys.ContainerID: r.ContainerID, keys.Ifname: r.Ifname, keys.Netns: r.Netns, keys.Kind: "container"}}); err != nil {
			t.Fatal(err)
		}
		ovsdbtest.Eventually(t, 10*time.Second, func() bool { _, err := nb.LookupPort(name); return err == nil }, "port %s not in the cache", name)
		noPanic := func(what string, f func() error) {
			t.Helper()
			err := func() (err error) {
				defer func() {
					if p := recover(); p != nil {
						err = fmt.Errorf("panic: %v", p)
					}
				}()
				return f()
			}()
			if err == nil || strings.Contains(err.Error(), "panic") || !strings.Contains(err.Error(), name) {
				t.Errorf("addresses %q: %s = %v, want an error naming the port %s", addrs, what, err, name)
			}
		}
		noPanic("CHECK", func() error { return m.Check(ctx, r) })
		noPanic("a retried ADD's result", func() error {
			p, err := nb.LookupPort(name)
			if err != nil {
				return err
			}
			_, err = m.existing(p, r, spec)
			return err
		})
	}
	// Sanity: the same path builds the result of a good row.
	p, err := nb.LookupPort(PortName(m.Chassis, "odd0", "eth0"))
	if err != nil {
		t.Fatal(err)
	}
	p.MAC, p.IPs = []byte{0x0a, 0x51, 0x4e, 0, 0, 1}, []netip.Addr{netip.MustParseAddr("10.0.0.5")}
	if res, err := resultOf(p, spec); err != nil || len(res.Addrs) != 1 || res.Addrs[0].String() != "10.0.0.5/24" {
		t.Fatalf("resultOf a good port = %+v, %v", res, err)
	}
}
