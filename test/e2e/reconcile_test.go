package e2e

import (
	"context"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestDualStack: a network with IPv4 and IPv6 gives both addresses; both ping.
func TestDualStack(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-dual", "--subnet4", "10.206.0.0/24", "--subnet6", "fd00:206::/64")
	c, _ := harness.NewCNI(t, env.Bin, harness.ConfList("dualnet", "e2e-dual", d.Socket, ""))
	nsA, nsB := harness.Netns(t, "da"), harness.Netns(t, "db")
	var v6 []string
	for _, x := range []struct{ id, ns string }{{"d-a", nsA}, {"d-b", nsB}} {
		r := harness.RT(x.id, x.ns, "eth0")
		res, err := c.Config.AddNetworkList(harness.Context(t), c.List, r)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Config.DelNetworkList(harness.Context(t), c.List, r) })
		cur := mustCurrent(t, res)
		if len(cur.IPs) != 2 || cur.IPs[1].Address.IP.To4() != nil {
			t.Fatalf("want an IPv4 and an IPv6 address, got %+v", cur.IPs)
		}
		v6 = append(v6, cur.IPs[1].Address.IP.String())
	}
	if err := harness.Ping(nsA, v6[1]); err != nil {
		t.Fatal(err)
	}
	if err := harness.Ping(nsB, v6[0]); err != nil {
		t.Fatal(err)
	}
}

// TestReconcileAfterCrash: what a vanished container or a half-deleted port
// leaves behind is removed when the daemon starts again.
func TestReconcileAfterCrash(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-rec", "--subnet4", "10.207.0.0/24")
	c, _ := harness.NewCNI(t, env.Bin, harness.ConfList("recnet", "e2e-rec", d.Socket, ""))
	nsA, nsB, nsC := harness.Netns(t, "ca"), harness.Netns(t, "cb"), harness.Netns(t, "cc")
	for _, x := range []struct{ id, ns string }{{"c-a", nsA}, {"c-b", nsB}, {"c-c", nsC}} {
		if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, harness.RT(x.id, x.ns, "eth0")); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { c.Config.DelNetworkList(harness.Context(t), c.List, harness.RT("c-c", nsC, "eth0")) })
	d.Kill() // SIGKILL: no chance to clean anything
	// Container a vanished without DEL: its netns (and so its veth) is gone.
	if out, err := exec.Command("ip", "netns", "del", harness.NsName(nsA)).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	// Container b's logical port was deleted behind the daemon's back.
	portsB := nbPortsOf(t, "c-b")
	if len(portsB) != 1 {
		t.Fatalf("ports of c-b: %v", portsB)
	}
	sbx.Tool(t, "ovn-nbctl", "lsp-del", portsB[0])
	// A crash right after the allocation (the logical port holds the
	// address) but before the veth existed.
	sbx.Tool(t, "ovn-nbctl", "lsp-add", "qn-e2e-rec", "qn-c-crashed", "--", "lsp-set-addresses", "qn-c-crashed", "0a:51:4e:00:99:99 10.207.0.99",
		"--", "set", "Logical_Switch_Port", "qn-c-crashed",
		"external_ids:quantumnet\\:network=e2e-rec", "external_ids:quantumnet\\:kind=container",
		"external_ids:quantumnet\\:chassis="+chassis, "external_ids:quantumnet\\:container-id=c-crashed",
		"external_ids:quantumnet\\:ifname=eth0", "external_ids:quantumnet\\:netns="+nsC,
		"external_ids:quantumnet\\:host-ifname=qncdeadbeef0000")

	d.MustStart()
	d.MustReady()
	if out := d.MustQnetctl("ipam", "show", "e2e-rec"); !regexp.MustCompile(`10\.207\.0\.0/24\s+\S+\s+256\s+2\s+`).MatchString(out) {
		t.Errorf("after restart the network should hold two addresses (c-c's and the resolver's):\n%s", out)
	}
	ports := sbx.NBPorts(t, "e2e-rec")
	if len(ports) != 1 || len(nbPortsOf(t, "c-c")) != 1 {
		t.Fatalf("after restart NB has %v, want only c-c's port", ports)
	}
	if p := sbx.OVSPorts(t); len(p) != 1 {
		t.Fatalf("after restart OVS has %v, want only c-c's port", p)
	}
	if l := sbx.HostLinks("qnc"); len(l) != 1 {
		t.Fatalf("after restart veths %v, want only c-c's", l)
	}
	if err := c.Config.CheckNetworkList(harness.Context(t), c.List, harness.RT("c-c", nsC, "eth0")); err != nil {
		t.Fatalf("surviving container fails CHECK: %v", err)
	}
	// The killed daemon's resolver endpoint died with it (its network
	// namespace was the daemon's); the new one replaced its OVS port: one
	// resolver port and one resolver veth, for the one network.
	resolverPorts := func() []string {
		var out []string
		for _, p := range strings.Fields(sbx.Tool(t, "ovs-vsctl", "list-ports", "br-int")) {
			if strings.HasPrefix(p, "qnd") {
				out = append(out, p)
			}
		}
		return out
	}
	ovsdbtest.Until(context.Background(), 5*time.Second, func() bool {
		return len(resolverPorts()) == 1 && len(sbx.HostLinks("qnd")) == 1
	})
	if p, l := resolverPorts(), sbx.HostLinks("qnd"); len(p) != 1 || len(l) != 1 || p[0] != l[0] {
		t.Fatalf("after restart resolver ports %v and veths %v, want one of each, the same", p, l)
	}
}

func nbPortsOf(t *testing.T, containerID string) []string {
	out := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:container-id="+containerID)
	return strings.Fields(out)
}
