package nbstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationStateBounded (Bounds): the store keeps state only for
// networks that exist — none for names asked that are no network — and
// drops a network's state on Forget (its switch deleted).
func TestIntegrationStateBounded(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a := newAllocator(t, srv)
	createNet(t, a, network.Input{Name: "n1", Subnet4: "10.1.0.0/24"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.createPort(ctx, Want{}, "p1"); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		tx := a.Begin("nosuch"+string(rune('a'+i%26))+string(rune('a'+i/26)), "probe")
		if _, err := tx.Allocate(ctx, Want{}, "p"); err == nil {
			t.Fatal("allocated on a network that does not exist")
		}
	}
	if n := a.cachedNets(); n != 1 {
		t.Errorf("state for %d networks after asking 100 that do not exist, want 1", n)
	}
	a.Forget("n1")
	if n := a.cachedNets(); n != 0 {
		t.Errorf("state for %d networks after Forget, want 0", n)
	}
	if _, err := a.createPort(ctx, Want{}, "p2"); err != nil { // rebuilt from Northbound
		t.Fatalf("after Forget: %v", err)
	}
}

// TestIntegrationBasePoolsCached (defect 2): the empty pools of a network's
// ranges are built once per daemon, not on every rebuild after another
// daemon's allocation, and again when the network's spec changes.
func TestIntegrationBasePoolsCached(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a, b := newAllocator(t, srv), newAllocator(t, srv)
	createNet(t, a, network.Input{Name: "n1", Subnet4: "10.0.0.0/8", Exclude: []string{"10.1.0.0-10.200.255.255"}})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	before := basePools.Load()
	for i := range 10 { // each daemon's turn follows the other's allocation: a rebuild
		for j, s := range []*Store{a, b} {
			if _, err := s.createPort(ctx, Want{}, fmt.Sprintf("p%d-%d", i, j)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := basePools.Load() - before; n != 2 {
		t.Errorf("20 allocations by 2 daemons built %d base pools, want 2 (one per daemon)", n)
	}
	ls, err := a.NB.GetSwitch("n1")
	if err != nil {
		t.Fatal(err)
	}
	srv.Run("ovn-nbctl", "--db="+srv.Remote, "set", "Logical_Switch", ls.UUID, `external_ids:"`+keys.MTU+`"="1300"`)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		ls, err := a.NB.GetSwitch("n1")
		return err == nil && ls.ExternalIDs[keys.MTU] == "1300"
	}, "the change in the cache")
	before = basePools.Load()
	if _, err := a.createPort(ctx, Want{}, "after-change"); err != nil {
		t.Fatal(err)
	}
	if n := basePools.Load() - before; n != 1 {
		t.Errorf("after a spec change, %d base pools built, want 1", n)
	}
}
