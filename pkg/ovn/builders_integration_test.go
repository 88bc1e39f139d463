package ovn_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// The service-row builders (lr.go, dns.go, dhcp.go, lsp_service.go,
// SwitchEdit) compose into one transaction, and their "create if absent"
// guards refuse a second create.
func TestIntegrationServiceBuilders(t *testing.T) {
	nb, srv := ovntest.NewNB(t)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	ls, err := nb.CreateSwitch(ctx, "blue", nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := map[string]string{keys.ServiceOf: "blue"}
	build := func() []ovsdb.Operation {
		var ops []ovsdb.Operation
		add := func(o []ovsdb.Operation, err error) {
			if err != nil {
				t.Fatal(err)
			}
			ops = append(ops, o...)
		}
		sw := ovn.EditSwitch(ls.UUID)
		add(nb.CreateRouterOps(&nbdb.LogicalRouter{UUID: "lr", Name: "qn-r-blue", ExternalIDs: svc},
			&nbdb.LogicalRouterPort{UUID: "lrp", Name: "qn-rp-blue", MAC: "0a:51:4f:00:00:01", Networks: []string{"10.9.0.1/24"}, ExternalIDs: svc}))
		rs := &nbdb.LogicalSwitchPort{UUID: "rs", Name: "qn-rs-blue", Type: "router", Addresses: []string{"router"},
			Options: map[string]string{"router-port": "qn-rp-blue"}, ExternalIDs: svc}
		add(nb.InsertServicePortOps(rs))
		sw.AddPort(rs.UUID)
		dns := &nbdb.DNS{UUID: "dns", Records: map[string]string{"a.blue": "10.9.0.5"}, ExternalIDs: svc}
		add(nb.InsertDNSOps(dns))
		sw.AddDNSRecords(dns.UUID)
		add(nb.InsertDHCPOptionsOps(&nbdb.DHCPOptions{UUID: "dhcp", Cidr: "10.9.0.0/24",
			ExternalIDs: map[string]string{keys.Network: "blue", keys.Kind: keys.KindDHCP}}))
		sw.SetExternalID(keys.Resolver4, "10.9.0.254")
		add(nb.SwitchEditOps(sw))
		return ops
	}
	if _, err := nb.TransactResults(ctx, "services", build()); err != nil {
		t.Fatal(err)
	}
	row := srv.Row(nbdb.LogicalSwitchTable, []string{"ports", "dns_records", "external_ids"}, "name="+ovn.SwitchName("blue"))
	if len(row.Set("ports")) != 1 || len(row.Set("dns_records")) != 1 || row.Map("external_ids")[keys.Resolver4] != "10.9.0.254" ||
		row.Map("external_ids")[keys.Network] != "blue" {
		t.Fatalf("switch after the edit: %v", row)
	}
	lr := srv.Row(nbdb.LogicalRouterTable, []string{"ports"}, "name=qn-r-blue")
	if len(lr.Set("ports")) != 1 {
		t.Fatalf("router ports: %v", lr.Set("ports"))
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		return nb.GetRouter("qn-r-blue") != nil && nb.NetworkDNS("blue") != nil && nb.NetworkDHCPRow("blue", keys.KindDHCP) != nil
	}, "cache")
	// A second create of the same rows fails as a whole.
	if _, err := nb.TransactResults(ctx, "services again", build()); !errors.Is(err, ovn.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if n := len(srv.Rows(nbdb.LogicalRouterTable, []string{"_uuid"})); n != 1 {
		t.Fatalf("%d routers", n)
	}
}

// WaitPortGroupAsSeenOp: a change computed while a port group was absent
// fails once it exists, and one computed from its external ids fails once
// they changed.
func TestIntegrationPortGroupAsSeen(t *testing.T) {
	nb, _ := ovntest.NewNB(t)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	ops, err := nb.InsertPortGroupOps(&nbdb.PortGroup{UUID: "pg", Name: "qn_sg_all", ExternalIDs: map[string]string{keys.SGGen: "1"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nb.TransactResults(ctx, "create", append([]ovsdb.Operation{ovn.WaitPortGroupAsSeenOp("qn_sg_all", nil)}, ops...)); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.TransactResults(ctx, "create again", []ovsdb.Operation{ovn.WaitPortGroupAsSeenOp("qn_sg_all", nil)}); err == nil {
		t.Fatal("a guard on an absent port group passed while it exists")
	}
	var pg *nbdb.PortGroup
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { pg, _ = nb.GetPortGroup("qn_sg_all"); return pg != nil }, "cache")
	if _, err := nb.TransactResults(ctx, "as seen", []ovsdb.Operation{ovn.WaitPortGroupAsSeenOp("qn_sg_all", pg)}); err != nil {
		t.Fatalf("guard on the port group as it is: %v", err)
	}
	stale := *pg
	stale.ExternalIDs = map[string]string{keys.SGGen: "0"}
	if _, err := nb.TransactResults(ctx, "stale", []ovsdb.Operation{ovn.WaitPortGroupAsSeenOp("qn_sg_all", &stale)}); err == nil {
		t.Fatal("a guard on stale external ids passed")
	}
}
