package nbstore

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

var ext = network.Input{Name: "ext", External: true, Physnet: "physnet1", VLAN: 100, Subnet4: "192.0.2.0/24",
	Gateway4: "192.0.2.1", Subnet6: "2001:db8:2::/64", FIPRange: "192.0.2.50-192.0.2.99"}

// snats are the SNAT rules of the router r: logical_ip -> external_ip.
func (e *env) snats() map[string]string {
	out := map[string]string{}
	for _, n := range e.rows("NAT", []string{"type", "external_ip", "logical_ip"}, "type=snat") {
		out[n.Str("logical_ip")] = n.Str("external_ip")
	}
	return out
}

// TestIntegrationExternalNetwork: an external network is a switch with a
// localnet port and no services; --external without --physnet is refused.
func TestIntegrationExternalNetwork(t *testing.T) {
	e := newEnv(t)
	e.network(ext)
	ln := e.rows("Logical_Switch_Port", []string{"type", "addresses", "options", "tag_request"}, "name=qn-ln-ext")
	if len(ln) != 1 || ln[0].Str("type") != "localnet" || ln[0].Map("options")["network_name"] != "physnet1" ||
		ln[0].Str("tag_request") != "100" || !slices.Equal(ln[0].Set("addresses"), []string{"unknown"}) {
		t.Fatalf("localnet port: %v", ln)
	}
	if err := e.Svc.Ensure(e.ctx, "ext"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"DHCP_Options", "Logical_Router", "DNS"} {
		if rows := e.rows(table, []string{"_uuid"}); len(rows) != 0 {
			t.Fatalf("external network has %s rows: %v", table, rows)
		}
	}
	_, err := network.Parse(network.Input{Name: "ext2", External: true, Subnet4: "198.51.100.0/24"})
	if err == nil || !strings.Contains(err.Error(), "physnet") {
		t.Fatalf("--external without --physnet: %v", err)
	}
	n, err := e.nets.Get("ext")
	if err != nil || !n.External || n.Physnet != "physnet1" || n.VLAN != 100 || n.Range4.String() != "192.0.2.50-192.0.2.99" {
		t.Fatalf("view of ext: %+v %v", n, err)
	}
	if err := e.nets.Delete(e.ctx, "ext"); err != nil {
		t.Fatal(err)
	}
	if rows := e.rows("Logical_Switch_Port", []string{"name"}); len(rows) != 0 {
		t.Fatalf("ports left: %v", rows)
	}
}

// TestIntegrationGateway: the gateway's port, peer, HA group (from the
// Southbound chassis that map the physnet), default routes and SNAT; SNAT
// follows attach and detach; new chassis join the group below the others.
func TestIntegrationGateway(t *testing.T) {
	e := newEnv(t)
	e.chassis("ch-b", "10.0.0.2", "physnet1:br-ex")
	e.chassis("ch-a", "10.0.0.1", "physnet1:br-ex,physnet2:br-x")
	e.chassis("ch-c", "10.0.0.3", "")
	e.network(ext)
	e.network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Subnet6: "fd00:1::/64"})
	e.network(network.Input{Name: "red", Subnet4: "10.2.0.0/24"})
	e.network(network.Input{Name: "clash", Subnet4: "192.0.2.0/25"})
	if _, err := e.m.Create(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Attach(e.ctx, "r1", "blue"); err != nil {
		t.Fatal(err)
	}
	e.refused("gateway on a non-external network", errs.Invalid, func() error {
		_, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "red"})
		return err
	}, "red", "external")
	e.refused("gateway address outside the range", errs.Invalid, func() error {
		_, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext", Addr4: netip.MustParseAddr("192.0.2.10")})
		return err
	}, "192.0.2.10")
	e.refused("attach an external network", errs.Invalid, func() error { _, err := e.m.Attach(e.ctx, "r1", "ext"); return err }, "ext", "gateway")
	// The operator's own BFD setting stays; the missing ones are added.
	e.nbSrv.Run("ovn-nbctl", "--db="+e.nbSrv.Remote, "init")
	e.nbSrv.Run("ovn-nbctl", "--db="+e.nbSrv.Remote, "set", "NB_Global", ".", "options:bfd-mult=5")
	r, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext"})
	if err != nil {
		t.Fatal(err)
	}
	if opts := e.nbSrv.FindOne("ovn-nbctl", "NB_Global", []string{"options"}).Map("options"); opts["bfd-min-rx"] != "100" ||
		opts["bfd-min-tx"] != "100" || opts["bfd-mult"] != "5" {
		t.Fatalf("NB_Global options after set-gateway: %v (want the BFD defaults added, the operator's bfd-mult kept)", opts)
	}
	g := r.Gateway
	if g == nil || g.Network != "ext" || !g.SNAT || len(g.Addrs) != 2 || g.Addr4() != netip.MustParseAddr("192.0.2.50") {
		t.Fatalf("gateway: %+v", g)
	}
	if want := []router.Chassis{{Name: "ch-a", Priority: router.MaxPriority}, {Name: "ch-b", Priority: router.MaxPriority - 1}}; !slices.Equal(g.Chassis, want) {
		t.Fatalf("gateway chassis %v, want %v", g.Chassis, want)
	}
	checkGatewayRows(t, e)
	e.refused("overlap with the gateway network", errs.Invalid, func() error { _, err := e.m.Attach(e.ctx, "r1", "clash"); return err }, "clash", "ext")
	e.refused("gateway twice", errs.Conflict, func() error {
		_, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext"})
		return err
	}, "r1", "ext")
	if _, err := e.m.Attach(e.ctx, "r1", "red"); err != nil {
		t.Fatal(err)
	}
	if got := e.snats(); len(got) != 2 || got["10.2.0.0/24"] != "192.0.2.50" {
		t.Fatalf("SNAT after attaching red: %v", got)
	}
	if _, err := e.m.Detach(e.ctx, "r1", "red"); err != nil {
		t.Fatal(err)
	}
	if got := e.snats(); len(got) != 1 {
		t.Fatalf("SNAT after detaching red: %v", got)
	}
	e.refused("delete a router with a gateway", errs.InUse, func() error { return e.m.Delete(e.ctx, "r1") }, "blue")
	e.refused("delete the gateway network", errs.InUse, func() error { return e.nets.Delete(e.ctx, "ext") }, "r1")

	checkHAJoin(t, e)
	// Clear: nothing of the gateway is left, its address is free again.
	if _, err := e.m.ClearGateway(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	checkCleared(t, e)
}

// checkGatewayRows: the gateway port and its HA group, its peer on the
// external switch, the default routes, SNAT of the attached network.
func checkGatewayRows(t *testing.T, e *env) {
	lrp := e.rows("Logical_Router_Port", []string{"networks", "ha_chassis_group"}, "name=qn-lrg-r1")[0]
	grp := e.rows("HA_Chassis_Group", []string{"_uuid", "name"}, "name=qn-ha-r1")
	if len(grp) != 1 || lrp.Str("ha_chassis_group") != grp[0].Str("_uuid") {
		t.Fatalf("gateway port %v, HA group %v", lrp, grp)
	}
	lsp := e.rows("Logical_Switch_Port", []string{"type", "options", "addresses"}, "name=qn-lsg-r1")
	// nat-addresses=router: ovn-controller announces the router's NAT
	// addresses, a distributed floating IP's from its port's chassis (what
	// moves it on the outside's switches after a live migration).
	if len(lsp) != 1 || lsp[0].Str("type") != "router" || lsp[0].Map("options")["router-port"] != "qn-lrg-r1" ||
		lsp[0].Map("options")["nat-addresses"] != "router" {
		t.Fatalf("peer port on ext: %v", lsp)
	}
	routes := map[string]string{}
	for _, rt := range e.rows("Logical_Router_Static_Route", []string{"ip_prefix", "nexthop", "output_port"}) {
		routes[rt.Str("ip_prefix")] = rt.Str("nexthop") + " " + rt.Str("output_port")
	}
	if len(routes) != 2 || routes["0.0.0.0/0"] != "192.0.2.1 qn-lrg-r1" || routes["::/0"] != "2001:db8:2::1 qn-lrg-r1" {
		t.Fatalf("default routes: %v (ext is dual-stack: ::/0 via its gateway6)", routes)
	}
	if got := e.snats(); len(got) != 1 || got["10.1.0.0/24"] != "192.0.2.50" {
		t.Fatalf("SNAT after set-gateway: %v", got)
	}
}

// checkHAJoin: a chassis that maps the physnet joins the HA group, below
// the members, by the runner on the Southbound event.
func checkHAJoin(t *testing.T, e *env) {
	// A chassis that maps the physnet joins, below the members; the runner
	// does it on the Southbound event.
	go (&Runner{M: e.m, Interval: time.Hour}).Run(e.ctx)
	e.chassis("ch-0", "10.0.0.9", "physnet1:br-ex")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		r, _ := e.m.Get("r1")
		return r.Gateway != nil && len(r.Gateway.Chassis) == 3
	}, "ch-0 in the HA group")
	r, _ := e.m.Get("r1")
	if c := r.Gateway.Chassis; c[0].Name != "ch-a" || c[2] != (router.Chassis{Name: "ch-0", Priority: router.MaxPriority - 2}) {
		t.Fatalf("HA group after ch-0 came: %v", c)
	}
	if err := e.m.SyncHA(e.ctx); err != nil { // idempotent
		t.Fatal(err)
	}

}

// checkCleared: clear-gateway leaves nothing of the gateway, its address
// is free again, a second clear is refused.
func checkCleared(t *testing.T, e *env) {
	for _, table := range []string{"NAT", "Logical_Router_Static_Route", "HA_Chassis_Group", "HA_Chassis"} {
		if rows := e.rows(table, []string{"_uuid"}); len(rows) != 0 {
			t.Fatalf("%s rows left after clear-gateway: %v", table, rows)
		}
	}
	if rows := e.rows("Logical_Switch_Port", []string{"name"}, "name=qn-lsg-r1"); len(rows) != 0 {
		t.Fatalf("peer port left: %v", rows)
	}
	for _, res := range e.rows("DHCP_Options", []string{"external_ids"}) {
		if strings.HasPrefix(res.Map("external_ids")[keys.Owner], keys.OwnerRouterPrefix) {
			t.Fatalf("gateway reservation left: %v", res)
		}
	}
	e.refused("clear twice", errs.NotFound, func() error { _, err := e.m.ClearGateway(e.ctx, "r1"); return err }, "r1")
}
