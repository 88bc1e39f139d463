package nbstore

import (
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationSpecForgotten: a network's cached spec goes with its
// switch row (the cache holds no deleted network).
func TestIntegrationSpecForgotten(t *testing.T) {
	m, _, _, ctx := newManager(t)
	forgot := make(chan string, 1)
	ForgetDeleted(m.NB, func(name string) { forgot <- name })
	base := network.CachedSpecs()
	if err := m.Create(ctx, mustSpec(t, network.Input{Name: "gone", Subnet4: "10.77.0.0/24"})); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := m.Get("gone"); return err == nil }, "get")
	if network.CachedSpecs() != base+1 {
		t.Fatalf("%d cached specs after a lookup, want %d", network.CachedSpecs(), base+1)
	}
	if err := m.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return network.CachedSpecs() == base }, "the deleted network's spec forgotten")
	select {
	case name := <-forgot:
		if name != "gone" {
			t.Errorf("other caches told to forget %q, want gone", name)
		}
	case <-time.After(5 * time.Second):
		t.Error("other caches not told to forget the deleted network")
	}
}
