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

// fipRange are prefixes covering the external network's floating IP range
// (fipFirst-fipLast: 192.0.2.100-199).
var fipRange = []string{"192.0.2.96/27", "192.0.2.128/26", "192.0.2.192/29"}

// forwardIntoOVN configures host h like a hypervisor whose BGP next hop
// (bgp0, the NIC facing the ToR) is not on the provider bridge: it
// forwards IPv4, and routes the floating IP range into br-ex, the
// physnet's bridge, where the kernel ARPs for the floating IP and OVN
// (the chassis where it lives) answers. Idempotent (a failover test
// restarts a chassis' ovs-vswitchd, which recreates br-ex's device).
func forwardIntoOVN(t testing.TB, h string) {
	t.Helper()
	ns := nh.Var("QN_NETNS_", h)
	cmds := [][]string{
		{"ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.bgp0.rp_filter=0"},
		{"ip", "-n", ns, "link", "set", "br-ex", "up"},
	}
	for _, p := range fipRange {
		cmds = append(cmds, []string{"ip", "-n", ns, "route", "replace", p, "dev", "br-ex"})
	}
	for _, args := range cmds {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("host %s: %s: %v: %s", h, strings.Join(args, " "), err, out)
		}
	}
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
// installed the /32 via that chassis' address, and that chassis' kernel
// (and no other) forwarded the packets into OVN. After the disassociation
// the route is gone and so is the floating IP.
func TestReachThroughNextHop(t *testing.T) {
	env.Require(t)
	setup(t, "bgpr4", "bgppath", "10.232.4.0/24")
	c := newContainer(t, "b", "path-b", "bgppath")
	harness.ServeTCPAnswer(t, c.NS, tcpPort, "QNBGP "+c.IP+"\n")
	for _, h := range nh.Names() {
		forwardIntoOVN(t, h)
	}
	addr := newFIP(t)
	qn(t, "fip", "associate", addr, c.Port)
	later(t, "fip", "disassociate", addr)
	var f fip
	qnJSON(t, &f, "fip", "show", addr)
	if !f.Distributed {
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

	before := map[string]int64{}
	for _, h := range nh.Names() {
		before[h] = forwarded(t, h)
	}
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
	t.Logf("the host behind the ToR reached %s via %s (first answer after %v) and got %q over TCP", addr, addrs["b"], took.Round(time.Millisecond), line)

	qn(t, "fip", "disassociate", addr)
	withdrawn(t, addr+"/32")
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
