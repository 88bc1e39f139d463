package nbstore

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationFloatingIPs: create in the range, associate distributed
// (the port's chassis maps the physnet) or centralized, every missing link
// named, a port's deletion disassociates in its transaction, delete
// disassociates; in-use refusals; deleting everything leaves nothing.
func TestIntegrationFloatingIPs(t *testing.T) {
	e := newEnv(t)
	e.chassis("ch-a", "10.0.0.1", "physnet1:br-ex")
	e.chassis("ch-c", "10.0.0.3", "")
	e.network(ext)
	e.network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	e.network(network.Input{Name: "green", Subnet4: "10.3.0.0/24"})
	e.network(network.Input{Name: "red", Subnet4: "10.2.0.0/24"})
	for _, r := range []string{"r1", "r2"} {
		if _, err := e.m.Create(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.Attach(e.ctx, "r1", "blue"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Attach(e.ctx, "r2", "red"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext", NoSNAT: true}); err != nil {
		t.Fatal(err)
	}
	if got := e.snats(); len(got) != 0 {
		t.Fatalf("--no-snat wrote SNAT rules %v", got)
	}
	pa, pc := e.port("pa", "blue", "ch-a"), e.port("pc", "blue", "ch-c")
	e.port("pg", "green", "ch-a")
	e.port("pr", "red", "ch-a")

	fip := netip.MustParseAddr("192.0.2.60")
	if f, err := e.m.CreateFIP(e.ctx, "ext", fip); err != nil || f.Address != fip {
		t.Fatalf("create %v: %+v %v", fip, f, err)
	}
	next, err := e.m.CreateFIP(e.ctx, "ext", netip.Addr{})
	if err != nil || next.Address.Compare(netip.MustParseAddr("192.0.2.50")) < 0 {
		t.Fatalf("create the next free: %+v %v", next, err)
	}
	fipRefusals(t, e, fip)
	// Distributed: pa's chassis maps physnet1.
	f, err := e.m.AssociateFIP(e.ctx, fip, "pa", netip.Addr{})
	if err != nil || f.Port != "pa" || f.FixedIP != pa.IPs[0] || f.Router != "r1" || !f.Distributed {
		t.Fatalf("associate with pa: %+v %v", f, err)
	}
	nat := e.rows("NAT", []string{"type", "external_ip", "logical_ip", "logical_port", "external_mac"}, "type=dnat_and_snat")
	if len(nat) != 1 || nat[0].Str("external_ip") != "192.0.2.60" || nat[0].Str("logical_ip") != pa.IPs[0].String() ||
		nat[0].Str("logical_port") != "pa" || !strings.HasPrefix(nat[0].Str("external_mac"), "0a:51:4e:") {
		t.Fatalf("distributed NAT: %v", nat)
	}
	if _, err := e.m.AssociateFIP(e.ctx, fip, "pa", netip.Addr{}); err != nil {
		t.Fatalf("associate twice: %v, want a no-op", err)
	}
	e.refused("associated elsewhere", errs.Conflict, func() error { _, err := e.m.AssociateFIP(e.ctx, fip, "pc", netip.Addr{}); return err }, "pa")
	if got := e.m.FIPsOfPort("pa"); !slices.Equal(got, []netip.Addr{fip}) {
		t.Fatalf("floating IPs of pa: %v", got)
	}
	e.refused("detach a network holding fips", errs.InUse, func() error { _, err := e.m.Detach(e.ctx, "r1", "blue"); return err }, "192.0.2.60")
	e.refused("clear a gateway carrying fips", errs.InUse, func() error { _, err := e.m.ClearGateway(e.ctx, "r1"); return err }, "192.0.2.60")
	e.refused("delete the external network", errs.InUse, func() error { return e.nets.Delete(e.ctx, "ext") }, "r1")

	// Centralized: pc's chassis has no physnet.
	f, err = e.m.AssociateFIP(e.ctx, next.Address, "pc", netip.Addr{})
	if err != nil || f.Distributed {
		t.Fatalf("associate with pc: %+v %v", f, err)
	}
	nat = e.rows("NAT", []string{"logical_port", "external_mac"}, "external_ip="+next.Address.String())
	if len(nat) != 1 || nat[0].Str("logical_port") != "" || nat[0].Str("external_mac") != "" {
		t.Fatalf("centralized NAT: %v", nat)
	}

	checkPlacement(t, e, next.Address)
	fipPortGone(t, e, fip, next.Address, pc)
	teardownFIP(t, e)
}

// fipRefusals: every bad floating IP request is refused naming the
// missing link or field, with nothing written.
func fipRefusals(t *testing.T, e *env, fip netip.Addr) {
	e.refused("fip outside the range", errs.Invalid, func() error {
		_, err := e.m.CreateFIP(e.ctx, "ext", netip.MustParseAddr("192.0.2.10"))
		return err
	}, "192.0.2.10", "range")
	e.refused("fip taken", errs.Conflict, func() error { _, err := e.m.CreateFIP(e.ctx, "ext", fip); return err }, "192.0.2.60")
	e.refused("fip on a non-external network", errs.Invalid, func() error { _, err := e.m.CreateFIP(e.ctx, "blue", netip.Addr{}); return err }, "blue")
	e.refused("network not attached", errs.Invalid, func() error { _, err := e.m.AssociateFIP(e.ctx, fip, "pg", netip.Addr{}); return err },
		"network green is not attached to a router")
	e.refused("router without gateway", errs.Invalid, func() error { _, err := e.m.AssociateFIP(e.ctx, fip, "pr", netip.Addr{}); return err },
		"router r2 has no gateway on ext")
	e.refused("fixed ip not the port's", errs.Invalid, func() error {
		_, err := e.m.AssociateFIP(e.ctx, fip, "pa", netip.MustParseAddr("10.1.0.250"))
		return err
	}, "fixed_ip")

}

// fipPortGone: a port's deletion disassociates its floating IP in its
// transaction; delete disassociates first.
func fipPortGone(t *testing.T, e *env, fip, next netip.Addr, pc ovn.Port) {
	// The port goes: its NAT rule goes in the same transaction, the
	// floating IP stays, disassociated.
	if err := e.ports.Delete(e.ctx, "pa"); err != nil {
		t.Fatal(err)
	}
	if f, err := e.m.GetFIP(fip); err != nil || f.Port != "" || f.Router != "" {
		t.Fatalf("after pa's deletion: %+v %v", f, err)
	}
	if nat := e.rows("NAT", []string{"_uuid"}, "external_ip=192.0.2.60"); len(nat) != 0 {
		t.Fatalf("NAT of a deleted port left: %v", nat)
	}
	if _, err := e.m.DisassociateFIP(e.ctx, next); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.AssociateFIP(e.ctx, fip, "pc", pc.IPs[0]); err != nil {
		t.Fatal(err)
	}
	// Delete disassociates first, in the same transaction.
	if err := e.m.DeleteFIP(e.ctx, fip); err != nil {
		t.Fatal(err)
	}
	e.refused("delete missing fip", errs.NotFound, func() error { return e.m.DeleteFIP(e.ctx, fip) }, "192.0.2.60")
	if err := e.m.DeleteFIP(e.ctx, next); err != nil {
		t.Fatal(err)
	}

}

// teardownFIP deletes everything; nothing of QuantumNet's is left.
func teardownFIP(t *testing.T, e *env) {
	// Everything goes.
	for _, p := range []string{"pc", "pg", "pr"} {
		if err := e.ports.Delete(e.ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.ClearGateway(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for r, n := range map[string]string{"r1": "blue", "r2": "red"} {
		if _, err := e.m.Detach(e.ctx, r, n); err != nil {
			t.Fatal(err)
		}
		if err := e.m.Delete(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []string{"blue", "green", "red", "ext"} {
		if err := e.nets.Delete(e.ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	for _, table := range []string{"NAT", "Logical_Router", "Logical_Router_Port", "Logical_Router_Static_Route", "HA_Chassis_Group",
		"HA_Chassis", "Logical_Switch", "Logical_Switch_Port", "DHCP_Options"} {
		if rows := e.rows(table, []string{"_uuid"}); len(rows) != 0 {
			t.Fatalf("%s rows left after deleting everything: %v", table, rows)
		}
	}
}

// checkPlacement: once pc's chassis maps the physnet, the runner's sync
// makes its floating IP distributed.
func checkPlacement(t *testing.T, e *env, addr netip.Addr) {
	e.sbSrv.Run("ovn-sbctl", "--db="+e.sbSrv.Remote, "set", "Chassis", "ch-c", "other_config:ovn-bridge-mappings=physnet1:br-ex")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		if err := e.m.SyncFIPs(e.ctx); err != nil {
			t.Fatal(err)
		}
		f, _ := e.m.GetFIP(addr)
		return f.Distributed
	}, "floating IP %s distributed once its port's chassis maps the physnet", addr)
	nat := e.rows("NAT", []string{"logical_port", "external_mac"}, "external_ip="+addr.String())
	if len(nat) != 1 || nat[0].Str("logical_port") != "pc" || nat[0].Str("external_mac") == "" {
		t.Fatalf("NAT after the placement sync: %v", nat)
	}
}
