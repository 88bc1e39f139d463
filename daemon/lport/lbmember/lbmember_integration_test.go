package lbmember_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/lport/lbmember"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationJoin: a container port checked, created and joined the
// way attach does it is a member of the load balancers named; joining
// again changes nothing; an unknown load balancer is refused by the check
// (before the port exists: nothing written); a join that fails half way
// takes back the memberships it added.
func TestIntegrationJoin(t *testing.T) {
	spec, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.7.0.0/24"})
	nb, srv := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := ovsdbtest.Logger(t)
	store := &nbstore.Store{NB: nb, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log}
	lbs := &lbstore.Manager{NB: nb, Alloc: store, Log: log}
	ps := &lport.Ports{NB: nb, Store: store, LBs: &lbmember.Members{NB: nb, LBs: lbs}}
	for _, l := range []lb.LoadBalancer{
		{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.7.0.100")},
		{Name: "api", Network: "blue", VIP: netip.MustParseAddr("10.7.0.101")},
	} {
		if _, err := lbs.Create(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	members := func(name string) string {
		l, err := lbs.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, mb := range l.Members {
			ids = append(ids, mb.ID())
		}
		return strings.Join(ids, ",")
	}
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
	dump := func() string { return srv.Run("ovsdb-client", "dump", srv.Remote, "OVN_Northbound") }
	before := dump()
	err := add("p2", []string{"web", "nope"})
	if !errors.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "loadBalancers: load balancer nope") {
		t.Fatalf("unknown load balancer: %v", err)
	}
	if dump() != before {
		t.Fatal("Northbound changed by a refused port")
	}
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
	if _, err := ps.Create(ctx, ovn.Port{Name: "p3", Network: "blue", Kind: keys.KindContainer, ContainerID: "c-p3", Ifname: "eth0"}, nbstore.Want{}); err != nil {
		t.Fatal(err)
	}
	if err := ps.JoinLoadBalancers(ctx, "p3", []string{"web", "api"}); !errors.Is(err, errs.NotFound) {
		t.Fatalf("join of a deleted load balancer: %v", err)
	}
	if got := members("web"); got != "p1" {
		t.Fatalf("members of web after a failed join: %q, want p1 alone", got)
	}
	// Without the load balancer store, naming one is refused.
	bare := &lport.Ports{NB: nb, Store: store}
	if err := bare.CheckLoadBalancers("blue", []string{"web"}); !errors.Is(err, errs.Invalid) {
		t.Fatalf("no store: %v", err)
	}
}
