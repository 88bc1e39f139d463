package events_test

import (
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/events"
	"github.com/quantumnet/quantumnet/daemon/network"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// wanted reads events until one of each (type, kind, name) came, in any
// order, and returns them by "kind/name".
func (r *reader) wanted(want ...[3]string) map[string]*api.Event {
	r.t.Helper()
	got := map[string]*api.Event{}
	left := slices.Clone(want)
	r.until(func(ev *api.Event) bool {
		i := slices.Index(left, [3]string{ev.Type, ev.Kind, ev.Name})
		if i >= 0 {
			got[ev.Kind+"/"+ev.Name] = ev
			left = slices.Delete(left, i, i+1)
		}
		return len(left) == 0
	})
	return got
}

// TestIntegrationRoutersAndFloatingIPs: routers and floating IPs are
// streamed too, and a floating IP's association shows on its port.
func TestIntegrationRoutersAndFloatingIPs(t *testing.T) {
	s := stacktest.New(t, true)
	m := &rtstore.Manager{NB: s.NB, SB: s.SB, Alloc: s.Alloc, MACPrefix: stacktest.MACPrefix, Log: ovsdbtest.Logger(t)}
	s.Wire(m, m)
	s.Chassis("ch-a", "10.0.0.1", "physnet1:br-ex")
	s.Network(network.Input{Name: "ext", External: true, Physnet: "physnet1", Subnet4: "192.0.2.0/24", Gateway4: "192.0.2.1",
		FIPRange: "192.0.2.50-192.0.2.99"})
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Port("pa", "blue", "ch-a")
	hub := events.New(0)
	go (&events.Feed{Hub: hub, NB: s.NB, SB: s.SB, Networks: s.Nets, Routers: m, Interval: time.Hour, Log: ovsdbtest.Logger(t)}).Run(s.Ctx)
	r := &reader{t: t, sub: hub.Subscribe(events.Filter{})}
	defer r.sub.Close()
	if got, want := r.snapshot(), []string{"network/blue", "network/ext", "port/pa"}; !slices.Equal(got, want) {
		t.Fatalf("snapshot %v, want %v", got, want)
	}
	must := func(_ any, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(m.Create(s.Ctx, "r1"))
	r.wanted([3]string{"created", "router", "r1"})
	must(m.Attach(s.Ctx, "r1", "blue"))
	got := r.wanted([3]string{"updated", "router", "r1"}, [3]string{"updated", "network", "blue"})
	if ev := got["router/r1"]; !slices.Contains(ev.Changed, "networks") || !slices.Equal(ev.Router.Networks, []string{"blue"}) {
		t.Fatalf("attach: router %v %v", ev.Changed, ev.Router)
	}
	if ev := got["network/blue"]; !slices.Contains(ev.Changed, "router") || ev.Network.Router != "r1" {
		t.Fatalf("attach: network %v %v", ev.Changed, ev.Network)
	}
	must(m.SetGateway(s.Ctx, rtstore.GatewayRequest{Router: "r1", Network: "ext"}))
	got = r.wanted([3]string{"updated", "router", "r1"})
	if ev := got["router/r1"]; !slices.Contains(ev.Changed, "gateway") || ev.Router.Gateway.GetNetwork() != "ext" {
		t.Fatalf("gateway: %v %v", ev.Changed, ev.Router)
	}

	fip := netip.MustParseAddr("192.0.2.60")
	must(m.CreateFIP(s.Ctx, "ext", fip))
	r.wanted([3]string{"created", "floating_ip", "192.0.2.60"})
	must(m.AssociateFIP(s.Ctx, fip, "pa", netip.Addr{}))
	got = r.wanted([3]string{"updated", "floating_ip", "192.0.2.60"}, [3]string{"updated", "port", "pa"})
	if ev := got["port/pa"]; !slices.Equal(ev.Changed, []string{"floating_ips"}) || !slices.Equal(ev.Port.FloatingIps, []string{"192.0.2.60"}) {
		t.Fatalf("associate: port %v %v", ev.Changed, ev.Port)
	}
	// The floating IP may take two events (its reservation, then its NAT
	// rule): read up to the one with its router.
	if ev := got["floating_ip/192.0.2.60"]; ev.FloatingIp.Port != "pa" || ev.FloatingIp.Router != "r1" {
		r.until(func(ev *api.Event) bool {
			return ev.Kind == "floating_ip" && ev.FloatingIp.Port == "pa" && ev.FloatingIp.Router == "r1"
		})
	}
	if err := m.DeleteFIP(s.Ctx, fip); err != nil {
		t.Fatal(err)
	}
	got = r.wanted([3]string{"deleted", "floating_ip", "192.0.2.60"}, [3]string{"updated", "port", "pa"})
	if ev := got["port/pa"]; len(ev.Port.FloatingIps) != 0 {
		t.Fatalf("after the deletion port pa has %v", ev.Port.FloatingIps)
	}
}
