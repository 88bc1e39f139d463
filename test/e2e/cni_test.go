package e2e

import (
	"errors"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/test/harness"
)

func cniCode(err error) uint {
	var e *types.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func addrOf(t *testing.T, r types.Result) string {
	t.Helper()
	res, err := current.NewResultFromResult(r)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.IPs) != 1 {
		t.Fatalf("result has %d IPs, want 1: %+v", len(res.IPs), res)
	}
	return res.IPs[0].Address.IP.String()
}

// TestContainersPingThroughOVN is the main user story: two containers on one
// network reach each other; CHECK passes; DEL twice; nothing is left.
func TestContainersPingThroughOVN(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-blue", "--subnet4", "10.201.0.0/24", "--mtu", "1400")

	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("bluenet", "e2e-blue", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	nsA, nsB := harness.Netns(t, "a"), harness.Netns(t, "b")
	rtA, rtB := harness.RT("ctr-a", nsA, "eth0"), harness.RT("ctr-b", nsB, "eth0")
	ipA, ipB := addPingPair(t, c, rtA, rtB)
	checkContainerLink(t, nsA)
	checkPortsBound(t, d, "e2e-blue")

	if err := c.Config.CheckNetworkList(harness.Context(t), c.List, rtA); err != nil {
		t.Fatalf("CHECK: %v", err)
	}
	// Deleting a network with ports is refused.
	if out, err := d.Qnetctl("network", "delete", "e2e-blue"); err == nil || !strings.Contains(out, "port") {
		t.Fatalf("network delete with ports: err=%v out=%s", err, out)
	}

	hostBefore := sbx.HostLinks("qnc")
	for i := 0; i < 2; i++ {
		if err := c.Config.DelNetworkList(harness.Context(t), c.List, rtA); err != nil {
			t.Fatalf("DEL a #%d: %v", i+1, err)
		}
	}
	if err := c.Config.CheckNetworkList(harness.Context(t), c.List, rtA); err == nil {
		t.Fatal("CHECK after DEL passed")
	}
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, rtB); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, "e2e-blue", hostBefore, nsA, ipA, ipB)
	// DEL of something never created, without a netns, succeeds.
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("never", "", "eth0")); err != nil {
		t.Fatalf("DEL of unknown attachment: %v", err)
	}
	d.MustQnetctl("network", "delete", "e2e-blue")
}

// addPingPair ADDs two containers, checks they got different addresses and
// ping each other, and returns their addresses.
func addPingPair(t *testing.T, c *harness.CNI, rtA, rtB *libcni.RuntimeConf) (ipA, ipB string) {
	t.Helper()
	resA, err := c.Config.AddNetworkList(harness.Context(t), c.List, rtA)
	if err != nil {
		t.Fatalf("ADD a: %v", err)
	}
	resB, err := c.Config.AddNetworkList(harness.Context(t), c.List, rtB)
	if err != nil {
		t.Fatalf("ADD b: %v", err)
	}
	ipA, ipB = addrOf(t, resA), addrOf(t, resB)
	if ipA == ipB {
		t.Fatalf("both containers got %s", ipA)
	}
	if err := harness.Ping(rtA.NetNS, ipB); err != nil {
		t.Fatal(err)
	}
	if err := harness.Ping(rtB.NetNS, ipA); err != nil {
		t.Fatal(err)
	}
	return ipA, ipB
}

// checkContainerLink: the container sees the MTU of the network (1400) and
// TX checksum offload is off.
func checkContainerLink(t *testing.T, ns string) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "exec", harness.NsName(ns), "ip", "-o", "link", "show", "eth0").CombinedOutput()
	if !strings.Contains(string(out), "mtu 1400") {
		t.Errorf("eth0 in container: %s; want mtu 1400", out)
	}
	out, _ = exec.Command("ip", "netns", "exec", harness.NsName(ns), "ethtool", "-k", "eth0").CombinedOutput()
	if !strings.Contains(string(out), "tx-checksum-ip-generic: off") {
		t.Errorf("TX checksum offload still on in the container:\n%s", out)
	}
}

// checkPortsBound: the network's two LSPs are pinned to this chassis and
// bound to it.
func checkPortsBound(t *testing.T, d *harness.Daemon, network string) {
	t.Helper()
	ports := sbx.NBPorts(t, network)
	if len(ports) != 2 {
		t.Fatalf("NB has ports %v, want 2", ports)
	}
	for _, p := range ports {
		if rc := sbx.Tool(t, "ovn-nbctl", "get", "Logical_Switch_Port", p, "options:requested-chassis"); strings.Trim(rc, `"`) != chassis {
			t.Errorf("port %s requested-chassis %s", p, rc)
		}
	}
	if out := d.MustQnetctl("port", "list", "--network", network); strings.Count(out, chassis) < 4 {
		t.Errorf("qnetctl port list does not show both ports bound to %s:\n%s", chassis, out)
	}
}

// checkNothingLeft: after the DELs no logical port, OVS port, host veth,
// container address or NB address is left.
func checkNothingLeft(t *testing.T, network string, hostBefore []string, nsA, ipA, ipB string) {
	t.Helper()
	if p := sbx.NBPorts(t, network); len(p) != 0 {
		t.Errorf("logical ports left: %v", p)
	}
	if p := sbx.OVSPorts(t); len(p) != 0 {
		t.Errorf("OVS ports left on br-int: %v", p)
	}
	if l := sbx.HostLinks("qnc"); len(l) != 0 {
		t.Errorf("host veths left: %v (before DEL: %v)", l, hostBefore)
	}
	out, _ := exec.Command("ip", "netns", "exec", harness.NsName(nsA), "ip", "-o", "addr", "show").CombinedOutput()
	if strings.Contains(string(out), ipA) {
		t.Errorf("address %s still in container a:\n%s", ipA, out)
	}
	if addrs := strings.Fields(sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=addresses", "list", "Logical_Switch_Port")); slices.Contains(addrs, ipA) || slices.Contains(addrs, ipB) {
		t.Errorf("addresses still held in NB: %s", addrs)
	}
}

// TestDaemonDownAndRestart: ADD with the daemon stopped returns 11 and leaves
// nothing; containers keep working across a daemon restart; a new ADD works.
func TestDaemonDownAndRestart(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-red", "--subnet4", "10.202.0.0/24")
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("rednet", "e2e-red", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	nsA, nsB, nsC := harness.Netns(t, "ra"), harness.Netns(t, "rb"), harness.Netns(t, "rc")
	resA, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("r-a", nsA, "eth0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("r-a", nsA, "eth0")) })
	resB, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("r-b", nsB, "eth0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("r-b", nsB, "eth0")) })

	d.Stop()
	nbBefore, ovsBefore := sbx.NBPorts(t, "e2e-red"), sbx.OVSPorts(t)
	_, err = c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("r-c", nsC, "eth0"))
	if cniCode(err) != 11 {
		t.Fatalf("ADD with daemon down: %v (code %d), want code 11", err, cniCode(err))
	}
	if err := c.Config.GetStatusNetworkList(harness.Context(t), c.List); cniCode(err) != 11 {
		t.Fatalf("STATUS with daemon down: %v, want code 11", err)
	}
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("r-c", nsC, "eth0")); err != nil {
		t.Fatalf("DEL with daemon down: %v", err)
	}
	if !slices.Equal(sbx.NBPorts(t, "e2e-red"), nbBefore) || !slices.Equal(sbx.OVSPorts(t), ovsBefore) {
		t.Fatal("ADD with the daemon down changed NB or OVS")
	}
	out, _ := exec.Command("ip", "netns", "exec", harness.NsName(nsC), "ip", "-o", "link").CombinedOutput()
	if strings.Contains(string(out), "eth0") {
		t.Fatalf("ADD with the daemon down left an interface:\n%s", out)
	}
	// Existing containers keep pinging while the daemon is down.
	if err := harness.Ping(nsA, addrOf(t, resB)); err != nil {
		t.Fatalf("with daemon down: %v", err)
	}

	d.MustStart()
	d.MustReady()
	if err := harness.Ping(nsB, addrOf(t, resA)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	_, err = c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("r-c", nsC, "eth0"))
	if err != nil {
		t.Fatalf("ADD after restart: %v", err)
	}
	t.Cleanup(func() { c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("r-c", nsC, "eth0")) })
	if err := harness.Ping(nsC, addrOf(t, resA)); err != nil {
		t.Fatal(err)
	}
	if err := c.Config.GetStatusNetworkList(harness.Context(t), c.List); err != nil {
		t.Fatalf("STATUS when ready: %v", err)
	}
}

// TestStatusNotReady: a daemon that cannot reach Northbound answers STATUS
// with 50 and ADD with 11, and creates nothing.
func TestStatusNotReady(t *testing.T) {
	env.Require(t)
	d := launchWith(t, func(c *harness.DaemonConfig) { c.NB = "unix:/nonexistent/qn-nb.sock" })
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("n", "e2e-none", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Config.GetStatusNetworkList(harness.Context(t), c.List); cniCode(err) != 50 || !strings.Contains(err.Error(), "Northbound") {
		t.Fatalf("STATUS: %v, want code 50 naming Northbound", err)
	}
	ns := harness.Netns(t, "nr")
	if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("nr", ns, "eth0")); cniCode(err) != 11 {
		t.Fatalf("ADD: %v, want code 11", err)
	}
	if l := sbx.HostLinks("qnc"); len(l) != 0 {
		t.Fatalf("links created: %v", l)
	}
}

// TestBadConfigs: malformed or incomplete configs and unknown networks get
// errors naming the problem, and create nothing.
func TestBadConfigs(t *testing.T) {
	d := readyDaemon(t)
	ns := harness.Netns(t, "bad")
	before := sbx.OVSPorts(t)
	for _, tc := range []struct {
		name, stdin, want string
		code              uint
	}{
		{"unknown network", `{"cniVersion":"1.1.0","name":"x","type":"quantumnet","network":"nosuchnet","socket":"` + d.Socket + `"}`, `"nosuchnet" does not exist`, 102},
		{"malformed JSON", `{"cniVersion":"1.1.0","name":"x","type":"quantumnet",`, "network config", 6},
		{"missing network", `{"cniVersion":"1.1.0","name":"x","type":"quantumnet","socket":"` + d.Socket + `"}`, "network: required", 7},
		{"bad requested IP", `{"cniVersion":"1.1.0","name":"x","type":"quantumnet","network":"e2e-bad","socket":"` + d.Socket + `","runtimeConfig":{"ips":["10.9.9.9/24"]}}`, "10.9.9.9 is outside the allocation range", 7},
		{"bad timeout", `{"cniVersion":"1.1.0","name":"x","type":"quantumnet","network":"e2e-bad","timeout":"soon"}`, "timeout", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "bad requested IP" {
				d.MustQnetctl("network", "create", "e2e-bad", "--subnet4", "10.203.0.0/24")
				defer d.Qnetctl("network", "delete", "e2e-bad")
			}
			cmd := exec.Command(env.Bin + "/quantumnet")
			cmd.Env = []string{"CNI_COMMAND=ADD", "CNI_CONTAINERID=bad", "CNI_NETNS=" + ns, "CNI_IFNAME=eth0", "CNI_PATH=" + env.Bin}
			cmd.Stdin = strings.NewReader(tc.stdin)
			out, err := cmd.Output()
			if err == nil {
				t.Fatalf("ADD succeeded: %s", out)
			}
			e := &types.Error{}
			if jerr := jsonUnmarshal(out, e); jerr != nil {
				t.Fatalf("stdout is not a CNI error: %q", out)
			}
			if e.Code != tc.code || !strings.Contains(e.Msg+" "+e.Details, tc.want) {
				t.Fatalf("got code %d %q, want code %d containing %q", e.Code, e.Msg, tc.code, tc.want)
			}
		})
	}
	if after := sbx.OVSPorts(t); !slices.Equal(after, before) {
		t.Fatalf("OVS ports changed: %v -> %v", before, after)
	}
	if l := sbx.HostLinks("qnc"); len(l) != 0 {
		t.Fatalf("links created: %v", l)
	}
	out, _ := exec.Command("ip", "netns", "exec", harness.NsName(ns), "ip", "-o", "link").CombinedOutput()
	if strings.Contains(string(out), "eth0") {
		t.Fatalf("an interface was created:\n%s", out)
	}
}

// TestRollbackAndRequestedAddress: a failing ADD (ifname taken inside the
// netns) leaves no LSP, OVS port or veth; a requested IP is honoured and a
// second request for it is refused.
func TestRollbackAndRequestedAddress(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-green", "--subnet4", "10.204.0.0/24")
	ns := harness.Netns(t, "rb")
	if out, err := exec.Command("ip", "netns", "exec", harness.NsName(ns), "ip", "link", "add", "eth0", "type", "veth", "peer", "name", "eth0peer").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	c, _ := harness.NewCNI(t, env.Bin, harness.ConfList("greennet", "e2e-green", d.Socket, ""))
	_, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("rb", ns, "eth0"))
	if err == nil || !strings.Contains(err.Error(), "eth0") {
		t.Fatalf("ADD into a taken ifname: %v", err)
	}
	wantAttached(t, t.Errorf, "after the failed ADD", "e2e-green", 0)

	cr, _ := harness.NewCNI(t, env.Bin, `{"cniVersion":"1.1.0","name":"greennet","plugins":[{"type":"quantumnet","network":"e2e-green","socket":"`+d.Socket+`","capabilities":{"ips":true,"mac":true}}]}`)
	ns1, ns2 := harness.Netns(t, "rq1"), harness.Netns(t, "rq2")
	r1 := harness.RT("rq1", ns1, "eth0")
	r1.CapabilityArgs = map[string]any{"ips": []string{"10.204.0.77/24"}, "mac": "0a:51:4e:00:00:77"}
	res, err := cr.Config.AddNetworkList(harness.Context(t), cr.List, r1)
	if err != nil {
		t.Fatalf("ADD with requested IP: %v", err)
	}
	t.Cleanup(func() { cr.Config.DelNetworkList(harness.Context(t), cr.List, r1) })
	if got := addrOf(t, res); got != "10.204.0.77" {
		t.Fatalf("got %s, want the requested 10.204.0.77", got)
	}
	cur, _ := current.NewResultFromResult(res)
	if cur.Interfaces[1].Mac != "0a:51:4e:00:00:77" {
		t.Fatalf("got MAC %s, want the requested one", cur.Interfaces[1].Mac)
	}
	r2 := harness.RT("rq2", ns2, "eth0")
	r2.CapabilityArgs = map[string]any{"ips": []string{"10.204.0.77/24"}}
	_, err = cr.Config.AddNetworkList(harness.Context(t), cr.List, r2)
	if cniCode(err) != 101 || !strings.Contains(err.Error(), "10.204.0.77") {
		t.Fatalf("second ADD of a taken IP: %v, want code 101 naming it", err)
	}
	if p := sbx.NBPorts(t, "e2e-green"); len(p) != 1 {
		t.Errorf("logical ports %v, want only the first", p)
	}
}

// wantAttached checks, when, that network has n logical ports, br-int n
// OVS ports and the host n veths; fail is t.Errorf or t.Fatalf.
func wantAttached(t *testing.T, fail func(format string, args ...any), when, network string, n int) {
	t.Helper()
	if p := sbx.NBPorts(t, network); len(p) != n {
		fail("%s: logical ports %v, want %d", when, p, n)
	}
	if p := sbx.OVSPorts(t); len(p) != n {
		fail("%s: OVS ports %v, want %d", when, p, n)
	}
	if l := sbx.HostLinks("qnc"); len(l) != n {
		fail("%s: veths %v, want %d", when, l, n)
	}
}

// TestGC removes every attachment not listed as valid, and only those.
func TestGC(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-gc", "--subnet4", "10.205.0.0/24")
	c, _ := harness.NewCNI(t, env.Bin, harness.ConfList("gcnet", "e2e-gc", d.Socket, ""))
	var keep []types.GCAttachment
	for i, id := range []string{"gc-1", "gc-2", "gc-3"} {
		ns := harness.Netns(t, id)
		if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT(id, ns, "eth0")); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			keep = append(keep, types.GCAttachment{ContainerID: id, IfName: "eth0"})
		}
	}
	if err := c.Config.GCNetworkList(harness.Context(t), c.List, &libcni.GCArgs{ValidAttachments: keep}); err != nil {
		t.Fatalf("GC: %v", err)
	}
	wantAttached(t, t.Fatalf, "after GC", "e2e-gc", 1)
	if err := c.Config.CheckNetworkList(harness.Context(t), c.List, harness.RT("gc-1", "/var/run/netns/"+harness.NetnsName("gc-1"), "eth0")); err != nil {
		t.Fatalf("kept attachment fails CHECK: %v", err)
	}
	if err := c.Config.GCNetworkList(harness.Context(t), c.List, &libcni.GCArgs{}); err != nil {
		t.Fatal(err)
	}
	if p := sbx.NBPorts(t, "e2e-gc"); len(p) != 0 {
		t.Fatalf("GC with no valid attachments left %v", p)
	}
}

// TestExhaustion: when a network has no free address left, ADD fails with
// QuantumNet's own code 100 and creates nothing; a freed address is used again.
func TestExhaustion(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-tiny", "--subnet4", "10.209.0.0/24", "--range4", "10.209.0.10-10.209.0.12", "--exclude", "10.209.0.11")
	c, _ := harness.NewCNI(t, env.Bin, harness.ConfList("tinynet", "e2e-tiny", d.Socket, ""))
	var got []string
	for _, id := range []string{"t-1", "t-2"} {
		res, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT(id, harness.Netns(t, id), "eth0"))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, addrOf(t, res))
	}
	if strings.Join(got, " ") != "10.209.0.10 10.209.0.12" {
		t.Fatalf("got %v, want .10 and .12 (.11 excluded)", got)
	}
	ports, links := sbx.OVSPorts(t), sbx.HostLinks("qnc")
	ns3 := harness.Netns(t, "t-3")
	_, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("t-3", ns3, "eth0"))
	if cniCode(err) != 100 || !strings.Contains(err.Error(), "no free address") {
		t.Fatalf("ADD on a full network: %v (code %d), want code 100", err, cniCode(err))
	}
	if p := sbx.NBPorts(t, "e2e-tiny"); len(p) != 2 {
		t.Fatalf("logical ports %v after the failed ADD", p)
	}
	if !slices.Equal(sbx.OVSPorts(t), ports) || !slices.Equal(sbx.HostLinks("qnc"), links) {
		t.Fatal("the failed ADD left an OVS port or a veth")
	}
	out := d.MustQnetctl("ipam", "show", "e2e-tiny")
	if !regexp.MustCompile(`10\.209\.0\.0/24\s+10\.209\.0\.10-10\.209\.0\.12\s+3\s+2\s+0\s+1`).MatchString(out) {
		t.Fatalf("ipam show:\n%s", out)
	}
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("t-1", "/var/run/netns/"+harness.NetnsName("t-1"), "eth0")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT("t-3", ns3, "eth0"))
	if err != nil || addrOf(t, res) != "10.209.0.10" {
		t.Fatalf("ADD after a DEL: %v %v", res, err)
	}
	for _, id := range []string{"t-2", "t-3"} {
		c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT(id, "/var/run/netns/"+harness.NetnsName(id), "eth0"))
	}
}
