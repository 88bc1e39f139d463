package nbstore

import (
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationAttachDetach: attach moves the network's gateway port
// onto the router and records it on the switch, netsvc's Ensure leaves it
// there, detach moves it back; overlapping subnets, a second router and
// external networks are refused with nothing written; static routes.
func TestIntegrationAttachDetach(t *testing.T) {
	e := newEnv(t)
	e.network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Subnet6: "fd00:1::/64"})
	e.network(network.Input{Name: "red", Subnet4: "10.2.0.0/24"})
	e.network(network.Input{Name: "green", Subnet4: "10.1.0.0/16"})
	if _, err := e.m.Create(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	e.refused("create twice", errs.Conflict, func() error { _, err := e.m.Create(e.ctx, "r1"); return err }, "r1")
	e.refused("bad name", errs.Invalid, func() error { _, err := e.m.Create(e.ctx, "R 1"); return err }, "name")
	for _, n := range []string{"blue", "red"} {
		if _, err := e.m.Attach(e.ctx, "r1", n); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := e.routerPorts("qn-lr-r1"), []string{"qn-rp-blue", "qn-rp-red"}; !slices.Equal(got, want) {
		t.Fatalf("ports of qn-lr-r1: %v, want %v", got, want)
	}
	if got := e.routerPorts(netsvc.RouterName("blue")); len(got) != 0 {
		t.Fatalf("qn-r-blue still has ports %v", got)
	}
	if ids := e.rows("Logical_Switch", []string{"external_ids"}, "name=qn-blue")[0].Map("external_ids"); ids[keys.Router] != "r1" {
		t.Fatalf("switch of blue: %v, want %s=r1", ids, keys.Router)
	}
	// The port keeps its MAC and addresses (DHCP's router option, RAs).
	lrp := e.rows("Logical_Router_Port", []string{"mac", "networks", "ipv6_ra_configs"}, "name=qn-rp-blue")[0]
	if lrp.Str("mac") != netsvc.RouterMAC("blue") || len(lrp.Set("networks")) != 2 || len(lrp.Map("ipv6_ra_configs")) == 0 {
		t.Fatalf("gateway port of blue after the move: %v", lrp)
	}
	// netsvc's Ensure, run after the attach, leaves the port on r1.
	for _, n := range []string{"blue", "red"} {
		if err := e.Svc.Ensure(e.ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.routerPorts("qn-lr-r1"); len(got) != 2 {
		t.Fatalf("after Ensure: ports of qn-lr-r1 %v", got)
	}
	checkRepaired(t, e)
	if _, err := e.m.Attach(e.ctx, "r1", "blue"); err != nil {
		t.Fatalf("attach twice to the same router: %v, want a no-op", err)
	}
	if _, err := e.m.Create(e.ctx, "r2"); err != nil {
		t.Fatal(err)
	}
	e.refused("attach elsewhere", errs.Conflict, func() error { _, err := e.m.Attach(e.ctx, "r2", "blue"); return err }, "blue", "r1")
	e.refused("overlap", errs.Invalid, func() error { _, err := e.m.Attach(e.ctx, "r1", "green"); return err }, "green", "blue", "r1")
	e.refused("missing network", errs.NotFound, func() error { _, err := e.m.Attach(e.ctx, "r1", "nope"); return err }, "nope")
	e.refused("missing router", errs.NotFound, func() error { _, err := e.m.Attach(e.ctx, "r9", "green"); return err }, "r9")

	checkRoutes(t, e)
	e.refused("delete router with networks", errs.InUse, func() error { return e.m.Delete(e.ctx, "r1") }, "blue", "red")
	e.refused("delete attached network", errs.InUse, func() error { return e.nets.Delete(e.ctx, "blue") }, "r1")

	// Detach moves the port back; Ensure keeps it there.
	if _, err := e.m.Detach(e.ctx, "r1", "blue"); err != nil {
		t.Fatal(err)
	}
	if got := e.routerPorts(netsvc.RouterName("blue")); !slices.Equal(got, []string{"qn-rp-blue"}) {
		t.Fatalf("after detach: qn-r-blue ports %v", got)
	}
	if err := e.Svc.Ensure(e.ctx, "blue"); err != nil {
		t.Fatal(err)
	}
	if got := e.routerPorts("qn-lr-r1"); !slices.Equal(got, []string{"qn-rp-red"}) {
		t.Fatalf("after detach: qn-lr-r1 ports %v", got)
	}
	e.refused("detach twice", errs.NotFound, func() error { _, err := e.m.Detach(e.ctx, "r1", "blue"); return err }, "blue")
	// Green fits now that blue left.
	if _, err := e.m.Attach(e.ctx, "r1", "green"); err != nil {
		t.Fatal(err)
	}

	teardownAttach(t, e)
}

// checkRoutes: static routes are added, refused when bad or present, and
// deleted.
func checkRoutes(t *testing.T, e *env) {
	// Static routes.
	if _, err := e.m.AddRoute(e.ctx, "r1", "192.168.10.0/24", "10.1.0.254"); err != nil {
		t.Fatal(err)
	}
	e.refused("route twice", errs.Conflict, func() error { _, err := e.m.AddRoute(e.ctx, "r1", "192.168.10.0/24", "10.1.0.254"); return err }, "192.168.10.0/24")
	e.refused("route family", errs.Invalid, func() error { _, err := e.m.AddRoute(e.ctx, "r1", "fd00:9::/64", "10.1.0.254"); return err }, "nexthop")
	e.refused("route cidr", errs.Invalid, func() error { _, err := e.m.AddRoute(e.ctx, "r1", "10.9.0.1/24", "10.1.0.254"); return err }, "prefix")
	r, err := e.m.Get("r1")
	if err != nil || len(r.Routes) != 1 || r.Routes[0].String() != "192.168.10.0/24 via 10.1.0.254" || !slices.Equal(r.Networks, []string{"blue", "red"}) {
		t.Fatalf("router r1: %+v %v", r, err)
	}
	if _, err := e.m.DeleteRoute(e.ctx, "r1", "192.168.10.0/24", ""); err != nil {
		t.Fatal(err)
	}
	e.refused("delete missing route", errs.NotFound, func() error { _, err := e.m.DeleteRoute(e.ctx, "r1", "192.168.10.0/24", ""); return err }, "192.168.10.0/24")
}

// teardownAttach detaches and deletes everything the attach test made.
func teardownAttach(t *testing.T, e *env) {
	// Everything goes: no router of ours is left, the networks' own are.
	for _, n := range []string{"red", "green"} {
		if _, err := e.m.Detach(e.ctx, "r1", n); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []string{"r1", "r2"} {
		if err := e.m.Delete(e.ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	e.refused("delete missing router", errs.NotFound, func() error { return e.m.Delete(e.ctx, "r1") }, "r1")
	for _, r := range e.rows("Logical_Router", []string{"name", "external_ids"}) {
		if r.Map("external_ids")[keys.Router] != "" {
			t.Fatalf("router left: %v", r)
		}
	}
	for _, n := range []string{"blue", "red", "green"} {
		if err := e.nets.Delete(e.ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	if rows := e.rows("Logical_Router", []string{"name"}); len(rows) != 0 {
		t.Fatalf("routers left after deleting the networks: %v", rows)
	}
}

// checkRepaired: a port found on the network's own router while the
// switch names r1 (written by hand, or an old daemon) goes back to r1.
func checkRepaired(t *testing.T, e *env) {
	uuid := e.rows("Logical_Router_Port", []string{"_uuid"}, "name=qn-rp-blue")[0].Str("_uuid")
	e.nbSrv.Run("ovn-nbctl", "--db="+e.nbSrv.Remote, "remove", "Logical_Router", "qn-lr-r1", "ports", uuid,
		"--", "add", "Logical_Router", netsvc.RouterName("blue"), "ports", uuid)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return len(e.routerPorts(netsvc.RouterName("blue"))) == 1 }, "moved by hand")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		return e.Svc.Ensure(e.ctx, "blue") == nil && len(e.routerPorts("qn-lr-r1")) == 2
	}, "Ensure puts blue's port back on r1")
}
