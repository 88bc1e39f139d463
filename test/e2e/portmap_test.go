package e2e

import (
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// Host port mappings (CNI portMappings) end to end: the real plugin binary
// through libcni with the capability, the sandbox's chassis namespace as
// the host, and an "outside" namespace cabled to it by a veth standing for
// another machine.

const (
	pmHost4 = "192.0.2.1"  // the host's address on the outside link
	pmOut4  = "192.0.2.10" // the outside machine
	pmHost6 = "2001:db8:9::1"
	pmOut6  = "2001:db8:9::10"
)

// pmEnv is a daemon, a dual-stack network with the portMappings
// capability in its conflist, and the outside namespace.
type pmEnv struct {
	*sgEnv
	host, out string // namespace paths
}

func newPMEnv(t *testing.T, network, subnet4, subnet6 string) *pmEnv {
	e := newSGEnv(t, network, subnet4, subnet6)
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList(network+"-pm", network, e.d.Socket, `,"capabilities":{"portMappings":true}`))
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	pe := &pmEnv{sgEnv: e, host: "/var/run/netns/" + sbx.Netns, out: harness.Netns(t, "pmout")}
	pe.cable()
	return pe
}

// cable links the host and the outside namespace by a veth (removed at
// cleanup, with the outside namespace).
func (e *pmEnv) cable() {
	t := e.t
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	exec.Command("ip", "-n", sbx.Netns, "link", "del", "qnpm-h").Run()
	run("-n", sbx.Netns, "link", "add", "qnpm-h", "type", "veth", "peer", "name", "eth0", "netns", harness.NsName(e.out))
	t.Cleanup(func() { exec.Command("ip", "-n", sbx.Netns, "link", "del", "qnpm-h").Run() })
	for _, c := range [][]string{
		{"-n", sbx.Netns, "addr", "add", pmHost4 + "/24", "dev", "qnpm-h"},
		{"-n", sbx.Netns, "addr", "add", pmHost6 + "/64", "dev", "qnpm-h", "nodad"},
		{"-n", sbx.Netns, "link", "set", "qnpm-h", "up"},
		{"-n", harness.NsName(e.out), "addr", "add", pmOut4 + "/24", "dev", "eth0"},
		{"-n", harness.NsName(e.out), "addr", "add", pmOut6 + "/64", "dev", "eth0", "nodad"},
		{"-n", harness.NsName(e.out), "link", "set", "eth0", "up"},
		{"-n", harness.NsName(e.out), "link", "set", "lo", "up"},
	} {
		run(c...)
	}
}

// mapped attaches a container with port mappings; the CNI error if refused.
func (e *pmEnv) mapped(id string, mappings ...map[string]any) (ctr, error) {
	e.t.Helper()
	path := harness.Netns(e.t, id)
	r := harness.RT(id, path, "eth0")
	r.CapabilityArgs = map[string]any{"portMappings": mappings}
	res, err := e.c.Config.AddNetworkList(harness.Context(e.t), e.c.List, r)
	if err != nil {
		return ctr{}, err
	}
	del := func() error { return e.c.Config.DelNetworkList(harness.Context(e.t), e.c.List, r) }
	e.t.Cleanup(func() { del() })
	cur := mustCurrent(e.t, res)
	out := ctr{ns: path, del: del}
	for _, ip := range cur.IPs {
		if ip.Address.IP.To4() != nil {
			out.ip4 = ip.Address.IP.String()
		} else {
			out.ip6 = ip.Address.IP.String()
		}
	}
	return out, nil
}

func pm(host, cont int, proto string) map[string]any {
	return map[string]any{"hostPort": host, "containerPort": cont, "protocol": proto}
}

// iptablesS lists a chain in the host namespace ("" when it is missing).
func iptablesS(cmd, table, chain string) string {
	out, _ := exec.Command("ip", "netns", "exec", sbx.Netns, cmd, "-t", table, "-S", chain).CombinedOutput()
	return string(out)
}

// reach checks the mapping host:8080 -> container:80 from the host and
// from outside, TCP and UDP, both families.
func (e *pmEnv) reach(what string) {
	e.t.Helper()
	for _, from := range []struct{ name, ns string }{{"host", e.host}, {"outside", e.out}} {
		for _, dst := range []string{pmHost4, pmHost6} {
			eventually(e.t, fmt.Sprintf("%s: tcp %s:8080 from %s", what, dst, from.name), func() error { return tcpQuick(from.ns, dst, 8080) })
			allowed(e.t, fmt.Sprintf("%s: udp %s:8080 from %s", what, dst, from.name), udpEcho(from.ns, dst, 8080))
		}
	}
}

// check runs CNI CHECK of a mapped container.
func (e *pmEnv) check(id string, c ctr) error {
	r := harness.RT(id, c.ns, "eth0")
	r.CapabilityArgs = map[string]any{"portMappings": []map[string]any{pm(8080, 80, "tcp"), pm(8080, 80, "udp")}}
	return e.c.Config.CheckNetworkList(harness.Context(e.t), e.c.List, r)
}

// mgmtAddr is the IPv4 address of the management interface ifname.
func (e *pmEnv) mgmtAddr(ifname string) string {
	out, _ := exec.Command("ip", "-n", sbx.Netns, "-4", "-o", "addr", "show", "dev", ifname).CombinedOutput()
	f := strings.Fields(string(out))
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			return strings.TrimSuffix(f[i+1], "/32")
		}
	}
	return ""
}

// rebootLike kills the daemon and flushes the host's nat and filter
// tables (what a reboot does to them), then adds a stale rule of a
// container that no longer exists; the caller restarts the daemon.
func (e *pmEnv) rebootLike() {
	t := e.t
	t.Helper()
	e.d.Kill()
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, table := range []string{"nat", "filter"} {
			exec.Command("ip", "netns", "exec", sbx.Netns, cmd, "-t", table, "-F").Run()
			exec.Command("ip", "netns", "exec", sbx.Netns, cmd, "-t", table, "-X").Run()
		}
	}
	if s := iptablesS("iptables", "nat", "QN-HOSTPORTS"); strings.Contains(s, "DNAT") {
		t.Fatalf("flush left %s", s)
	}
	// And a stale rule of a container that no longer exists.
	for _, args := range [][]string{
		{"iptables", "-t", "nat", "-N", "QN-HOSTPORTS"},
		{"iptables", "-t", "nat", "-A", "QN-HOSTPORTS", "-p", "tcp", "-m", "tcp", "--dport", "9999", "-j", "DNAT", "--to-destination", "10.231.0.99:80"},
	} {
		if out, err := exec.Command("ip", append([]string{"netns", "exec", sbx.Netns}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
}

// notTenant checks that the host reaches neither an unmapped container nor
// a mapped one's address directly, that only the mapped container is
// routed through the management interface, and that no container gets into
// the host through it.
func (e *pmEnv) notTenant(c, other ctr) {
	t := e.t
	t.Helper()
	// The host is not a tenant: no way to the unmapped container, nor to
	// the mapped one's address directly.
	if err := tcpQuick(e.host, other.ip4, 80); err == nil {
		t.Fatal("the host reaches an unmapped container directly")
	}
	if err := tcpQuick(e.host, c.ip4, 80); err == nil {
		t.Fatal("the host reaches the mapped container's address directly (not DNATed)")
	}
	mg := sbx.HostLinks("qnm")
	if len(mg) != 1 {
		t.Fatalf("management interfaces: %v, want one", mg)
	}
	routes, _ := exec.Command("ip", "-n", sbx.Netns, "-4", "route", "show", "dev", mg[0]).CombinedOutput()
	if strings.TrimSpace(string(routes)) != c.ip4+" scope link src "+e.mgmtAddr(mg[0]) {
		t.Fatalf("routes through %s: %q, want only the mapped container's /32", mg[0], routes)
	}
	// Nor does the network get into the host through it.
	serveTCP(t, e.host, 7077)
	blocked(t, "container to the host through the management port", tcpOK(c.ns, e.mgmtAddr(mg[0]), 7077))
}

// latency logs the TCP connection setup time through the host port (from
// outside) against directly to the container's address (from a container
// on the same network).
func (e *pmEnv) latency(c, other ctr) {
	e.t.Helper()
	median := func(ns, addr string, port int) time.Duration {
		var ds []time.Duration
		for range 21 {
			start := time.Now()
			if err := tcpOK(ns, addr, port); err != nil {
				e.t.Fatalf("tcp %s:%d: %v", addr, port, err)
			}
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	e.t.Logf("TCP connect+echo, median of 21: through host port %s:8080 %v; direct to %s:80 %v",
		pmHost4, median(e.out, pmHost4, 8080), c.ip4, median(other.ns, c.ip4, 80))
}

func TestPortMapTraffic(t *testing.T) {
	e := newPMEnv(t, "e2e-pm", "10.231.0.0/24", "fd00:231::/64")
	c, err := e.mapped("pm1", pm(8080, 80, "tcp"), pm(8080, 80, "udp"))
	if err != nil {
		t.Fatalf("ADD with port mappings: %v", err)
	}
	other, err := e.mapped("pm2")
	if err != nil {
		t.Fatal(err)
	}
	serveTCP(t, c.ns, 80)
	serveUDP(t, c.ns, 80)
	serveTCP(t, other.ns, 80)
	e.reach("mapped")
	if s := iptablesS("iptables", "nat", "QN-HOSTPORTS"); !strings.Contains(s, "--dport 8080 -j DNAT --to-destination "+c.ip4+":80") {
		t.Fatalf("QN-HOSTPORTS:\n%s", s)
	}
	if s := iptablesS("ip6tables", "nat", "QN-HOSTPORTS"); !strings.Contains(s, "--to-destination ["+c.ip6+"]:80") {
		t.Fatalf("ip6tables QN-HOSTPORTS:\n%s", s)
	}
	t.Logf("host rules:\n%s%s%s", iptablesS("iptables", "nat", "QN-HOSTPORTS"), iptablesS("iptables", "nat", "QN-POSTROUTING"), iptablesS("iptables", "filter", "QN-MGMT"))
	e.notTenant(c, other)
	e.latency(c, other)
	// CHECK sees the mappings; it fails once a rule is lost.
	if err := e.check("pm1", c); err != nil {
		t.Fatalf("CHECK: %v", err)
	}
	exec.Command("ip", "netns", "exec", sbx.Netns, "iptables", "-t", "nat", "-F", "QN-HOSTPORTS").Run()
	if err := e.check("pm1", c); err == nil || !strings.Contains(err.Error(), "rule missing") {
		t.Fatalf("CHECK with the rules flushed: %v", err)
	}

	e.rebootLike()
	e.d.MustStart()
	e.d.MustReady()
	e.reach("after a restart with flushed tables")
	if s := iptablesS("iptables", "nat", "QN-HOSTPORTS"); strings.Contains(s, "9999") {
		t.Fatalf("a stale rule survived the start-up reconcile:\n%s", s)
	}

	// DEL: the rules, the routes and the management port go.
	if err := c.del(); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	if s := iptablesS("iptables", "nat", "QN-HOSTPORTS"); strings.Contains(s, "DNAT") {
		t.Fatalf("rules after DEL:\n%s", s)
	}
	if s := iptablesS("ip6tables", "nat", "QN-HOSTPORTS"); strings.Contains(s, "DNAT") {
		t.Fatalf("ip6tables rules after DEL:\n%s", s)
	}
	if err := tcpQuick(e.out, pmHost4, 8080); err == nil {
		t.Fatal("host port still reaches something after DEL")
	}
	for _, cmd := range []string{"iptables-save", "ip6tables-save"} {
		if out, _ := exec.Command("ip", "netns", "exec", sbx.Netns, cmd).CombinedOutput(); strings.Contains(string(out), "QN-") {
			t.Fatalf("%s after the last mapping went:\n%s", cmd, out)
		}
	}
	if mg := sbx.HostLinks("qnm"); len(mg) != 0 {
		t.Fatalf("management interfaces after the last mapping went: %v", mg)
	}
	for _, p := range sbx.NBPorts(t, "e2e-pm") {
		if strings.HasPrefix(p, "qn-mgmt-") {
			t.Fatalf("management port %s left in Northbound", p)
		}
	}
	if err := c.del(); err != nil {
		t.Fatalf("second DEL (idempotent): %v", err)
	}
}

func TestPortMapRefused(t *testing.T) {
	e := newPMEnv(t, "e2e-pmbad", "10.232.0.0/24", "fd00:232::/64")
	if _, err := e.mapped("pmb1", pm(8090, 80, "tcp")); err != nil {
		t.Fatal(err)
	}
	before := len(sbx.NBPorts(t, "e2e-pmbad"))
	for _, tc := range []struct {
		name string
		m    map[string]any
		code uint
		want string
	}{
		{"duplicate", pm(8090, 81, "tcp"), 101, "tcp 8090 is already mapped on this host by container pmb1/eth0"},
		{"port0", pm(0, 80, "tcp"), 7, "hostPort: 0"},
		{"port70000", pm(70000, 80, "tcp"), 7, "hostPort: 70000"},
		{"icmp", pm(8091, 80, "icmp"), 7, `protocol: "icmp"`},
		{"containerport", pm(8092, 0, "udp"), 7, "containerPort: 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.mapped("pmb-"+tc.name, tc.m)
			if err == nil {
				t.Fatal("accepted")
			}
			if code := cniCode(err); code != tc.code || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("code %d %v, want code %d containing %q", code, err, tc.code, tc.want)
			}
		})
	}
	if after := len(sbx.NBPorts(t, "e2e-pmbad")); after != before {
		t.Fatalf("refused ADDs left logical ports: %d -> %d", before, after)
	}
	if l := sbx.HostLinks("qnc"); len(l) != 1 {
		t.Fatalf("refused ADDs left veths: %v", l)
	}
	// Another protocol, or another host address, is not a conflict.
	if _, err := e.mapped("pmb2", pm(8090, 80, "udp")); err != nil {
		t.Fatalf("udp on a port mapped for tcp: %v", err)
	}
}

func TestPortMapSecurityGroup(t *testing.T) {
	e := newPMEnv(t, "e2e-pmsg", "10.233.0.0/24", "fd00:233::/64")
	e.group("pmsg", "ingress tcp 22")
	path := harness.Netns(t, "pmsg1")
	r := harness.RT("pmsg1", path, "eth0")
	r.Args = [][2]string{{"IgnoreUnknown", "1"}, {"SECURITY_GROUPS", "pmsg"}}
	r.CapabilityArgs = map[string]any{"portMappings": []map[string]any{pm(8088, 80, "tcp")}}
	if _, err := e.c.Config.AddNetworkList(harness.Context(t), e.c.List, r); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.c.Config.DelNetworkList(harness.Context(t), e.c.List, r) })
	serveTCP(t, path, 80)
	blocked(t, "host port into a group without a rule for it", tcpOK(e.out, pmHost4, 8088))
	e.d.MustQnetctl("sg", "rule", "add", "pmsg", "ingress tcp 80")
	eventually(t, "host port once the group allows tcp 80", func() error { return tcpQuick(e.out, pmHost4, 8088) })
	eventually(t, "from the host itself", func() error { return tcpQuick(e.host, pmHost4, 8088) })
}

// TestPortMapReconcileGone: a container that died while the daemon was
// down takes its rules and the network's management port with it at the
// next start.
func TestPortMapReconcileGone(t *testing.T) {
	e := newPMEnv(t, "e2e-pmgone", "10.234.0.0/24", "fd00:234::/64")
	c, err := e.mapped("pmg1", pm(8070, 80, "tcp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(sbx.HostLinks("qnm")) != 1 {
		t.Fatal("no management interface")
	}
	e.d.Kill()
	if out, err := exec.Command("ip", "netns", "del", harness.NsName(c.ns)).CombinedOutput(); err != nil {
		t.Fatalf("ip netns del: %v\n%s", err, out)
	}
	e.d.MustStart()
	e.d.MustReady()
	if s := iptablesS("iptables", "nat", "QN-HOSTPORTS"); strings.Contains(s, "8070") {
		t.Fatalf("rules of a dead container survived the start:\n%s", s)
	}
	if mg := sbx.HostLinks("qnm"); len(mg) != 0 {
		t.Fatalf("management interfaces without mappings: %v", mg)
	}
	for _, p := range sbx.NBPorts(t, "e2e-pmgone") {
		if strings.HasPrefix(p, "qn-mgmt-") {
			t.Fatalf("management port %s left in Northbound", p)
		}
	}
}
