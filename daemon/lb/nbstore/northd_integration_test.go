package nbstore

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/daemon/network"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationLoadBalancerNorthd: ovn-northd compiles what the store
// writes: ARP replies for the floating IP on the router's gateway port
// (so hosts outside reach the listeners there), the VIP balanced on the
// switch of a routed network, and service monitors for IPv4 and IPv6
// members probed from the sources the store reserved.
func TestIntegrationLoadBalancerNorthd(t *testing.T) {
	e := newRoutedEnv(t)
	e.SBCtl("chassis-add", "ch-a", "geneve", "127.0.0.2")
	e.SBCtl("set", "Chassis", "ch-a", "other_config:ovn-bridge-mappings=physnet1:br-ex")
	e.Network(extNet)
	e.Network(network.Input{Name: "blue", Subnet4: "10.0.0.0/24", Subnet6: "fd00:b::/64"})
	e.network("red", "10.1.0.0/24")
	e.must(e.rt.Create(e.ctx, "r1"))
	e.must(e.rt.Attach(e.ctx, "r1", "blue"))
	e.must(e.rt.Attach(e.ctx, "r1", "red"))
	e.must(e.rt.SetGateway(e.ctx, rtstore.GatewayRequest{Router: "r1", Network: "ext"}))
	e.must(e.rt.CreateFIP(e.ctx, "ext", mustAddr("192.0.2.60")))
	e.port("pb", "blue")
	pr := e.port("pr", "red")
	hc := &lb.HealthCheck{Interval: 5, Timeout: 2, Success: 2, Failure: 3}
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100"), FIP: mustAddr("192.0.2.60")}))
	e.must(e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}))
	e.must(e.m.AddMember(e.ctx, "web", "pr", 0))
	l, err := e.m.SetHealthCheck(e.ctx, "web", hc)
	if err != nil {
		t.Fatal(err)
	}
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "web6", Network: "blue", VIP: mustAddr("fd00:b::100")}))
	e.must(e.m.AddListener(e.ctx, "web6", lb.Listener{Port: 80, MemberPort: 8080}))
	e.must(e.m.AddMember(e.ctx, "web6", "pb", 0))
	e.must(e.m.SetHealthCheck(e.ctx, "web6", hc))
	e.Northd()
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		all := e.SBCtl("lflow-list")
		return lbARPSet.MatchString(all) && strings.Contains(all, "ip4.dst == 192.0.2.60 && tcp && tcp.dst == 80")
	}, "router flows for the floating IP")
	// The gateway port answers ARP for the router's load balancer VIPs
	// (an address set holding the floating IP), on the gateway chassis.
	flows := e.SBCtl("lflow-list", "qn-lr-r1")
	arp := lbARPSet.FindStringSubmatch(flows)
	if arp == nil || !strings.Contains(arp[0], "ARP reply") {
		t.Fatalf("no ARP reply for the router's LB VIPs on the gateway port:\n%s", grep(flows, "arp.op == 1"))
	}
	if set := e.SBCtl("--bare", "--columns=addresses", "find", "Address_Set", "name="+arp[1]); !strings.Contains(set, "192.0.2.60") {
		t.Fatalf("%s %q lacks the floating IP", arp[1], set)
	}
	if dnat := grep(flows, "ip4.dst == 192.0.2.60 && tcp && tcp.dst == 80"); !strings.Contains(dnat, "ct_lb(backends="+pr.IPs[0].String()+":8080)") {
		t.Fatalf("no DNAT of the floating IP to the member on the router:\n%s", grep(flows, "192.0.2.60"))
	}
	// A client on red is balanced on red's own switch.
	red := grep(e.SBCtl("lflow-list", "qn-red"), "ls_in_lb")
	if !strings.Contains(red, "ip4.dst == 10.0.0.100 && tcp.dst == 80") {
		t.Fatalf("red's switch does not balance the VIP:\n%s", red)
	}
	want := []string{pr.IPs[0].String() + " " + l.Sources["red"].String() + " pr", pb6(e) + " " + web6Source(e) + " pb"}
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		sm := e.SBCtl("--format=csv", "--no-headings", "--data=bare", "--columns=ip,src_ip,logical_port", "list", "Service_Monitor")
		sm = strings.ReplaceAll(sm, ",", " ")
		return strings.Contains(sm, want[0]) && strings.Contains(sm, want[1])
	}, "service monitors %v", want)
}

// lbARPSet is the gateway port's ARP reply for the address set of the
// router's load balancer VIPs (named after the datapath's tunnel key).
var lbARPSet = regexp.MustCompile(`inport == "qn-lrg-r1" && arp.op == 1 && arp.tpa == \$(_rtr_lb_\d+_ip4) && is_chassis_resident\("cr-qn-lrg-r1"\)\), action=\([^\n]*`)

func grep(s, w string) string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, w) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func pb6(e *routedEnv) string {
	p, _ := e.nb.LookupPort("pb")
	for _, a := range p.IPs {
		if a.Is6() {
			return a.String()
		}
	}
	return "none"
}

func web6Source(e *routedEnv) string {
	l, err := e.m.Get("web6")
	if err != nil {
		e.t.Fatal(err)
	}
	return l.Source.String()
}
