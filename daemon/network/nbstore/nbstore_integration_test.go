package nbstore

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// counter counts the follow-up calls a network change makes.
type counter struct{ ensured, synced atomic.Int32 }

func (c *counter) Ensure(context.Context, string) error { c.ensured.Add(1); return nil }
func (c *counter) Sync(context.Context) error           { c.synced.Add(1); return nil }

func newManager(t *testing.T) (*Manager, *counter, *ovsdbtest.Server, context.Context) {
	nb, srv := ovntest.NewNB(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := ovsdbtest.Logger(t)
	c := &counter{}
	return &Manager{NB: nb, Services: c, Groups: c, Log: log}, c, srv, ctx
}

func mustSpec(t *testing.T, in network.Input) network.Spec {
	t.Helper()
	s, err := network.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestIntegrationNetworkLifecycle(t *testing.T) {
	m, c, srv, ctx := newManager(t)
	blue := mustSpec(t, network.Input{Name: "blue", Subnet4: "10.9.0.0/24", Subnet6: "fd00:9::/64"})
	if err := m.Create(ctx, blue); err != nil {
		t.Fatal(err)
	}
	if c.ensured.Load() != 1 || c.synced.Load() != 1 {
		t.Fatalf("create: services ensured %d times, groups synced %d times, want 1 and 1", c.ensured.Load(), c.synced.Load())
	}
	if err := m.Create(ctx, blue); !errors.Is(err, errs.Conflict) {
		t.Fatalf("second create: %v, want a conflict", err)
	}
	var n Network
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { var err error; n, err = m.Get("blue"); return err == nil }, "get")
	if n.Subnet4 != blue.Subnet4 || n.Gateway6 != blue.Gateway6 || n.MTU != network.DefaultMTU || n.UUID == "" || n.Ports != 0 {
		t.Fatalf("view: %+v", n)
	}

	// An update changes the settings it names and keeps the others.
	if err := m.Update(ctx, "blue", func(in *network.Input) { in.MTU, in.DNSServers = 1300, []string{"10.9.0.53"} }); err != nil {
		t.Fatal(err)
	}
	if c.ensured.Load() != 2 {
		t.Fatalf("update: services ensured %d times, want 2", c.ensured.Load())
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { n, _ = m.Get("blue"); return n.MTU == 1300 }, "mtu 1300")
	if len(n.DNSServers) != 1 || n.DNSServers[0].String() != "10.9.0.53" || n.Subnet6 != blue.Subnet6 {
		t.Fatalf("after update: %+v", n)
	}
	ids := srv.Row(nbdb.LogicalSwitchTable, []string{"external_ids"}, "name="+ovn.SwitchName("blue")).Map("external_ids")
	if ids[keys.MTU] != "1300" || ids[keys.Subnet4] != "10.9.0.0/24" {
		t.Fatalf("stored: %v", ids)
	}

	// An invalid update is the caller's mistake and changes nothing.
	err := m.Update(ctx, "blue", func(in *network.Input) { in.MTU = 10 })
	if !errors.Is(err, errs.Invalid) || err.Error() != "mtu: 10 is out of range 576-9000" {
		t.Fatalf("invalid update: %v", err)
	}
	if n, _ = m.Get("blue"); n.MTU != 1300 {
		t.Fatalf("refused update changed the MTU to %d", n.MTU)
	}
	if err := m.Update(ctx, "red", func(*network.Input) {}); !errors.Is(err, errs.NotFound) {
		t.Fatalf("update of a missing network: %v", err)
	}

	red := mustSpec(t, network.Input{Name: "red", Subnet4: "10.10.0.0/24"})
	if err := m.Create(ctx, red); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { all, _ := m.List(); return len(all) == 2 }, "two networks")
	all, _ := m.List()
	if all[0].Name != "blue" || all[1].Name != "red" {
		t.Fatalf("list not sorted by name: %s, %s", all[0].Name, all[1].Name)
	}

	if err := m.Delete(ctx, "blue"); err != nil {
		t.Fatal(err)
	}
	if c.synced.Load() != 3 {
		t.Fatalf("groups synced %d times after two creates and a delete, want 3", c.synced.Load())
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := m.Get("blue"); return errors.Is(err, errs.NotFound) }, "blue gone")
	if err := m.Delete(ctx, "blue"); !errors.Is(err, errs.NotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

// A switch whose stored spec does not parse is a StoredError for Get and
// Update, and left out of List.
func TestIntegrationStoredInvalid(t *testing.T) {
	m, _, srv, ctx := newManager(t)
	if err := m.Create(ctx, mustSpec(t, network.Input{Name: "blue", Subnet4: "10.9.0.0/24"})); err != nil {
		t.Fatal(err)
	}
	srv.Run("ovn-nbctl", "--db="+srv.Remote, "set", "Logical_Switch", ovn.SwitchName("blue"), `external_ids:"`+keys.MTU+`"=5`)
	var err error
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err = m.Get("blue"); return err != nil }, "invalid read")
	if !errors.As(err, new(*network.StoredError)) {
		t.Fatalf("get: %v, want a StoredError", err)
	}
	if err := m.Update(ctx, "blue", func(in *network.Input) { in.MTU = 1400 }); !errors.As(err, new(*network.StoredError)) {
		t.Fatalf("update: %v, want a StoredError", err)
	}
	if all, err := m.List(); err != nil || len(all) != 0 {
		t.Fatalf("list: %v %v, want none", all, err)
	}
}

// Concurrent updates of one network all land (one lock per network here;
// the optimistic wait between daemons).
func TestIntegrationConcurrentUpdates(t *testing.T) {
	m, _, _, ctx := newManager(t)
	if err := m.Create(ctx, mustSpec(t, network.Input{Name: "blue", Subnet4: "10.9.0.0/24"})); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := m.Get("blue"); return err == nil }, "get")
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- m.Update(ctx, "blue", func(in *network.Input) { in.MTU = 1400 + i })
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Errorf("update: %v", err)
		}
	}
}
