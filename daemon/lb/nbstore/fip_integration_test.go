package nbstore

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/daemon/network"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

var extNet = network.Input{Name: "ext", External: true, Physnet: "physnet1", Subnet4: "192.0.2.0/24",
	Gateway4: "192.0.2.1", FIPRange: "192.0.2.50-192.0.2.99"}

// fipEnv: ext (external), blue and red attached to r1 whose gateway is on
// ext, green on its own; floating IPs .50 and .51.
func fipEnv(t *testing.T) *routedEnv {
	e := newRoutedEnv(t)
	e.Network(extNet)
	e.network("blue", "10.0.0.0/24")
	e.network("green", "10.2.0.0/24")
	e.must(e.rt.Create(e.ctx, "r1"))
	e.must(e.rt.Attach(e.ctx, "r1", "blue"))
	e.must(e.rt.SetGateway(e.ctx, rtstore.GatewayRequest{Router: "r1", Network: "ext"}))
	for _, a := range []string{"192.0.2.60", "192.0.2.61"} {
		e.must(e.rt.CreateFIP(e.ctx, "ext", mustAddr(a)))
	}
	return e
}

// TestIntegrationLoadBalancerFIP: listeners on a floating IP (created
// with it or set later, taken off), FIPUsers, and every refusal: a
// missing floating IP, one used by another load balancer, associated with
// a port, with port forwards, a network whose router has no gateway there.
func TestIntegrationLoadBalancerFIP(t *testing.T) {
	e := fipEnv(t)
	fip, fip2 := mustAddr("192.0.2.60"), mustAddr("192.0.2.61")
	pb := e.port("pb", "blue")
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100"), FIP: fip}))
	e.must(e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}))
	e.must(e.m.AddMember(e.ctx, "web", "pb", 0))
	b := pb.IPs[0].String() + ":8080"
	e.wantVIPs(sortedMap(e.NBCtl("get", "Load_Balancer", "qn-lb-web", "vips"), `{"10.0.0.100:80"="`+b+`", "192.0.2.60:80"="`+b+`"}`))
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "vips"); !strings.Contains(got, `"192.0.2.60:80"="`+b+`"`) {
		t.Fatalf("vips %s lack the floating IP's", got)
	}
	e.must(e.m.SetHealthCheck(e.ctx, "web", &lb.HealthCheck{Interval: 5, Timeout: 2, Success: 2, Failure: 3}))
	if got := strings.Fields(e.NBCtl("--bare", "--columns=vip", "list", "Load_Balancer_Health_Check")); !slices.Contains(got, "192.0.2.60:80") || len(got) != 2 {
		t.Fatalf("health checks %v, want the VIP's and the floating IP's", got)
	}
	if got := e.m.FIPUsers(fip); !slices.Equal(got, []string{"web"}) {
		t.Fatalf("FIPUsers %v", got)
	}
	e.fipRefusals(fip, fip2)
	none := netip.Addr{}
	l, err := e.m.Update(e.ctx, "web", &none, nil)
	if err != nil || l.FIP.IsValid() {
		t.Fatalf("fip off: %+v %v", l, err)
	}
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "vips"); strings.Contains(got, "192.0.2.60") || len(e.m.FIPUsers(fip)) != 0 {
		t.Fatalf("after fip off: vips %s, users %v", got, e.m.FIPUsers(fip))
	}
	if got := strings.Fields(e.NBCtl("--bare", "--columns=vip", "list", "Load_Balancer_Health_Check")); !slices.Equal(got, []string{"10.0.0.100:80"}) {
		t.Fatalf("health checks after fip off %v", got)
	}
	l, err = e.m.Update(e.ctx, "web", &fip2, nil)
	if err != nil || l.FIP != fip2 || !slices.Equal(e.m.FIPUsers(fip2), []string{"web"}) {
		t.Fatalf("fip set: %+v %v", l, err)
	}
	// The floating-IP side refuses to delete it: through FIPUsers, and in
	// its transaction even without them (here: another daemon's view).
	e.Refused("delete a floating IP a load balancer uses", errs.Conflict, func() error { return e.rt.DeleteFIP(e.ctx, fip2) }, "192.0.2.61")
	// Deleted behind the load balancer's back (by hand): the next sync
	// takes it off.
	rs, err := e.nb.ReservationsOf(keys.OwnerFIP)
	e.must(nil, err)
	for _, r := range rs {
		if r.IP == fip2 {
			e.NBCtl("destroy", "DHCP_Options", r.UUID)
		}
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return e.m.fipGone(fip2) }, "floating IP gone from the cache")
	if wrote, err := e.m.Sync(e.ctx, "web"); err != nil || !wrote {
		t.Fatalf("sync after the floating IP's deletion: %v %v", wrote, err)
	}
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "vips"); strings.Contains(got, "192.0.2.61") || len(e.m.FIPUsers(fip2)) != 0 {
		t.Fatalf("after the floating IP's deletion: vips %s, users %v", got, e.m.FIPUsers(fip2))
	}
	e.must(nil, e.m.Delete(e.ctx, "web"))
	if got := e.NBCtl("--bare", "--columns=_uuid", "list", "Load_Balancer_Health_Check"); got != "" || len(e.m.FIPUsers(fip2)) != 0 {
		t.Fatalf("left after delete: %s %v", got, e.m.FIPUsers(fip2))
	}
}

func (e *routedEnv) fipRefusals(fip, fip2 netip.Addr) {
	create := func(name, netName string, f netip.Addr) func() error {
		return func() error {
			_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: name, Network: netName, VIP: mustAddr("10.0.0.120"), FIP: f})
			return err
		}
	}
	e.Refused("fip used by another load balancer", errs.InUse, create("web2", "blue", fip), "192.0.2.60", "web")
	e.Refused("missing fip", errs.NotFound, create("web2", "blue", mustAddr("192.0.2.77")), "192.0.2.77")
	e.Refused("network without the router's gateway", errs.Invalid, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "web2", Network: "green", VIP: mustAddr("10.2.0.100"), FIP: fip2})
		return err
	}, "green", "router")
	e.port("pa", "blue")
	e.must(e.rt.AssociateFIP(e.ctx, fip2, "pa", netip.Addr{}))
	e.Refused("fip associated with a port", errs.InUse, create("web2", "blue", fip2), "192.0.2.61", "pa")
	e.must(e.rt.DisassociateFIP(e.ctx, fip2))
	e.NBCtl("create", "Load_Balancer", "name="+keys.ForwardPrefix+"192.0.2.61-tcp", "protocol=tcp",
		"external_ids:\""+keys.Forward+"\"=192.0.2.61", `vips={"192.0.2.61:2222"="10.0.0.9:22"}`)
	e.Refused("fip with port forwards", errs.InUse, func() error {
		_, err := e.m.Update(e.ctx, "web", &fip2, nil)
		return err
	}, "192.0.2.61", "forward")
	e.NBCtl("--if-exists", "destroy", "Load_Balancer", keys.ForwardPrefix+"192.0.2.61-tcp")
	e.Refused("v6 fip", errs.Invalid, func() error {
		a := mustAddr("2001:db8::5")
		_, err := e.m.Update(e.ctx, "web", &a, nil)
		return err
	}, "IPv4")
}

// TestIntegrationLoadBalancerOptions: affinity at create and by update
// (options:affinity_timeout), weights other than 1 refused, listener
// names, service names, UDP health checks allowed and SCTP refused, an
// IPv6 VIP with members resolved to their IPv6 addresses.
func TestIntegrationLoadBalancerOptions(t *testing.T) {
	e := newRoutedEnv(t)
	e.Network(network.Input{Name: "blue", Subnet4: "10.0.0.0/24", Subnet6: "fd00:b::/64", DNSDomain: "blue.test"})
	e.port("p1", "blue")
	e.Refused("affinity out of range", errs.Invalid, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100"), Affinity: 70000})
		return err
	}, "affinity", "70000")
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100"), Affinity: 60}))
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "options:affinity_timeout"); got != `"60"` {
		t.Fatalf("affinity_timeout %s", got)
	}
	zero := 0
	e.must(e.m.Update(e.ctx, "web", nil, &zero))
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "options"); strings.Contains(got, "affinity") {
		t.Fatalf("options after affinity 0: %s", got)
	}
	e.Refused("weight 3", errs.Invalid, func() error {
		_, err := e.m.AddMember(e.ctx, "web", "p1", 3)
		return err
	}, "lb: member weight 3: OVN 23.03 load balancers have no member weights; only 1 is supported")
	e.must(e.m.AddMember(e.ctx, "web", "p1", 1))
	e.must(e.m.AddListener(e.ctx, "web", lb.Listener{Port: 443, MemberPort: 8443, Name: "https"}))
	e.Refused("duplicate listener name", errs.Conflict, func() error {
		_, err := e.m.AddListener(e.ctx, "web", lb.Listener{Port: 444, MemberPort: 8443, Name: "https"})
		return err
	}, "https")
	e.must(e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}))
	l, _ := e.m.Get("web")
	if got := e.m.DNSNames(&l); !slices.Equal(got, []string{"web.blue.test", "_80._tcp.web.blue.test", "_https._tcp.web.blue.test"}) {
		t.Fatalf("dns names %v", got)
	}
	if got, err := e.m.NetworkLBs("blue"); err != nil || len(got) != 1 || got[0].VIP != l.VIP || len(got[0].Listeners) != 2 {
		t.Fatalf("NetworkLBs %+v %v", got, err)
	}
	e.ipv6()
}

func (e *routedEnv) ipv6() {
	t := e.t
	var v6 string
	p, _ := e.nb.LookupPort("p1")
	for _, a := range p.IPs {
		if a.Is6() {
			v6 = a.String()
		}
	}
	if v6 == "" {
		t.Fatalf("p1 has no IPv6 address: %v", p.IPs)
	}
	e.Refused("v6 vip outside", errs.Invalid, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "web6", Network: "blue", VIP: mustAddr("fd00:c::5")})
		return err
	}, "fd00:c::5")
	l, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "web6", Network: "blue", VIP: mustAddr("fd00:b::100"), Protocol: "udp"})
	if err != nil || !l.Source.Is6() {
		t.Fatalf("create v6: %+v %v", l, err)
	}
	e.must(e.m.AddListener(e.ctx, "web6", lb.Listener{Port: 53, MemberPort: 5353}))
	e.must(e.m.AddMember(e.ctx, "web6", "p1", 0))
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web6", "vips"); got != `{"[fd00:b::100]:53"="[`+v6+`]:5353"}` {
		t.Fatalf("v6 vips %s", got)
	}
	e.Refused("v4 member address on a v6 load balancer", errs.Invalid, func() error {
		_, err := e.m.AddMember(e.ctx, "web6", "10.0.0.9", 0)
		return err
	}, "10.0.0.9")
	e.must(e.m.SetHealthCheck(e.ctx, "web6", &lb.HealthCheck{Interval: 5, Timeout: 2, Success: 2, Failure: 3}))
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web6", "ip_port_mappings"); got != `{"[`+v6+`]"="p1:[`+l.Source.String()+`]"}` {
		t.Fatalf("v6 ip_port_mappings %s", got)
	}
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "sc", Network: "blue", VIP: mustAddr("10.0.0.110"), Protocol: "sctp"}))
	e.Refused("sctp health check", errs.Invalid, func() error {
		_, err := e.m.SetHealthCheck(e.ctx, "sc", &lb.HealthCheck{Interval: 5, Timeout: 2, Success: 2, Failure: 3})
		return err
	}, "sctp")
}
