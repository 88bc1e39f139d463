package bgp_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// fip is `fip show -o json`.
type fip struct {
	Address     string `json:"address"`
	Distributed bool   `json:"distributed"`
}

// newFIP creates a floating IP on the external network, deleted when the
// test ends.
func newFIP(t testing.TB) string {
	t.Helper()
	var f fip
	qnJSON(t, &f, "fip", "create", extNet)
	later(t, "fip", "delete", f.Address)
	return f.Address
}

// associatedFIP creates a floating IP, associates it with port (both
// undone at the end) and returns it with whether it is distributed (to
// the port's chassis) rather than centralized on the gateway.
func associatedFIP(t testing.TB, port string) (string, bool) {
	t.Helper()
	addr := newFIP(t)
	qn(t, "fip", "associate", addr, port)
	later(t, "fip", "disassociate", addr)
	var f fip
	qnJSON(t, &f, "fip", "show", addr)
	return addr, f.Distributed
}

// TestGatewayAndFIP: the router's gateway address is announced from the
// active gateway chassis; a floating IP associated with a port on host b
// is announced with b's address as next hop (distributed there) and
// withdrawn when disassociated.
func TestGatewayAndFIP(t *testing.T) {
	env.Require(t)
	gw, active := setup(t, "bgpr1", "bgpblue", "10.232.1.0/24")
	active = fromGateway(t, "bgpr1", gw+"/32")

	c := newContainer(t, "b", "fip-b", "bgpblue")
	addr, distributed := associatedFIP(t, c.Port)
	from := "b"
	if !distributed {
		from = active // centralized on the gateway
		t.Logf("floating IP %s is centralized: next hop is the gateway's chassis", addr)
	}
	announced(t, addr+"/32", addrs[from])
	if out, err := daemons[from].Qnetctl("bgp", "show"); err != nil || !strings.Contains(out, addr+"/32") || !strings.Contains(out, "established") {
		t.Errorf("qnetctl bgp show on %s: %v; want %s announced and the session established:\n%s", from, err, addr, out)
	} else {
		t.Logf("qnetctl bgp show on %s:\n%s", from, out)
	}
	qn(t, "fip", "disassociate", addr)
	withdrawn(t, addr+"/32")
	fromGateway(t, "bgpr1", gw+"/32")
}

// TestRoutedSubnet: a router without SNAT has its network's subnet
// announced from its gateway chassis; clearing the gateway withdraws it
// and the gateway address.
func TestRoutedSubnet(t *testing.T) {
	env.Require(t)
	gw, _ := setup(t, "bgpr2", "bgpred", "10.232.2.0/24", "--no-snat")
	active := fromGateway(t, "bgpr2", gw+"/32")
	announced(t, "10.232.2.0/24", addrs[active])
	qn(t, "router", "clear-gateway", "bgpr2")
	withdrawn(t, "10.232.2.0/24")
	withdrawn(t, gw+"/32")
}

// TestGracefulRestart: while host c's daemon is down its floating IP's
// route stays in FRR (graceful restart: marked stale); after the restart it
// is there, fresh, and a disassociation still withdraws it.
func TestGracefulRestart(t *testing.T) {
	env.Require(t)
	setup(t, "bgpr3", "bgpgreen", "10.232.3.0/24")
	c := newContainer(t, "c", "gr-c", "bgpgreen")
	addr, distributed := associatedFIP(t, c.Port)
	if !distributed {
		t.Skipf("floating IP %s is not distributed to c", addr)
	}
	announced(t, addr+"/32", addrs["c"])

	d := daemons["c"]
	d.Stop()
	paths := rib(t)[addr+"/32"]
	if len(paths) != 1 || len(paths[0].Nexthops) == 0 || paths[0].Nexthops[0].IP != addrs["c"] {
		t.Fatalf("with c's daemon stopped FRR dropped %s (graceful restart): paths %+v", addr, paths)
	}
	t.Logf("daemon c stopped: FRR keeps %s, stale %v", addr, paths[0].Stale)
	if err := d.Start(); err != nil {
		t.Fatal(err)
	}
	if err := d.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	announced(t, addr+"/32", addrs["c"])
	if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool {
		p := rib(t)[addr+"/32"]
		return len(p) == 1 && !p[0].Stale
	}) {
		t.Errorf("after c's restart FRR's route to %s is still stale: %+v", addr, rib(t)[addr+"/32"])
	}
	qn(t, "fip", "disassociate", addr)
	withdrawn(t, addr+"/32")
}

// TestIPv6Gateway: on a dual-stack external network the router's IPv6
// gateway address is announced as a /128 (IPv6 unicast, MP-BGP over the
// IPv4 session) with the active chassis' next_hop6, and withdrawn with the
// gateway.
func TestIPv6Gateway(t *testing.T) {
	env.Require(t)
	qn(t, "network", "create", "bgpext6", "--external", "--physnet", nh.Vars["QN_PHYSNET"],
		"--subnet4", "198.51.100.0/24", "--gateway4", "198.51.100.1", "--fip-range", "198.51.100.100-198.51.100.199",
		"--subnet6", "2001:db8:ff::/64", "--gateway6", "2001:db8:ff::10")
	later(t, "network", "delete", "bgpext6")
	qn(t, "network", "create", "bgpv6net", "--subnet4", "10.232.6.0/24")
	later(t, "network", "delete", "bgpv6net")
	qn(t, "router", "create", "bgpr6")
	later(t, "router", "delete", "bgpr6")
	qn(t, "router", "attach", "bgpr6", "bgpv6net")
	later(t, "router", "detach", "bgpr6", "bgpv6net")
	qn(t, "router", "set-gateway", "bgpr6", "bgpext6")
	later(t, "router", "clear-gateway", "bgpr6")
	var r routerGW
	qnJSON(t, &r, "router", "show", "bgpr6")
	gw6 := ""
	for _, a := range r.Gateway.Addrs {
		if p, _, _ := strings.Cut(a, "/"); strings.Contains(p, ":") {
			gw6 = p
		}
	}
	if gw6 == "" {
		t.Fatalf("router bgpr6 has no IPv6 gateway address: %v", r.Gateway.Addrs)
	}
	var got []string
	var host string
	if !ovsdbtest.Until(context.Background(), 30*time.Second, func() bool {
		got, host = nextHops(t, gw6+"/128"), activeHost(t, "bgpr6")
		return len(got) == 1 && host != "" && got[0] == addrs6[host]
	}) {
		t.Fatalf("FRR's IPv6 next hops to %s/128 are %v, want only %s's %s", gw6, got, host, addrs6[host])
	}
	qn(t, "router", "clear-gateway", "bgpr6")
	withdrawn(t, gw6+"/128")
}
