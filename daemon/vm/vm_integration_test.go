package vm

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// newVMEnv: a real Northbound with network blue (its services ensured) and
// a Manager of chassis ch1 whose new ports join their security groups.
func newVMEnv(t *testing.T) (*ovsdbtest.Server, *ovn.NB, *Manager, context.Context) {
	spec, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.8.0.0/24", DNSDomain: "blue.internal"})
	nb, srv := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := ovsdbtest.Logger(t)
	sgm := &sgstore.Manager{NB: nb, Log: log}
	al := &nbstore.Store{NB: nb, Log: log}
	svc := &netsvc.Manager{NB: nb, Alloc: al, Log: log}
	if err := svc.Ensure(ctx, "blue"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { v4, _ := svc.PortDHCP("blue"); return v4 != nil }, "DHCP options")
	m := &Manager{NB: nb, Ports: &lport.Ports{NB: nb, Store: al, DHCP: svc, Groups: sgm}, Chassis: "ch1", ReadyTimeout: time.Second, Log: log,
		Groups: sgm}
	for _, g := range []string{"web", "db"} {
		if err := sgm.Create(ctx, secgroup.Group{Name: g}); err != nil {
			t.Fatal(err)
		}
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := sgm.Get("db"); return err == nil }, "groups")
	return srv, nb, m, ctx
}

// TestIntegrationVMPorts: prepare creates one port per NIC with an address
// and DHCP options; preparing again (a restart of the domain) keeps them;
// a bad NIC leaves nothing; stopped keeps the addresses; undefine and the
// reconcile release them.
func TestIntegrationVMPorts(t *testing.T) {
	srv, nb, m, ctx := newVMEnv(t)
	dom := Domain{Name: "web1", UUID: "11111111-2222-3333-4444-555555555555", NICs: []NIC{
		{InterfaceID: "aaaa", MAC: "52:54:00:00:00:01", Network: "blue"},
		{InterfaceID: "bbbb", MAC: "52:54:00:00:00:02", Network: "blue", IPs: []netip.Addr{netip.MustParseAddr("10.8.0.77")}},
	}}
	ports, err := m.Prepare(ctx, dom)
	if err != nil {
		t.Fatal(err)
	}
	if len(ports) != 2 || ports[0].Addrs[0].String() != "10.8.0.2" || ports[1].Addrs[0].String() != "10.8.0.77" {
		t.Fatalf("ports %+v", ports)
	}
	db := "--db=" + srv.Remote
	if rc := srv.Run("ovn-nbctl", db, "get", "Logical_Switch_Port", "aaaa", "options:requested-chassis"); strings.Trim(rc, `"`) != "ch1" {
		t.Errorf("requested-chassis %s", rc)
	}
	dhcp := srv.Run("ovn-nbctl", db, "get", "Logical_Switch_Port", "aaaa", "dhcpv4_options")
	opts := srv.Run("ovn-nbctl", db, "dhcp-options-get-options", dhcp)
	for _, want := range []string{"router=10.8.0.1", "server_id=10.8.0.1", "lease_time=3600", "mtu=1400", `domain_name="blue.internal"`} {
		if !strings.Contains(opts, want) {
			t.Errorf("DHCP options %q lack %s", opts, want)
		}
	}
	// The domain starts again: same ports, same addresses.
	again, err := m.Prepare(ctx, dom)
	if err != nil || again[0].Addrs[0] != ports[0].Addrs[0] {
		t.Fatalf("prepare again: %+v %v", again, err)
	}
	// A NIC on a network that does not exist: nothing of the domain is created.
	bad := Domain{Name: "web2", UUID: "22222222-2222-3333-4444-555555555555", NICs: []NIC{
		{InterfaceID: "cccc", MAC: "52:54:00:00:00:03", Network: "blue"},
		{InterfaceID: "dddd", MAC: "52:54:00:00:00:04", Network: "nosuch"},
	}}
	if _, err := m.Prepare(ctx, bad); err == nil || !strings.Contains(err.Error(), "domain web2: NIC dddd: network \"nosuch\" does not exist") {
		t.Fatalf("bad NIC: %v", err)
	}
	if _, err := nb.GetPort("cccc"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("the good NIC of a refused domain was left behind: %v", err)
	}
	// A NIC cannot move to another domain's port.
	thief := Domain{Name: "web3", UUID: "33333333-2222-3333-4444-555555555555", NICs: []NIC{{InterfaceID: "aaaa", MAC: "52:54:00:00:00:01", Network: "blue"}}}
	if _, err := m.Prepare(ctx, thief); err == nil || !strings.Contains(err.Error(), "belongs to domain") {
		t.Fatalf("port of another domain: %v", err)
	}
	// Stopped: ports and addresses stay.
	m.Stopped(ctx, dom)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		p, err := nb.GetPort("aaaa")
		return err == nil && p.ExternalIDs[keys.VMState] == "stopped"
	}, "state never stopped")
	// Reconcile with the domain still defined: nothing happens; undefined: released.
	if err := m.Reconcile(ctx, func(u string) bool { return u == dom.UUID }); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetPort("aaaa"); err != nil {
		t.Fatal("reconcile removed a defined domain's port")
	}
	if err := m.Reconcile(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		_, e1 := nb.GetPort("aaaa")
		_, e2 := nb.GetPort("bbbb")
		return errors.Is(e1, errs.NotFound) && errors.Is(e2, errs.NotFound)
	}, "undefined domain's ports not released")
	// What is left is the network's resolver address.
	us, err := m.Ports.Store.Show("blue")
	if err != nil || us[0].Used != 1 || us[0].Reservations[netip.MustParseAddr("10.8.0.254")].Owner != keys.OwnerResolver {
		t.Fatalf("addresses not released: %+v %v", us, err)
	}
}

// TestIntegrationVMStartAppliesMetadata: at every start the domain's
// metadata holds: the port joins, changes and leaves security groups as
// the metadata says, and a renamed domain renames its ports (DNS name too).
func TestIntegrationVMStartAppliesMetadata(t *testing.T) {
	srv, nb, m, ctx := newVMEnv(t)
	members := func(pg string) []string {
		return srv.Row("Port_Group", []string{"ports"}, "name="+pg).Set("ports")
	}
	dom := Domain{Name: "app1", UUID: "44444444-2222-3333-4444-555555555555", NICs: []NIC{
		{InterfaceID: "eeee", MAC: "52:54:00:00:00:05", Network: "blue", SecurityGroups: []string{"web"}}}}
	for i, step := range []struct {
		name   string
		groups []string
		web    int
		db     int
	}{{"app1", []string{"web"}, 1, 0}, {"app1", []string{"db"}, 0, 1}, {"app-renamed", nil, 0, 0}} {
		dom.Name, dom.NICs[0].SecurityGroups = step.name, step.groups
		if _, err := m.Prepare(ctx, dom); err != nil {
			t.Fatalf("start %d: %v", i+1, err)
		}
		ovsdbtest.Eventually(t, 5*time.Second, func() bool {
			p, err := nb.GetPort("eeee")
			return err == nil && p.ExternalIDs[keys.VMName] == step.name && p.ExternalIDs[keys.DNSName] == step.name &&
				p.ExternalIDs[keys.SecurityGroups] == strings.Join(step.groups, ",")
		}, "start %d: the port does not follow the metadata", i+1)
		if w, d := len(members("qn_sg_web")), len(members("qn_sg_db")); w != step.web || d != step.db {
			t.Fatalf("start %d (groups %v): %d members of web, %d of db", i+1, step.groups, w, d)
		}
	}
}
