package bgp_test

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// The host behind the ToR: its own namespace, cabled only to the outside
// (FRR's) namespace, in 203.0.113.0/24 with the outside as its default
// route.
const (
	behindIP  = "203.0.113.2"
	behindGW  = "203.0.113.1"
	behindDev = "bhx" // its cable's end in the outside namespace
	tcpPort   = 5080
)

// behindNS is the behind host's namespace.
func behindNS() string { return nh.NetnsPrefix + "-bh" }

// behindHost creates the host behind the ToR and makes the outside
// namespace route for it, the BGP routes being its only way to the
// external network: what arrives on its cable is looked up in the main
// table with every route of prefix length 24 or less ignored (the
// outside's own 192.0.2.0/24 on br-out among them), so only FRR's /32s
// (zebra, proto bgp) match, and anything else is unreachable.
func behindHost(e *harness.Env) error {
	ns, out := behindNS(), nh.Vars["QN_OUTSIDE_NETNS"]
	e.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	for _, args := range [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
		{"ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", behindDev, "netns", out},
		{"ip", "-n", ns, "addr", "add", behindIP + "/24", "dev", "eth0"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "route", "add", "default", "via", behindGW},
		{"ip", "netns", "exec", ns, "ethtool", "-K", "eth0", "tx", "off"},
		{"ip", "-n", out, "addr", "add", behindGW + "/24", "dev", behindDev},
		{"ip", "-n", out, "link", "set", behindDev, "up"},
		{"ip", "netns", "exec", out, "ethtool", "-K", behindDev, "tx", "off"},
		{"ip", "netns", "exec", out, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
		{"ip", "-n", out, "rule", "add", "pref", "100", "iif", behindDev, "lookup", "main", "suppress_prefixlength", "24"},
		{"ip", "-n", out, "rule", "add", "pref", "101", "iif", behindDev, "unreachable"},
	} {
		if o, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, o)
		}
	}
	return nil
}

// exposedRoute is host h's kernel route to addr/32 installed by its
// daemon (expose_routes: proto 250, onto br-ex), as `ip route show`'s line
// ("" : none). The daemon does all of the chassis' side: forwarding on,
// br-ex up, the /32 onto it; the test configures nothing there but the
// bgp0 cable (main_test.go), which is the host's own NIC.
func exposedRoute(t testing.TB, h, addr string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", nh.Var("QN_NETNS_", h), "route", "show", addr+"/32", "proto", "250").CombinedOutput()
	if err != nil {
		t.Fatalf("host %s: ip route show %s/32 proto 250: %v %s", h, addr, err, out)
	}
	return strings.TrimSpace(string(out))
}

// exposedOnlyOn waits until the daemon of host want (and of no other host)
// routes addr onto br-ex ("" : on none).
func exposedOnlyOn(t testing.TB, addr, want string) {
	t.Helper()
	got := map[string]string{}
	if !ovsdbtest.Until(context.Background(), 10*time.Second, func() bool {
		ok := true
		for _, h := range nh.Names() {
			got[h] = exposedRoute(t, h, addr)
			if (h == want) != strings.Contains(got[h], "dev br-ex") {
				ok = false
			}
		}
		return ok
	}) {
		t.Fatalf("kernel routes (proto 250) to %s by host: %q; want one onto br-ex on host %q alone", addr, got, want)
	}
}

// txPackets is how many packets host h's kernel sent on dev.
func txPackets(t testing.TB, h, dev string) int64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", nh.Var("QN_NETNS_", h), "cat", "/sys/class/net/"+dev+"/statistics/tx_packets").Output()
	if err != nil {
		t.Fatalf("host %s: tx_packets of %s: %v", h, dev, err)
	}
	v, _ := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	return v
}

// forwarded is how many IPv4 datagrams host h's kernel has forwarded
// (Ip ForwDatagrams of its namespace).
func forwarded(t testing.TB, h string) int64 {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", nh.Var("QN_NETNS_", h), "cat", "/proc/net/snmp").Output()
	if err != nil {
		t.Fatalf("host %s: /proc/net/snmp: %v", h, err)
	}
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "ForwDatagrams" && i < len(f) {
				v, _ := strconv.ParseInt(f[i], 10, 64)
				return v
			}
		}
	}
	t.Fatalf("host %s: no Ip ForwDatagrams in /proc/net/snmp:\n%s", h, out)
	return 0
}

// kernelRoute is the outside namespace's route to addr/32 ("" : none), as
// `ip route show`'s line.
func kernelRoute(t testing.TB, addr string) string {
	t.Helper()
	out, err := nh.Outside("ip", "route", "show", addr+"/32")
	if err != nil {
		t.Fatalf("ip route show %s/32 in the outside: %v %s", addr, err, out)
	}
	return strings.TrimSpace(out)
}

// fromBehind pings addr count times (0.1 s apart) from the behind host;
// nil when every one was answered.
func fromBehind(addr string, count int) error {
	out, err := exec.Command("ip", "netns", "exec", behindNS(), "ping", "-c", strconv.Itoa(count), "-i", "0.1", "-W", "1", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping -c %d %s from the host behind the ToR: %v\n%s", count, addr, err, out)
	}
	return nil
}

// TestReachThroughNextHop: a host behind FRR, whose only way to the
// external network is what FRR learnt by BGP, reaches a container's
// floating IP (ping and TCP) through the announced next hop: zebra
// installed the /32 via that chassis' address, that chassis' daemon
// (expose_routes) routed it onto br-ex, and that chassis' kernel (and no
// other) forwarded the packets into OVN through br-ex. After the disassociation
// the route is gone and so is the floating IP.
func TestReachThroughNextHop(t *testing.T) {
	env.Require(t)
	setup(t, "bgpr4", "bgppath", "10.232.4.0/24")
	c := newContainer(t, "b", "path-b", "bgppath")
	harness.ServeTCPAnswer(t, c.NS, tcpPort, "QNBGP "+c.IP+"\n")
	addr, distributed := associatedFIP(t, c.Port)
	if !distributed {
		t.Skipf("floating IP %s is not distributed to b", addr)
	}
	announced(t, addr+"/32", addrs["b"])
	want := "via " + addrs["b"]
	var route string
	if !ovsdbtest.Until(context.Background(), 10*time.Second, func() bool {
		route = kernelRoute(t, addr)
		return strings.Contains(route, want) && strings.Contains(route, "proto bgp")
	}) {
		t.Fatalf("zebra did not install %s/32 %s into the outside's kernel table: %q", addr, want, route)
	}
	t.Logf("the outside's kernel route: %s", route)
	exposedOnlyOn(t, addr, "b")
	t.Logf("host b's kernel route (its daemon's): %s", exposedRoute(t, "b", addr))

	before := map[string]int64{}
	for _, h := range nh.Names() {
		before[h] = forwarded(t, h)
	}
	brexTX := txPackets(t, "b", "br-ex")
	took := harness.Within10s(t, "the host behind the ToR pings "+addr, func() error { return fromBehind(addr, 1) })
	if err := fromBehind(addr, 5); err != nil {
		t.Fatal(err)
	}
	line, err := harness.TCPLine(behindNS(), addr, tcpPort, 3*time.Second)
	if err != nil || line != "QNBGP "+c.IP {
		t.Fatalf("TCP from the host behind the ToR to %s:%d: %q, %v; want the container's answer QNBGP %s", addr, tcpPort, line, err, c.IP)
	}
	for _, h := range nh.Names() {
		n := forwarded(t, h) - before[h]
		t.Logf("host %s forwarded %d datagrams", h, n)
		if h == "b" && n < 6 {
			t.Errorf("the next hop's host b forwarded %d datagrams, want the pings' and the TCP connection's (at least 6)", n)
		}
		if h != "b" && n != 0 {
			t.Errorf("host %s, not the next hop, forwarded %d datagrams", h, n)
		}
	}
	// Through the daemon's route onto br-ex, not back out of bgp0 (which
	// would reach OVN through the outside's bridge too).
	if n := txPackets(t, "b", "br-ex") - brexTX; n < 6 {
		t.Errorf("host b sent %d packets on br-ex, want the forwarded pings' and TCP segments (at least 6): its daemon's route missing?", n)
	}
	t.Logf("the host behind the ToR reached %s via %s (first answer after %v) and got %q over TCP", addr, addrs["b"], took.Round(time.Millisecond), line)

	qn(t, "fip", "disassociate", addr)
	withdrawn(t, addr+"/32")
	exposedOnlyOn(t, addr, "")
	if !ovsdbtest.Until(context.Background(), 10*time.Second, func() bool { return kernelRoute(t, addr) == "" }) {
		t.Fatalf("after the withdrawal the outside still routes %s: %s", addr, kernelRoute(t, addr))
	}
	if err := fromBehind(addr, 1); err == nil {
		t.Fatalf("after the disassociation the host behind the ToR still reaches %s", addr)
	}
	if line, err := harness.TCPLine(behindNS(), addr, tcpPort, time.Second); err == nil {
		t.Fatalf("after the disassociation TCP to %s:%d still answered %q", addr, tcpPort, line)
	}
}
