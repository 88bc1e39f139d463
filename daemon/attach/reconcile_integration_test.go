package attach

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

func reconcileManager(t *testing.T, nb *ovn.NB, oc *ovs.Client) *Manager {
	log := ovsdbtest.Logger(t)
	return &Manager{NB: nb, OVS: oc, Chassis: "ch1", Bridge: "br-int", Log: log,
		Ports: &lport.Ports{NB: nb, Store: &nbstore.Store{NB: nb, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log}}}
}

// TestIntegrationReconcileSkipsBadRows (defect 6): a container port row of
// this chassis that cannot be handled (its network does not exist) is
// skipped and reported; the rest is reconciled, and Reconcile succeeds.
func TestIntegrationReconcileSkipsBadRows(t *testing.T) {
	spec, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.0.0.0/24"})
	nb, _ := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	oc, _ := ovstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := oc.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	m := reconcileManager(t, nb, oc)
	ls, err := nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	junk := &nbdb.LogicalSwitchPort{Name: "junk", Addresses: []string{"junk"}, ExternalIDs: map[string]string{
		keys.Network: "ghost", keys.Kind: keys.KindContainer, keys.Chassis: "ch1", keys.ContainerID: "cj", keys.Ifname: "eth0", keys.Netns: "/nonexistent"}}
	if err := nb.CreatePort(ctx, ls, junk); err != nil {
		t.Fatal(err)
	}
	good := ovn.Port{Name: PortName("ch1", "cg", "eth0"), Network: "blue", Kind: keys.KindContainer, ContainerID: "cg", Ifname: "eth0",
		Netns: "/nonexistent", Chassis: "ch1", HostIfname: HostIfname("ch1", "cg", "eth0")}
	if _, err := m.Ports.Create(ctx, good, nbstore.Want{}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		_, e1 := nb.LookupPort("junk")
		_, e2 := nb.LookupPort(good.Name)
		return e1 == nil && e2 == nil
	}, "ports cached")
	if err := m.Reconcile(ctx); err != nil {
		t.Fatalf("Reconcile with a bad row: %v", err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := nb.LookupPort(good.Name); err2 := err; return err2 != nil },
		"the broken attachment (namespace gone) was not removed")
	ps := m.Problems()
	if len(ps) != 1 || !strings.Contains(ps[0], "junk") {
		t.Errorf("Problems() = %q, want the junk port", ps)
	}
}

// TestIntegrationReconcileKeepsAgainstOtherNB (defect 7): local
// attachments whose logical ports are missing are torn down against the
// Northbound they were made with, but kept (and reported) against a fresh
// one — including ports from before identities were recorded, when the
// fresh Northbound has no QuantumNet ports at all.
func TestIntegrationReconcileKeepsAgainstOtherNB(t *testing.T) {
	nb1, srv1 := ovntest.NewNB(t)
	srv1.Run("ovn-nbctl", "--db="+srv1.Remote, "init") // NB_Global, as ovn-northd or ovn-nbctl create it
	oc, _ := ovstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := oc.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	m1 := reconcileManager(t, nb1, oc)
	if err := m1.Reconcile(ctx); err != nil || m1.NBID() == "" {
		t.Fatalf("first reconcile: %v, NB id %q", err, m1.NBID())
	}
	add := func(m *Manager, cid string) string {
		host := HostIfname("ch1", cid, "eth0")
		if _, err := m.addOVSPort(ctx, PortName("ch1", cid, "eth0"), host, cid, "eth0", "0a:51:4e:00:00:01"); err != nil {
			t.Fatal(err)
		}
		return host
	}
	exists := func(host string) bool { _, err := oc.GetPort(host); return err == nil }
	gone := add(m1, "cgone")
	if err := m1.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return !exists(gone) }, "same Northbound: the orphan OVS port was not removed")

	kept := add(m1, "ckept")
	legacy := HostIfname("ch1", "clegacy", "eth0")
	if err := oc.AddPort(ctx, "br-int", legacy, map[string]string{ovs.KeyIfaceID: PortName("ch1", "clegacy", "eth0")},
		map[string]string{keys.Port: PortName("ch1", "clegacy", "eth0"), keys.ContainerID: "clegacy", keys.Ifname: "eth0"}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return exists(kept) && exists(legacy) }, "ports cached")
	nb2, srv2 := ovntest.NewNB(t) // a fresh (empty, re-created) Northbound
	srv2.Run("ovn-nbctl", "--db="+srv2.Remote, "init")
	m2 := reconcileManager(t, nb2, oc)
	if err := m2.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if m2.NBID() == m1.NBID() {
		t.Fatalf("two databases with one identity %q", m1.NBID())
	}
	time.Sleep(200 * time.Millisecond)
	if !exists(kept) || !exists(legacy) {
		t.Errorf("against a fresh Northbound, OVS ports kept %v, legacy %v: want both kept", exists(kept), exists(legacy))
	}
	ps := m2.Problems()
	if len(ps) != 1 || !strings.Contains(ps[0], "2 local attachment(s)") || !strings.Contains(ps[0], "not torn down") {
		t.Errorf("Problems() = %q, want the 2 kept attachments reported", ps)
	}
}
