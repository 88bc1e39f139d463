package events_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationLoadBalancers: load balancers are streamed, their
// listeners and members as updates, a member's address followed.
func TestIntegrationLoadBalancers(t *testing.T) {
	s := stacktest.New(t, true)
	m := &lbstore.Manager{NB: s.NB, SB: s.SB, Alloc: s.Alloc, Log: ovsdbtest.Logger(t), MonitorMAC: "0a:51:4e:00:00:01"}
	s.Wire(m, nil)
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Port("web1", "blue", "")
	hub := events.New(0)
	go (&events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, LBs: m, Interval: time.Hour, Log: ovsdbtest.Logger(t)}).Run(s.Ctx)
	r := &reader{t: t, sub: hub.Subscribe(events.Filter{Kinds: []string{events.KindLoadBalancer}})}
	defer r.sub.Close()
	if got := r.snapshot(); len(got) != 0 {
		t.Fatalf("snapshot %v", got)
	}
	if _, err := m.Create(s.Ctx, lb.LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.1.0.100")}); err != nil {
		t.Fatal(err)
	}
	got := r.wanted([3]string{"created", "load_balancer", "web"})
	if l := got["load_balancer/web"].LoadBalancer; l.Vip != "10.1.0.100" || l.Network != "blue" {
		t.Fatalf("created %v", l)
	}
	if _, err := m.AddListener(s.Ctx, "web", lb.Listener{Port: 80, MemberPort: 8080}); err != nil {
		t.Fatal(err)
	}
	if ev := r.wanted([3]string{"updated", "load_balancer", "web"})["load_balancer/web"]; !slices.Equal(ev.Changed, []string{"listeners", "dns_names"}) { // its SRV names come with it
		t.Fatalf("listener added: changed %v", ev.Changed)
	}
	if _, err := m.AddMember(s.Ctx, "web", "web1", 0); err != nil {
		t.Fatal(err)
	}
	ev := r.wanted([3]string{"updated", "load_balancer", "web"})["load_balancer/web"]
	if !slices.Contains(ev.Changed, "members") || len(ev.LoadBalancer.Members) != 1 || ev.LoadBalancer.Members[0].Port != "web1" {
		t.Fatalf("member added: changed %v, %v", ev.Changed, ev.LoadBalancer.Members)
	}
	if err := m.Delete(s.Ctx, "web"); err != nil {
		t.Fatal(err)
	}
	r.wanted([3]string{"deleted", "load_balancer", "web"})
}
