package ovn_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationRowIndexes (issue 20): the lookups a sweep makes per
// network go through indexes, and answer as the scans did: a switch right
// after its creation (the index lags the cache: the scan answers a miss),
// not after its deletion; ports and router ports by name; the routers
// holding a router port, following a move.
func TestIntegrationRowIndexes(t *testing.T) {
	nb, _ := ovntest.NewNB(t, ovntest.Switch("blue", map[string]string{keys.Network: "blue"}))
	ctx := ovsdbtest.Context(t, 20*time.Second)
	if _, err := nb.CreateSwitch(ctx, "red", nil); err != nil {
		t.Fatal(err)
	}
	if ls, err := nb.GetSwitch("red"); err != nil || ls.Name != ovn.SwitchName("red") { // at once: no waiting for the index
		t.Fatalf("GetSwitch(red) right after its creation = %v, %v", ls, err)
	}
	if _, err := nb.GetSwitch("green"); !errors.Is(err, ovn.ErrNotFound) {
		t.Errorf("GetSwitch(green) = %v, want not found", err)
	}
	ls, err := nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	if err := nb.CreatePort(ctx, ls, &nbdb.LogicalSwitchPort{Name: "blue-1", ExternalIDs: map[string]string{keys.Network: "blue"}}); err != nil {
		t.Fatal(err)
	}
	if p, err := nb.GetPort("blue-1"); err != nil || p.Name != "blue-1" {
		t.Errorf("GetPort(blue-1) = %v, %v", p, err)
	}
	if _, err := nb.GetPort("blue-2"); !errors.Is(err, ovn.ErrNotFound) {
		t.Errorf("GetPort(blue-2) = %v, want not found", err)
	}

	// Two routers; the port moves from one to the other.
	for _, r := range []string{"r1", "r2"} {
		lrp := &nbdb.LogicalRouterPort{UUID: "lrp", Name: r + "-p", MAC: "0a:00:00:00:00:01", Networks: []string{"10.0.0.1/24"}}
		ops, err := nb.CreateRouterOps(&nbdb.LogicalRouter{UUID: "lr", Name: r}, lrp)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ovs.Transact(ctx, nb.Conn, "router "+r, ops); err != nil {
			t.Fatal(err)
		}
	}
	p := nb.GetRouterPort("r1-p")
	r1, r2 := nb.GetRouter("r1"), nb.GetRouter("r2")
	if p == nil || r1 == nil || r2 == nil {
		t.Fatalf("router port %v, routers %v %v", p, r1, r2)
	}
	holding := func(want ...string) {
		t.Helper()
		ovsdbtest.Eventually(t, 5*time.Second, func() bool {
			got, err := nb.RoutersHolding(p.UUID)
			slices.Sort(got)
			slices.Sort(want)
			return err == nil && slices.Equal(got, want)
		}, "routers holding %s: want %v", p.Name, want)
	}
	holding(r1.UUID)
	e := ovn.EditRouter(r2.UUID)
	e.AddPort(p.UUID)
	move, err := nb.RouterEditOps(e)
	if err != nil {
		t.Fatal(err)
	}
	e = ovn.EditRouter(r1.UUID)
	e.DeletePort(p.UUID)
	drop, err := nb.RouterEditOps(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ovs.Transact(ctx, nb.Conn, "move", append(move, drop...)); err != nil {
		t.Fatal(err)
	}
	holding(r2.UUID)

	if err := nb.DeleteSwitch(ctx, "red"); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetSwitch("red"); !errors.Is(err, ovn.ErrNotFound) {
		t.Errorf("GetSwitch(red) after its deletion = %v, want not found", err)
	}
}
