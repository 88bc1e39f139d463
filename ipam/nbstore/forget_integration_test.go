package nbstore

import (
	"context"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
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
