package nbstore

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// env is a real Northbound (and, if asked, Southbound) ovsdb-server with
// the stores wired as in main (daemon/stacktest) and the load balancer
// store under test.
type env struct {
	*stacktest.Stack
	t     testing.TB
	ctx   context.Context
	nb    *ovn.NB
	nets  *netstore.Manager
	ports *lport.Ports
	m     *Manager
}

func newEnv(t testing.TB) *env { return stackEnv(t, false) }

// stackEnv is env with a Southbound too if sb (the store under test does
// not use it: a test that wants it sets m.SB).
func stackEnv(t testing.TB, sb bool) *env {
	s := stacktest.New(t, sb)
	m := &Manager{NB: s.NB, Alloc: s.Alloc, Log: ovsdbtest.Logger(t), MonitorMAC: "0a:51:4e:00:00:01"}
	s.Wire(m, nil)
	return &env{Stack: s, t: t, ctx: s.Ctx, nb: s.NB, nets: s.Nets, ports: s.Ports, m: m}
}

// network creates a network with its services and an IPv4 subnet.
func (e *env) network(name, subnet string) {
	e.t.Helper()
	e.Network(network.Input{Name: name, Subnet4: subnet})
}

// port creates a container's port on a network.
func (e *env) port(name, netName string) ovn.Port {
	e.t.Helper()
	return e.Port(name, netName, "")
}

func (e *env) wantVIPs(want string) {
	e.t.Helper()
	ovsdbtest.Eventually(e.t, 5*time.Second, func() bool {
		return e.NBCtl("get", "Load_Balancer", "qn-lb-web", "vips") == want
	}, "vips %s", want)
}

func TestIntegrationLoadBalancer(t *testing.T) {
	e := newEnv(t)
	e.network("blue", "10.0.0.0/24")
	p1, p2 := e.port("p1", "blue"), e.port("p2", "blue")
	vip := mustAddr("10.0.0.100")
	l, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: vip})
	if err != nil || l.Protocol != "tcp" {
		t.Fatalf("create: %+v %v", l, err)
	}
	lbUUID := e.NBCtl("--bare", "--columns=_uuid", "find", "Load_Balancer", "name=qn-lb-web")
	if got := e.NBCtl("get", "Logical_Switch", "qn-blue", "load_balancer"); !strings.Contains(got, lbUUID) {
		t.Fatalf("switch load_balancer %s, want %s", got, lbUUID)
	}
	if got := e.NBCtl("--bare", "--columns=load_balancer", "find", "Logical_Router", "load_balancer{>=}"+lbUUID); got == "" {
		t.Fatal("the network's router does not carry the load balancer")
	}
	if got := e.NBCtl("--bare", "--columns=external_ids", "find", "DHCP_Options", "external_ids:\"quantumnet:owner\"=\"lb:web\""); !strings.Contains(got, "10.0.0.100") {
		t.Fatalf("vip reservation: %q", got)
	}
	e.refusals(p1)
	if _, err := e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}); err != nil {
		t.Fatal(err)
	}
	e.wantVIPs(`{"10.0.0.100:80"=""}`)
	for _, mb := range []string{"p1", "p2", "10.0.0.50"} {
		if _, err := e.m.AddMember(e.ctx, "web", mb, 0); err != nil {
			t.Fatal(err)
		}
	}
	a1, a2 := p1.IPs[0].String(), p2.IPs[0].String()
	e.wantVIPs(`{"10.0.0.100:80"="` + sortedJoin(a1+":8080", a2+":8080", "10.0.0.50:8080") + `"}`)
	if _, err := e.m.SetMemberEnabled(e.ctx, "web", "p2", false); err != nil {
		t.Fatal(err)
	}
	e.wantVIPs(`{"10.0.0.100:80"="` + sortedJoin(a1+":8080", "10.0.0.50:8080") + `"}`)
	if _, err := e.m.SetMemberEnabled(e.ctx, "web", "p2", true); err != nil {
		t.Fatal(err)
	}
	e.wantVIPs(`{"10.0.0.100:80"="` + sortedJoin(a1+":8080", a2+":8080", "10.0.0.50:8080") + `"}`)
	e.healthCheck(a1, a2)
	e.deleteAll()
}

func (e *env) refusals(p1 ovn.Port) {
	t := e.t
	e.Refused("vip outside", errs.Invalid, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "x", Network: "blue", VIP: mustAddr("10.9.0.5")})
		return err
	}, "vip", "10.9.0.5")
	e.Refused("vip of a port", errs.Conflict, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "x", Network: "blue", VIP: p1.IPs[0]})
		return err
	}, "vip", p1.IPs[0].String())
	e.Refused("vip of another lb", errs.Conflict, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "x", Network: "blue", VIP: mustAddr("10.0.0.100")})
		return err
	}, "vip", "10.0.0.100")
	e.Refused("bad protocol", errs.Invalid, func() error {
		_, err := e.m.Create(e.ctx, lb.LoadBalancer{Name: "x", Network: "blue", VIP: mustAddr("10.0.0.101"), Protocol: "icmp"})
		return err
	}, "protocol")
	if _, err := e.m.AddListener(e.ctx, "web", lb.Listener{Port: 443, MemberPort: 8443}); err != nil {
		t.Fatal(err)
	}
	e.Refused("duplicate listener", errs.Conflict, func() error {
		_, err := e.m.AddListener(e.ctx, "web", lb.Listener{Port: 443, MemberPort: 1})
		return err
	}, "443")
	e.Refused("listener out of range", errs.Invalid, func() error {
		_, err := e.m.AddListener(e.ctx, "web", lb.Listener{Port: 70000, MemberPort: 1})
		return err
	}, "listener port", "70000")
	if _, err := e.m.DeleteListener(e.ctx, "web", 443); err != nil {
		t.Fatal(err)
	}
	e.Refused("member unknown port", errs.NotFound, func() error {
		_, err := e.m.AddMember(e.ctx, "web", "nope", 0)
		return err
	}, "nope")
	e.Refused("network in use", errs.InUse, func() error { return e.nets.Delete(e.ctx, "blue") }, "blue", "web")
}

func (e *env) healthCheck(a1, a2 string) {
	t := e.t
	if _, err := e.m.SetHealthCheck(e.ctx, "web", &lb.HealthCheck{Interval: 5, Timeout: 2, Success: 2, Failure: 3}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		return e.NBCtl("--bare", "--columns=vip", "find", "Load_Balancer_Health_Check") == "10.0.0.100:80"
	}, "health check row")
	opts := e.NBCtl("--bare", "--columns=options", "find", "Load_Balancer_Health_Check")
	for _, w := range []string{"interval=5", "timeout=2", "success_count=2", "failure_count=3"} {
		if !strings.Contains(opts, w) {
			t.Fatalf("health check options %q lack %s", opts, w)
		}
	}
	l0, _ := e.m.Get("web")
	if !l0.Source.IsValid() || l0.Source == l0.VIP {
		t.Fatalf("probe source %v", l0.Source)
	}
	src := l0.Source.String()
	want := `{"` + a1 + `"="p1:` + src + `", "` + a2 + `"="p2:` + src + `"}`
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "ip_port_mappings"); got != sortedMap(got, want) {
		t.Fatalf("ip_port_mappings %s, want %s", got, want)
	}
	if got := e.NBCtl("get", "NB_Global", ".", "options:svc_monitor_mac"); got != `"0a:51:4e:00:00:01"` {
		t.Fatalf("svc_monitor_mac %s", got)
	}
	l, err := e.m.Get("web")
	if err != nil || l.HealthCheck == nil || l.Members[0].Health != "unknown" {
		t.Fatalf("get: %+v %v", l, err)
	}
}

func (e *env) deleteAll() {
	t := e.t
	if err := e.m.Delete(e.ctx, "web"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"Load_Balancer", "Load_Balancer_Health_Check"} {
		if got := e.NBCtl("--bare", "--columns=_uuid", "list", table); got != "" {
			t.Fatalf("%s rows left: %s", table, got)
		}
	}
	if got := e.NBCtl("--bare", "--columns=_uuid", "find", "DHCP_Options", "external_ids:\"quantumnet:owner\"=\"lb:web\""); got != "" {
		t.Fatalf("vip reservation left: %s", got)
	}
	if _, err := e.m.Get("web"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if err := e.nets.Delete(e.ctx, "blue"); err != nil && !errors.Is(err, errs.InUse) {
		t.Fatalf("delete network: %v", err)
	}
}
