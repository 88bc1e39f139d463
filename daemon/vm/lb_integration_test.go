package vm

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/lport/lbmember"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationVMLoadBalancers: a NIC whose metadata names load
// balancers is a member of each once prepared; preparing again (a
// restart) keeps one membership; an unknown load balancer, or one on
// another network, is refused before anything is written.
func TestIntegrationVMLoadBalancers(t *testing.T) {
	srv, nb, m, ctx := newVMEnv(t)
	log := ovsdbtest.Logger(t)
	lbs := &lbstore.Manager{NB: nb, Alloc: m.Ports.Store, Log: log}
	m.Ports.LBs = &lbmember.Members{NB: nb, LBs: lbs}
	red, _ := network.Parse(network.Input{Name: "red", Subnet4: "10.9.0.0/24"})
	ovntest.Switch("red", red.ExternalIDs())(t, nb)
	ovntest.WaitSwitch(t, nb, "red")
	stacktest.LoadBalancers(t, ctx, lbs,
		lb.LoadBalancer{Name: "web", Network: "blue", VIP: netip.MustParseAddr("10.8.0.100")},
		lb.LoadBalancer{Name: "api", Network: "blue", VIP: netip.MustParseAddr("10.8.0.101")},
		lb.LoadBalancer{Name: "other", Network: "red", VIP: netip.MustParseAddr("10.9.0.100")})
	members := func(name string) string { return stacktest.Members(t, lbs, name) }
	dom := Domain{Name: "web1", UUID: "11111111-2222-3333-4444-555555555555", NICs: []NIC{
		{InterfaceID: "aaaa", MAC: "52:54:00:00:00:01", Network: "blue", LoadBalancers: []string{"api", "web"}},
	}}
	if _, err := m.Prepare(ctx, dom); err != nil {
		t.Fatal(err)
	}
	if got := members("web") + " " + members("api"); got != "aaaa aaaa" {
		t.Fatalf("members of web and api: %q, want the NIC's port in both", got)
	}
	// A restart: the port is already a member, nothing changes.
	if _, err := m.Prepare(ctx, dom); err != nil {
		t.Fatal(err)
	}
	if got := members("web"); got != "aaaa" {
		t.Fatalf("members of web after a restart: %q", got)
	}
	dump := func() string { return srv.Run("ovsdb-client", "dump", srv.Remote, "OVN_Northbound") }
	for _, tc := range []struct {
		lbs  []string
		kind error
		want []string
	}{
		{[]string{"web", "nope"}, errs.NotFound, []string{"loadBalancers", "nope", "bbbb"}},
		{[]string{"other"}, errs.Invalid, []string{"loadBalancers", "other", "red"}},
	} {
		before := dump()
		d2 := Domain{Name: "web2", UUID: "22222222-2222-3333-4444-555555555555", NICs: []NIC{
			{InterfaceID: "bbbb", MAC: "52:54:00:00:00:02", Network: "blue", LoadBalancers: tc.lbs},
		}}
		_, err := m.Prepare(ctx, d2)
		if err == nil || !errors.Is(err, tc.kind) {
			t.Fatalf("%v: %v, want an error of kind %v", tc.lbs, err, tc.kind)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%v: %q does not name %q", tc.lbs, err, w)
			}
		}
		if after := dump(); after != before {
			t.Errorf("%v: Northbound changed by a refused prepare", tc.lbs)
		}
	}
}
