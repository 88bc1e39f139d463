package northsouth_test

import (
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// The external network every test shares: the outside namespace's subnet,
// its 192.0.2.10 the upstream gateway, floating IPs from .100 to .199.
const (
	extNet    = "nsext"
	fipFirst  = "192.0.2.100"
	fipLast   = "192.0.2.199"
	outsideIP = "192.0.2.10"
)

// external creates the shared external network unless it exists (the last
// test deletes it).
func external(t *testing.T) {
	t.Helper()
	if _, err := daemons["a"].Qnetctl("network", "show", extNet); err == nil {
		return
	}
	qn(t, "network", "create", extNet, "--external", "--physnet", nh.Vars["QN_PHYSNET"],
		"--subnet4", "192.0.2.0/24", "--gateway4", outsideIP, "--fip-range", fipFirst+"-"+fipLast)
}

// network creates a tenant network, deleted when the test ends; more are
// more flags of network create (--subnet6 ...).
func network(t *testing.T, name, subnet4 string, more ...string) {
	t.Helper()
	qn(t, append([]string{"network", "create", name, "--subnet4", subnet4}, more...)...)
	later(t, "network", "delete", name)
}

// newRouter creates a router with the networks attached, deleted (and
// detached) when the test ends.
func newRouter(t *testing.T, name string, networks ...string) {
	t.Helper()
	qn(t, "router", "create", name)
	later(t, "router", "delete", name)
	for _, n := range networks {
		qn(t, "router", "attach", name, n)
		later(t, "router", "detach", name, n)
	}
}

// setGateway puts the router's gateway on the external network, cleared
// when the test ends, and returns the router's IPv4 address there once a
// chassis holds the gateway port.
func setGateway(t *testing.T, name string) (addr string, r router) {
	t.Helper()
	qn(t, "router", "set-gateway", name, extNet)
	later(t, "router", "clear-gateway", name)
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		r = showRouter(t, name)
		return r.Gateway != nil && r.Gateway.Active != ""
	}, "no active gateway chassis for "+name)
	for _, a := range r.Gateway.Addrs {
		if p, err := netip.ParsePrefix(a); err == nil && p.Addr().Is4() {
			addr = p.Addr().String()
		} else if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
			addr = ip.String()
		}
	}
	if addr == "" {
		t.Fatalf("router %s has no IPv4 address on %s: %v", name, extNet, r.Gateway.Addrs)
	}
	return addr, r
}

// TestRouted: two dual-stack networks on one router reach each other,
// routed (the TTL and hop limit decremented once), by ICMP over IPv4 and
// IPv6 and by TCP, without NAT; detached, they do not.
func TestRouted(t *testing.T) {
	requireRouter(t)
	network(t, "nsblue", "10.231.1.0/24", "--subnet6", "fd00:231:1::/64")
	network(t, "nsred", "10.231.2.0/24", "--subnet6", "fd00:231:2::/64")
	newRouter(t, "nsr1", "nsblue", "nsred")
	if r := showRouter(t, "nsr1"); !slices.Contains(r.Networks, "nsblue") || !slices.Contains(r.Networks, "nsred") {
		t.Fatalf("router show nsr1: networks %v", r.Networks)
	}
	blue := newContainer(t, "a", "rt-blue", "nsblue")
	red := newContainer(t, "c", "rt-red", "nsred")
	if ttl := pingTTL(t, red.NS, blue.IP, 20*time.Second); ttl != 63 {
		t.Errorf("red -> blue: reply TTL %d, want 63 (64, one router hop)", ttl)
	}
	if ttl := pingTTL(t, blue.NS, red.IP, 10*time.Second); ttl != 63 {
		t.Errorf("blue -> red: reply TTL %d, want 63", ttl)
	}
	if blue.IP6 == "" || red.IP6 == "" {
		t.Errorf("dual-stack containers without IPv6: blue %q, red %q", blue.IP6, red.IP6)
	} else if hl := pingTTL(t, red.NS, blue.IP6, 20*time.Second); hl != 63 {
		t.Errorf("red -> blue over IPv6: reply hop limit %d, want 63", hl)
	}
	serveTCP(t, blue.NS, 8080)
	if src := tcpSource(t, red.NS, blue.IP, 8080, 10*time.Second); src != red.IP {
		t.Errorf("TCP red -> blue: the server saw %s, want %s (routed, not NATed)", src, red.IP)
	}
	qn(t, "router", "detach", "nsr1", "nsred")
	unreachable(t, red, blue.IP, "after router detach nsr1 nsred, red still reaches blue")
}

// TestSNAT: a container behind a router with a gateway reaches the outside,
// which sees the router's external address; without the gateway it does not.
func TestSNAT(t *testing.T) {
	requireRouter(t)
	external(t)
	network(t, "nsgreen", "10.231.3.0/24")
	newRouter(t, "nssnat", "nsgreen")
	gw, r := setGateway(t, "nssnat")
	if !r.Gateway.SNAT || r.Gateway.Network != extNet {
		t.Errorf("router show nssnat: gateway %+v, want SNAT on %s", *r.Gateway, extNet)
	}
	if len(r.Gateway.Chassis) != len(nh.Names()) {
		t.Errorf("gateway chassis %+v, want all %d chassis (each has %s)", r.Gateway.Chassis, len(nh.Names()), nh.Vars["QN_PHYSNET"])
	}
	c := newContainer(t, "c", "snat", "nsgreen")
	serveTCP(t, nh.Vars["QN_OUTSIDE_NETNS"], 8081)
	if src := tcpSource(t, c.NS, outsideIP, 8081, 20*time.Second); src != gw {
		t.Errorf("TCP to the outside: the outside saw %s, want the router's %s", src, gw)
	}
	if ttl := pingTTL(t, c.NS, outsideIP, 10*time.Second); ttl != 63 {
		t.Errorf("ping to the outside: reply TTL %d, want 63", ttl)
	}
	qn(t, "router", "clear-gateway", "nssnat")
	unreachable(t, c, outsideIP, "after clear-gateway the container still reaches the outside")
}

// TestFloatingIP: the outside opens TCP to a floating IP and reaches the
// container behind it (seeing the outside's own address); the container's
// own connections leave with the floating IP; disassociated, it is gone.
func TestFloatingIP(t *testing.T) {
	requireRouter(t)
	external(t)
	network(t, "nsfipnet", "10.231.4.0/24")
	newRouter(t, "nsfipr", "nsfipnet")
	setGateway(t, "nsfipr")
	c := newContainer(t, "b", "fip", "nsfipnet")
	const addr = "192.0.2.150"
	qn(t, "fip", "create", extNet, "--address", addr)
	later(t, "fip", "delete", addr)
	qn(t, "fip", "associate", addr, c.Port)
	later(t, "fip", "disassociate", addr)
	var f fip
	qnJSON(t, &f, "fip", "show", addr)
	if f.Port != c.Port || f.FixedIP != c.IP || f.Router != "nsfipr" || f.Network != extNet || !f.Distributed {
		t.Errorf("fip show %s: %+v; want port %s, fixed IP %s, router nsfipr, distributed (every chassis has the physnet)", addr, f, c.Port, c.IP)
	}
	out := qn(t, "-o", "json", "port", "show", c.Port)
	if !strings.Contains(out, addr) {
		t.Errorf("port show %s does not list its floating IP %s:\n%s", c.Port, addr, out)
	}
	serveTCP(t, c.NS, 8082)
	if src := tcpSource(t, nh.Vars["QN_OUTSIDE_NETNS"], addr, 8082, 20*time.Second); src != outsideIP {
		t.Errorf("TCP from the outside to %s: the container saw %s, want %s", addr, src, outsideIP)
	}
	serveTCP(t, nh.Vars["QN_OUTSIDE_NETNS"], 8083)
	if src := tcpSource(t, c.NS, outsideIP, 8083, 10*time.Second); src != addr {
		t.Errorf("TCP from the container: the outside saw %s, want the floating IP %s", src, addr)
	}
	// A floating IP without --address comes from the range.
	before := fipAddrs(t)
	qn(t, "fip", "create", extNet)
	for _, a := range fipAddrs(t) {
		if !slices.Contains(before, a) {
			later(t, "fip", "delete", a)
			if ip := netip.MustParseAddr(a); ip.Less(netip.MustParseAddr(fipFirst)) || netip.MustParseAddr(fipLast).Less(ip) {
				t.Errorf("fip create %s gave %s, outside the range %s-%s", extNet, a, fipFirst, fipLast)
			}
		}
	}
	qn(t, "fip", "disassociate", addr)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		_, err := exec.Command("ip", "netns", "exec", nh.Vars["QN_OUTSIDE_NETNS"], "python3", "-c", tcpClient, addr, "8082", "1").CombinedOutput()
		return err != nil
	}, "after fip disassociate the outside still reaches the container")
}

// fipAddrs lists the addresses of `fip list` (a JSON array, or an object
// holding floating_ips).
func fipAddrs(t *testing.T) []string {
	t.Helper()
	out := qn(t, "-o", "json", "fip", "list")
	var l []fip
	if strings.HasPrefix(strings.TrimSpace(out), "{") {
		var o struct {
			FIPs []fip `json:"floating_ips"`
		}
		decode(t, out, &o)
		l = o.FIPs
	} else {
		decode(t, out, &l)
	}
	var a []string
	for _, f := range l {
		a = append(a, f.Address)
	}
	return a
}
