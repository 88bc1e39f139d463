package lport

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// groups records what the transaction asked of it (the security group
// store's part), and can refuse.
type groups struct {
	seen []string // named UUID and security groups of each port
	err  error
}

func (g *groups) PortOps(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	g.seen = append(g.seen, lsp.UUID+" "+lsp.ExternalIDs[keys.SecurityGroups])
	return nil, g.err
}

// dhcp names no rows: the references are checked by netsvc's tests.
type dhcp struct{ asked []string }

func (d *dhcp) PortDHCP(network string) (v4, v6 *string) {
	d.asked = append(d.asked, network)
	return nil, nil
}

// TestIntegrationPortTransaction: one transaction creates the row (with
// its addresses, port security, requested-chassis and keys), asks the DHCP
// and group services for their parts, and a refusal of theirs leaves no
// port and no address taken; delete frees the addresses, is idempotent and
// refuses ports QuantumNet does not own.
func TestIntegrationPortTransaction(t *testing.T) {
	spec, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.9.0.0/24"})
	nb, srv := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := ovsdbtest.Logger(t)
	g, d := &groups{}, &dhcp{}
	store := &nbstore.Store{NB: nb, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log}
	ps := &Ports{NB: nb, Store: store, DHCP: d, Groups: g}
	used := func() uint64 {
		us, err := store.Show("blue")
		if err != nil {
			t.Fatal(err)
		}
		return us[0].Used
	}

	want := ovn.Port{Name: "p1", Network: "blue", Kind: keys.KindContainer, ContainerID: "c1", Ifname: "eth0",
		Chassis: "ch1", RequestedChassis: "ch1", SecurityGroups: []string{"db", "web"}}
	cl, err := ps.Create(ctx, want, nbstore.Want{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.seen, []string{"lsp db,web"}) || !slices.Equal(d.asked, []string{"blue"}) {
		t.Errorf("services asked: groups %q, dhcp %q", g.seen, d.asked)
	}
	row := srv.Row("Logical_Switch_Port", []string{"addresses", "port_security", "options"}, "name=p1")
	addr := cl.MAC.String() + " " + cl.Addrs[0].Addr().String()
	if row.Set("addresses")[0] != addr || row.Set("port_security")[0] != addr || row.Map("options")[keys.OptRequestedChassis] != "ch1" {
		t.Errorf("row %v, want addresses %q", row, addr)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := nb.LookupPort("p1"); return err == nil }, "p1 not cached")
	got, _ := nb.LookupPort("p1")
	if got.ContainerID != "c1" || got.Ifname != "eth0" || got.Chassis != "ch1" || !slices.Equal(got.SecurityGroups, want.SecurityGroups) {
		t.Errorf("port read back: %+v", got)
	}

	// The group store refuses: nothing is created, the address is given back.
	g.err = errors.New("no such group")
	if _, err := ps.Create(ctx, ovn.Port{Name: "p2", Network: "blue"}, nbstore.Want{}); !errors.Is(err, g.err) {
		t.Fatalf("refused create: %v", err)
	}
	if _, err := nb.GetPort("p2"); err == nil || used() != 1 {
		t.Fatalf("a refused create left a port or an address (%d in use)", used())
	}

	if err := ps.Delete(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := nb.GetPort("p1"); return err != nil }, "p1 not deleted")
	if used() != 0 {
		t.Fatalf("%d addresses in use after the delete", used())
	}
	if err := ps.Delete(ctx, "p1"); err != nil {
		t.Fatalf("second delete: %v", err)
	}
	if err := nb.CreatePort(ctx, mustSwitch(t, nb), &nbdb.LogicalSwitchPort{Name: "foreign"}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := nb.GetPort("foreign"); return err == nil }, "foreign not cached")
	if err := ps.Delete(ctx, "foreign"); !errors.Is(err, ovn.ErrNotManaged) {
		t.Fatalf("delete of a port not QuantumNet's: %v", err)
	}
}

func mustSwitch(t *testing.T, nb *ovn.NB) *nbdb.LogicalSwitch {
	ls, err := nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	return ls
}
