package nbstore

import (
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// secondDaemon is another daemon's load balancer manager on the same
// Northbound: its own connection, cache and IPAM state.
func (e *routedEnv) secondDaemon() *Manager {
	nb, alloc := e.SecondDaemon()
	return &Manager{NB: nb, Alloc: alloc, Log: e.m.Log, MonitorMAC: e.m.MonitorMAC}
}

// TestIntegrationLoadBalancerTwoDaemons: two daemons add members on the
// same routed network at once (one probe source is reserved there, both
// members kept), both run the reconciler when the members' ports go (the
// members and the source go once, nothing leaks).
func TestIntegrationLoadBalancerTwoDaemons(t *testing.T) {
	e := newRoutedEnv(t)
	e.network("blue", "10.0.0.0/24")
	e.network("red", "10.1.0.0/24")
	e.must(e.rt.Create(e.ctx, "r1"))
	e.must(e.rt.Attach(e.ctx, "r1", "blue"))
	e.must(e.rt.Attach(e.ctx, "r1", "red"))
	m2 := e.secondDaemon()
	e.must(e.m.Create(e.ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100")}))
	e.must(e.m.AddListener(e.ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}))
	const n = 6
	names := make([]string, n)
	for i := range names {
		names[i] = "pr" + string(rune('a'+i))
		e.port(names[i], "red")
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, ok := m2.NB.PortByName(names[n-1]); return ok }, "second daemon's cache")
	stacktest.AtOnce(t, n, func(i int) error {
		m := []*Manager{e.m, m2}[i%2]
		_, err := m.AddMember(e.ctx, "web", names[i], 0)
		return err
	})
	// Both caches converge on every member and one source on red.
	for _, m := range []*Manager{e.m, m2} {
		ovsdbtest.Eventually(t, 5*time.Second, func() bool {
			l, err := m.Get("web")
			return err == nil && len(l.Members) == n && len(l.Sources) == 1
		}, "%d members and one source", n)
	}
	if got := e.lbReservations("web", "red"); len(got) != 1 {
		t.Fatalf("reservations on red %v, want one", got)
	}
	e.reconciler(e.m)
	e.reconciler(m2)
	for _, name := range names {
		if err := e.ports.Delete(e.ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	e.waitMembers(0, "members and red's source gone")
	e.wantVIPs(`{"10.0.0.100:80"=""}`)
}
