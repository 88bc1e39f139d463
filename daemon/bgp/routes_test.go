package bgp

import (
	"net/netip"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/router"
)

var (
	nhA = netip.MustParseAddr("192.0.2.11")
	nhB = netip.MustParseAddr("192.0.2.12")
)

func view() View {
	return View{
		Routers: []router.Router{
			{Name: "r1", Networks: []string{"blue"}, Gateway: &router.Gateway{Network: "ext", SNAT: true, Active: "a",
				Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.100/24"), netip.MustParsePrefix("2001:db8::100/64")}}},
			{Name: "r2", Networks: []string{"red"}, Gateway: &router.Gateway{Network: "ext", SNAT: false, Active: "b",
				Addrs: []netip.Prefix{netip.MustParsePrefix("192.0.2.101/24")}}},
			{Name: "r3", Networks: []string{"green"}},
		},
		FIPs: []router.FloatingIP{
			{Address: netip.MustParseAddr("192.0.2.50"), Port: "p1", Router: "r1", Distributed: true},  // p1 on b
			{Address: netip.MustParseAddr("192.0.2.51"), Port: "p2", Router: "r1", Distributed: false}, // centralized on a
			{Address: netip.MustParseAddr("192.0.2.52"), Router: "r1"},                                 // not associated
			{Address: netip.MustParseAddr("192.0.2.53"), Router: "r2", Forwards: []router.Forward{{}}}, // forwards on b
			{Address: netip.MustParseAddr("192.0.2.54"), Port: "p3", Router: "r2", Distributed: true},  // p3 unbound
		},
		PortChassis: map[string]string{"p1": "b", "p2": "b"},
		Subnets: map[string][]netip.Prefix{"blue": {netip.MustParsePrefix("10.0.1.0/24")},
			"red": {netip.MustParsePrefix("10.0.2.1/24"), netip.MustParsePrefix("fd00:2::/64")}},
	}
}

func prefixes(rs []Route) map[string]string {
	out := map[string]string{}
	for _, r := range rs {
		out[r.Prefix.String()] = r.Kind + " via " + r.NextHop.String()
	}
	return out
}

func check(t *testing.T, name string, got []Route, want map[string]string) {
	t.Helper()
	g := prefixes(got)
	if len(g) != len(want) {
		t.Errorf("%s: got %v, want %v", name, g, want)
		return
	}
	for p, w := range want {
		if g[p] != w {
			t.Errorf("%s: %s: got %q, want %q (all: %v)", name, p, g[p], w, g)
		}
	}
	for _, r := range got {
		if r.Reason == "" {
			t.Errorf("%s: %s has no reason", name, r.Prefix)
		}
	}
}

// TestRoutesByChassis: the active gateway announces its routers' gateway
// addresses, centralized floating IPs and routed subnets; a port's chassis
// its distributed floating IPs; nothing else is announced anywhere.
func TestRoutesByChassis(t *testing.T) {
	v := view()
	check(t, "a", Routes(v, Local{Chassis: "a", NextHop: nhA}), map[string]string{
		"192.0.2.100/32": "router via 192.0.2.11",
		"192.0.2.51/32":  "fip via 192.0.2.11",
	})
	check(t, "b", Routes(v, Local{Chassis: "b", NextHop: nhB}), map[string]string{
		"192.0.2.101/32": "router via 192.0.2.12",
		"10.0.2.0/24":    "subnet via 192.0.2.12",
		"192.0.2.50/32":  "fip via 192.0.2.12",
		"192.0.2.53/32":  "fip via 192.0.2.12",
	})
	check(t, "c", Routes(v, Local{Chassis: "c", NextHop: netip.MustParseAddr("192.0.2.13")}), map[string]string{})
	check(t, "a with ipv6", Routes(v, Local{Chassis: "a", NextHop: nhA, NextHop6: netip.MustParseAddr("2001:db8::11")}), map[string]string{
		"192.0.2.100/32":    "router via 192.0.2.11",
		"192.0.2.51/32":     "fip via 192.0.2.11",
		"2001:db8::100/128": "router via 2001:db8::11",
	})
	check(t, "b ipv6 only", Routes(v, Local{Chassis: "b", NextHop6: netip.MustParseAddr("2001:db8::12")}), map[string]string{
		"fd00:2::/64": "subnet via 2001:db8::12",
	})
}

// TestRoutesMove: a failover moves the gateway's routes, a migration the
// distributed floating IP's; a disassociated floating IP disappears.
func TestRoutesMove(t *testing.T) {
	v := view()
	v.Routers[0].Gateway.Active = "b" // failover of r1 to b
	v.PortChassis["p1"] = "a"         // p1 migrated to a
	v.FIPs[1].Port = ""               // 192.0.2.51 disassociated
	check(t, "a", Routes(v, Local{Chassis: "a", NextHop: nhA}), map[string]string{
		"192.0.2.50/32": "fip via 192.0.2.11",
	})
	check(t, "b", Routes(v, Local{Chassis: "b", NextHop: nhB}), map[string]string{
		"192.0.2.100/32": "router via 192.0.2.12",
		"192.0.2.101/32": "router via 192.0.2.12",
		"10.0.2.0/24":    "subnet via 192.0.2.12",
		"192.0.2.53/32":  "fip via 192.0.2.12",
	})
}

// TestDiff: new routes and moved next hops are added, gone ones withdrawn.
func TestDiff(t *testing.T) {
	p1, p2, p3 := netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("192.0.2.2/32"), netip.MustParsePrefix("192.0.2.3/32")
	cur := map[netip.Prefix]Route{p1: {Prefix: p1, NextHop: nhA}, p2: {Prefix: p2, NextHop: nhA}}
	add, del := Diff(cur, []Route{{Prefix: p1, NextHop: nhA}, {Prefix: p2, NextHop: nhB}, {Prefix: p3, NextHop: nhA}})
	if len(add) != 2 || add[0].Prefix != p2 || add[1].Prefix != p3 || len(del) != 0 {
		t.Errorf("add %v withdraw %v", add, del)
	}
	add, del = Diff(cur, nil)
	if len(add) != 0 || len(del) != 2 {
		t.Errorf("add %v withdraw %v", add, del)
	}
}
