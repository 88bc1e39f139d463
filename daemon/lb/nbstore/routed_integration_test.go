package nbstore

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// routedEnv is env with routers (daemon/router's manager) and Southbound.
type routedEnv struct {
	*env
	rt *rtstore.Manager
}

func newRoutedEnv(t testing.TB) *routedEnv {
	e := stackEnv(t, true)
	rt := &rtstore.Manager{NB: e.nb, SB: e.SB, Alloc: e.m.Alloc, MACPrefix: stacktest.MACPrefix, Log: e.m.Log}
	return &routedEnv{env: e, rt: rt}
}

func (e *routedEnv) must(_ any, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// attachedTo lists the names of the switches and routers referencing the
// load balancer name.
func (e *env) attachedTo(name string) (switches, routers []string) {
	e.t.Helper()
	uuid := e.NBCtl("--bare", "--columns=_uuid", "find", "Load_Balancer", "name=qn-lb-"+name)
	if uuid == "" {
		return nil, nil
	}
	switches = strings.Fields(e.NBCtl("--bare", "--columns=name", "find", "Logical_Switch", "load_balancer{>=}"+uuid))
	routers = strings.Fields(e.NBCtl("--bare", "--columns=name", "find", "Logical_Router", "load_balancer{>=}"+uuid))
	slices.Sort(switches)
	return switches, routers
}

// lbReservations are the addresses reserved for the load balancer name on
// network.
func (e *env) lbReservations(name, netName string) []string {
	rs, err := e.nb.Reservations(netName)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		if r.Owner == lb.Owner(name) {
			out = append(out, r.IP.String())
		}
	}
	slices.Sort(out)
	return out
}

// waitMembers waits until the load balancer web has n members and no
// probe source, none reserved on red either.
func (e *env) waitMembers(n int, what string) {
	e.t.Helper()
	ovsdbtest.Eventually(e.t, 10*time.Second, func() bool {
		l, err := e.m.Get("web")
		return err == nil && len(l.Members) == n && len(l.Sources) == 0 && len(e.lbReservations("web", "red")) == 0
	}, what)
}

// reconciler runs a Reconciler on m until the test ends, with a sweep
// too rare to matter: what it does, events made it do.
func (e *env) reconciler(m *Manager) {
	ctx, cancel := context.WithCancel(e.ctx)
	done := make(chan struct{})
	go func() { (&Reconciler{M: m, Interval: time.Hour}).Run(ctx); close(done) }()
	e.t.Cleanup(func() { cancel(); <-done })
}

// TestIntegrationLoadBalancerRouted: the load balancer of a network
// attached to a router is on the switches of every network of that router
// and on the router; members on routed networks are probed from a source
// of their own network; a member on an unrouted network is refused. The
// reconciler follows attach/detach, a member port's address change and its
// deletion (member and its network's source gone), and repairs a row
// changed behind its back.
func TestIntegrationLoadBalancerRouted(t *testing.T) {
	e := newRoutedEnv(t)
	for _, n := range []struct{ name, subnet string }{{"blue", "10.0.0.0/24"}, {"red", "10.1.0.0/24"}, {"green", "10.2.0.0/24"}} {
		e.network(n.name, n.subnet)
	}
	e.must(e.rt.Create(e.ctx, "r1"))
	e.must(e.rt.Attach(e.ctx, "r1", "blue"))
	e.must(e.rt.Attach(e.ctx, "r1", "red"))
	pb, pr := e.port("pb", "blue"), e.port("pr", "red")
	e.port("pg", "green")
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100")}))
	e.must(e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}))
	if sw, lr := e.attachedTo("web"); !slices.Equal(sw, []string{"qn-blue", "qn-red"}) || !slices.Equal(lr, []string{ovn.RouterRowName("r1")}) {
		t.Fatalf("attached to %v %v, want the switches of blue and red and router r1", sw, lr)
	}
	e.Refused("member on an unrouted network", errs.Invalid, func() error {
		_, err := e.m.AddMember(e.ctx, "web", "pg", 0)
		return err
	}, "pg", "green", "cannot reach")
	e.must(e.m.AddMember(e.ctx, "web", "pb", 0))
	l, err := e.m.AddMember(e.ctx, "web", "pr", 0)
	if err != nil || !l.Sources["red"].IsValid() || !l.Sources["red"].Is4() {
		t.Fatalf("member on red: sources %v %v", l.Sources, err)
	}
	if got := e.lbReservations("web", "red"); !slices.Equal(got, []string{l.Sources["red"].String()}) {
		t.Fatalf("reservations on red %v, want the source %v", got, l.Sources["red"])
	}
	if got, _ := e.m.Get("web"); got.Members[1].Network != "red" || got.Members[1].Resolved != pr.IPs[0] {
		t.Fatalf("member pr: %+v", got.Members[1])
	}
	a1, a2 := pb.IPs[0].String(), pr.IPs[0].String()
	e.wantVIPs(`{"10.0.0.100:80"="` + sortedJoin(a1+":8080", a2+":8080") + `"}`)
	e.must(e.m.SetHealthCheck(e.ctx, "web", &lb.HealthCheck{Interval: 5, Timeout: 2, Success: 2, Failure: 3}))
	want := `{"` + a1 + `"="pb:` + l.Source.String() + `", "` + a2 + `"="pr:` + l.Sources["red"].String() + `"}`
	if got := e.NBCtl("get", "Load_Balancer", "qn-lb-web", "ip_port_mappings"); got != sortedMap(got, want) {
		t.Fatalf("ip_port_mappings %s, want %s", got, want)
	}
	e.reconciler(e.m)
	e.followRouters(a1, a2)
	e.followPorts(a1)
	e.must(nil, e.m.Delete(e.ctx, "web"))
	for _, n := range []string{"blue", "red", "green"} {
		if got := e.lbReservations("web", n); len(got) != 0 {
			t.Fatalf("reservations of web left on %s: %v", n, got)
		}
	}
	if got := e.NBCtl("--bare", "--columns=_uuid", "list", "Load_Balancer"); got != "" {
		t.Fatalf("Load_Balancer rows left: %s", got)
	}
}

// followRouters: attach green, detach and reattach red.
func (e *routedEnv) followRouters(a1, a2 string) {
	t := e.t
	e.must(e.rt.Attach(e.ctx, "r1", "green"))
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		sw, _ := e.attachedTo("web")
		return slices.Equal(sw, []string{"qn-blue", "qn-green", "qn-red"})
	}, "web on green's switch after green's attach")
	e.must(e.rt.Detach(e.ctx, "r1", "red"))
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		sw, _ := e.attachedTo("web")
		return slices.Equal(sw, []string{"qn-blue", "qn-green"})
	}, "web off red's switch after red's detach")
	e.wantVIPs(`{"10.0.0.100:80"="` + a1 + `:8080"}`)
	e.must(e.rt.Attach(e.ctx, "r1", "red"))
	e.wantVIPs(`{"10.0.0.100:80"="` + sortedJoin(a1+":8080", a2+":8080") + `"}`)
}

// followPorts: pb's address changes, pr is deleted, the row is damaged.
func (e *routedEnv) followPorts(a1 string) {
	t := e.t
	mac := strings.Fields(strings.Trim(e.NBCtl("get", "Logical_Switch_Port", "pb", "addresses"), `[]"`))[0]
	e.NBCtl("lsp-set-addresses", "pb", mac+" 10.0.0.77")
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(e.NBCtl("get", "Load_Balancer", "qn-lb-web", "vips"), "10.0.0.77:8080") &&
			strings.Contains(e.NBCtl("get", "Load_Balancer", "qn-lb-web", "ip_port_mappings"), `"10.0.0.77"="pb:`)
	}, "vips and mappings follow pb's new address")
	if err := e.ports.Delete(e.ctx, "pr"); err != nil {
		t.Fatal(err)
	}
	e.waitMembers(1, "member pr and its source on red gone with the port")
	e.wantVIPs(`{"10.0.0.100:80"="10.0.0.77:8080"}`)
	// A row changed behind the store's back (no event marks it): a sync
	// (what the sweep runs) repairs it, and a second one writes nothing.
	e.NBCtl("set", "Load_Balancer", "qn-lb-web", `vips={"10.0.0.100:80"="10.9.9.9:1"}`)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return strings.Contains(e.m.NB.GetLB("web").Vips["10.0.0.100:80"], "10.9.9.9") }, "damage cached")
	if wrote, err := e.m.Sync(e.ctx, "web"); err != nil || !wrote {
		t.Fatalf("sync of a damaged row: wrote %v, %v", wrote, err)
	}
	e.wantVIPs(`{"10.0.0.100:80"="10.0.0.77:8080"}`)
	if wrote, err := e.m.Sync(e.ctx, "web"); err != nil || wrote {
		t.Fatalf("sync of an up-to-date row: wrote %v, %v", wrote, err)
	}
	_ = a1
}
