package nbstore

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// northd runs a real ovn-northd on the env's databases (ovn-trace too is
// needed by the tests that run it).
func (e *env) northd() {
	e.t.Helper()
	ovsdbtest.Require(e.t, "ovn-trace")
	e.Northd()
}

// trace runs ovn-trace --minimal on a switch's datapath.
func (e *env) trace(datapath, microflow string) string {
	e.t.Helper()
	cmd := exec.Command(ovsdbtest.Require(e.t, "ovn-trace"), "--db="+e.sbSrv.Remote, "--minimal", datapath, microflow)
	cmd.Env = append(os.Environ(), "OVN_RUNDIR="+filepath.Dir(e.sbSrv.Socket), "OVS_RUNDIR="+filepath.Dir(e.sbSrv.Socket))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("ovn-trace %s: %v\n%s", microflow, err, stderr.String())
	}
	return stdout.String()
}

// TestIntegrationNorthd: ovn-northd compiles what the store writes: two
// attached networks route to each other (IPv4 and IPv6, TTL decremented),
// the gateway port gets its chassisredirect port, SNAT and the floating
// IP's NAT become logical flows, and a packet to the outside from a port
// with a floating IP leaves through the gateway port with the floating IP
// as its source.
func TestIntegrationNorthd(t *testing.T) {
	e := newEnv(t)
	e.northd()
	e.chassis("ch-a", "10.0.0.1", "physnet1:br-ex")
	e.network(ext)
	e.network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24", Subnet6: "fd00:1::/64"})
	e.network(network.Input{Name: "red", Subnet4: "10.2.0.0/24", Subnet6: "fd00:2::/64"})
	if _, err := e.m.Create(e.ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"blue", "red"} {
		if _, err := e.m.Attach(e.ctx, "r1", n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.m.SetGateway(e.ctx, GatewayRequest{Router: "r1", Network: "ext"}); err != nil {
		t.Fatal(err)
	}
	pa, pr := e.port("pa", "blue", "ch-a"), e.port("pr", "red", "ch-a")
	fip := netip.MustParseAddr("192.0.2.70")
	if _, err := e.m.CreateFIP(e.ctx, "ext", fip); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.AssociateFIP(e.ctx, fip, "pa", netip.Addr{}); err != nil {
		t.Fatal(err)
	}
	sbctl := func(args ...string) string {
		return e.sbSrv.Run("ovn-sbctl", append([]string{"--db=" + e.sbSrv.Remote}, args...)...)
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		out, _ := e.sbSrv.TryRun("ovn-sbctl", "--db="+e.sbSrv.Remote, "--bare", "--columns=type", "find", "Port_Binding", "logical_port=cr-qn-lrg-r1")
		return out == "chassisredirect"
	}, "chassisredirect port of the gateway")
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		flows := sbctl("lflow-list", "qn-lr-r1")
		return strings.Contains(flows, "192.0.2.70") && strings.Contains(flows, "10.1.0.0/24")
	}, "NAT flows of r1")
	flows := sbctl("lflow-list", "qn-lr-r1")
	for _, want := range []string{"ct_snat_in_czone(192.0.2.50)", "ct_dnat_in_czone(" + pa.IPs[0].String() + ")", "is_chassis_resident(\"pa\")",
		"is_chassis_resident(\"cr-qn-lrg-r1\")"} {
		if !strings.Contains(flows, want) {
			t.Errorf("router flows lack %s", want)
		}
	}
	gwBlue := netsvc.RouterMAC("blue")
	// blue -> red, IPv4 and IPv6: routed (TTL decremented), delivered.
	for _, f := range []string{
		fmt.Sprintf(`inport == "pa" && eth.src == %s && eth.dst == %s && ip4.src == %s && ip4.dst == %s && ip.ttl == 64 && icmp4.type == 8`,
			pa.MAC, gwBlue, pa.IPs[0], pr.IPs[0]),
		fmt.Sprintf(`inport == "pa" && eth.src == %s && eth.dst == %s && ip6.src == %s && ip6.dst == %s && ip.ttl == 64 && icmp6.type == 128`,
			pa.MAC, gwBlue, pa.IPs[1], pr.IPs[1]),
	} {
		out := e.trace("qn-blue", f)
		if !strings.Contains(out, `output("pr")`) || !strings.Contains(out, "ip.ttl--") {
			t.Errorf("blue -> red not routed:\n%s\n%s", f, out)
		}
	}
	// pa -> outside: routed to the external network's gateway, leaving at
	// pa's chassis (distributed) from the floating IP's MAC, through the
	// localnet port.
	out := e.trace("qn-blue", fmt.Sprintf(`inport == "pa" && eth.src == %s && eth.dst == %s && ip4.src == %s && ip4.dst == 198.51.100.7 && ip.ttl == 64 && icmp4.type == 8`,
		pa.MAC, gwBlue, pa.IPs[0]))
	if !strings.Contains(out, `output("qn-ln-ext")`) || !strings.Contains(out, "eth.src = "+router.FloatingMAC(e.m.MACPrefix, fip)) ||
		!strings.Contains(out, "arp.tpa = 0xc0000201") {
		t.Errorf("pa -> outside does not leave at its chassis from the floating IP's MAC towards 192.0.2.1:\n%s", out)
	}
	if t.Failed() {
		t.Logf("router flows:\n%s", flows)
	}
}
