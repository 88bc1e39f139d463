package ovn_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// The floating-IP guards hold while no row matches and fail the
// transaction as soon as one or several do, whatever their protocol or
// NAT type (none too), and the load balancer named as the exception does
// not count.
func TestIntegrationFIPGuards(t *testing.T) {
	nb, _ := ovntest.NewNB(t)
	ctx := ovsdbtest.Context(t, 20*time.Second)
	fip, other := netip.MustParseAddr("192.0.2.60"), netip.MustParseAddr("192.0.2.61")
	holds := func(what string, ops []ovsdb.Operation, want bool) {
		t.Helper()
		_, err := nb.TransactResults(ctx, what, ops)
		var we *ovs.WaitError
		switch {
		case want && err != nil:
			t.Fatalf("%s: %v, want the guard to hold", what, err)
		case !want && !errors.As(err, &we):
			t.Fatalf("%s: %v, want the guard to fail (a wait error)", what, err)
		}
	}
	insert := func(ms ...model.Model) {
		t.Helper()
		var ops []ovsdb.Operation
		for _, m := range ms {
			o, err := nb.InsertOps(m)
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, o...)
		}
		if _, err := nb.TransactResults(ctx, "insert", ops); err != nil {
			t.Fatal(err)
		}
	}
	// A NAT row lives while a router references it.
	natRow := func(nat *nbdb.NAT) {
		t.Helper()
		nat.UUID = "n"
		insert(nat, &nbdb.LogicalRouter{UUID: "lr", Name: "r" + nat.ExternalIP, Nat: []string{"n"}})
	}
	lbRow := func(name string, proto *string, ip netip.Addr) *nbdb.LoadBalancer {
		return &nbdb.LoadBalancer{UUID: "lb", Name: name, Protocol: proto, ExternalIDs: map[string]string{keys.LBFIP: ip.String(), "x": "y"}}
	}
	tcp, udp := "tcp", "udp"
	holds("no load balancer", ovn.WaitNoLBOnFIPOps(fip, ""), true)
	insert(lbRow("on-other", &tcp, other))
	holds("a load balancer on another address", ovn.WaitNoLBOnFIPOps(fip, ""), true)
	insert(lbRow("web", &tcp, fip))
	holds("one tcp load balancer", ovn.WaitNoLBOnFIPOps(fip, ""), false)
	holds("the exception itself", ovn.WaitNoLBOnFIPOps(fip, "web"), true)
	insert(lbRow("web2", &tcp, fip))
	holds("two tcp load balancers", ovn.WaitNoLBOnFIPOps(fip, ""), false)
	holds("two, one the exception", ovn.WaitNoLBOnFIPOps(fip, "web"), false)
	insert(lbRow("dns", &udp, other))
	insert(lbRow("noproto", nil, other))
	holds("a udp and a protocol-less one", ovn.WaitNoLBOnFIPOps(other, "on-other"), false)

	holds("no NAT", ovn.WaitNoFIPNATOps(fip), true)
	natRow(&nbdb.NAT{Type: nbdb.NATTypeSNAT, ExternalIP: other.String(), LogicalIP: "10.0.0.0/24"})
	holds("a NAT not of a floating IP", ovn.WaitNoFIPNATOps(fip), true)
	natRow(&nbdb.NAT{Type: nbdb.NATTypeDNATAndSNAT, ExternalIP: fip.String(), LogicalIP: "10.0.0.5",
		ExternalIDs: map[string]string{keys.FIP: fip.String()}})
	holds("the floating IP's NAT", ovn.WaitNoFIPNATOps(fip), false)
}
