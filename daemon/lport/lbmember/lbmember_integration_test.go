package lbmember_test

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/lport/lbmember"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationJoin: a container port checked, created and joined the
// way attach does it is a member of the load balancers named; joining
// again changes nothing; an unknown load balancer is refused by the check
// (before the port exists: nothing written); a join that fails half way
// takes back the memberships it added.
func TestIntegrationJoin(t *testing.T) {
	s := stacktest.New(t, false)
	ctx := s.Ctx
	lbs := &lbstore.Manager{NB: s.NB, Alloc: s.Alloc, Log: ovsdbtest.Logger(t)}
	s.Wire(lbs, nil)
	ps := s.Ports
	ps.LBs = &lbmember.Members{NB: s.NB, LBs: lbs}
	s.Network(network.Input{Name: "blue", Subnet4: "10.7.0.0/24"})
	stacktest.LoadBalancers(t, ctx, lbs,
		lb.LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.7.0.100")},
		lb.LoadBalancer{Name: "api", Network: "blue", VIP: netip.MustParseAddr("10.7.0.101")})
	members := func(name string) string { return stacktest.Members(t, lbs, name) }
	add := func(port string, names []string) error {
		if err := ps.CheckLoadBalancers("blue", names); err != nil {
			return err
		}
		p := ovn.Port{Name: port, Network: "blue", Kind: keys.KindContainer, ContainerID: "c-" + port, Ifname: "eth0"}
		if _, err := ps.Create(ctx, p, nbstore.Want{}); err != nil {
			return err
		}
		return ps.JoinLoadBalancers(ctx, port, names)
	}
	if err := add("p1", []string{"api", "web"}); err != nil {
		t.Fatal(err)
	}
	if got := members("web") + " " + members("api"); got != "p1 p1" {
		t.Fatalf("members: %q", got)
	}
	if err := ps.JoinLoadBalancers(ctx, "p1", []string{"web"}); err != nil || members("web") != "p1" {
		t.Fatalf("joining again: %v, members %q", err, members("web"))
	}
	s.Refused("unknown load balancer", errs.NotFound, func() error { return add("p2", []string{"web", "nope"}) },
		"loadBalancers: load balancer nope")
	// Checked, then deleted before the join: web's membership is taken back.
	if err := ps.CheckLoadBalancers("blue", []string{"web", "api"}); err != nil {
		t.Fatal(err)
	}
	if err := lbs.Delete(ctx, "api"); err != nil {
		t.Fatal(err)
	}
	if err := ps.JoinLoadBalancers(ctx, "p1", []string{"web"}); err != nil {
		t.Fatal(err)
	}
	s.Port("p3", "blue", "")
	if err := ps.JoinLoadBalancers(ctx, "p3", []string{"web", "api"}); !errors.Is(err, errs.NotFound) {
		t.Fatalf("join of a deleted load balancer: %v", err)
	}
	if got := members("web"); got != "p1" {
		t.Fatalf("members of web after a failed join: %q, want p1 alone", got)
	}
	// Without the load balancer store, naming one is refused.
	bare := &lport.Ports{NB: s.NB, Store: s.Alloc}
	if err := bare.CheckLoadBalancers("blue", []string{"web"}); !errors.Is(err, errs.Invalid) {
		t.Fatalf("no store: %v", err)
	}
}
