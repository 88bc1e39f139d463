package vm

import (
	"context"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// startHandoff starts an NB with the network blue and two daemons' VM
// managers, a on chassis-a and b on chassis-b, that share one NB client.
func startHandoff(t *testing.T) (context.Context, *ovsdbtest.Server, *ovn.NB, *Manager, *Manager) {
	t.Helper()
	spec, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.9.0.0/24"})
	nb, srv := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := ovsdbtest.Logger(t)
	ps := &lport.Ports{NB: nb, Store: &nbstore.Store{NB: nb, Log: log}}
	a := &Manager{NB: nb, Ports: ps, Chassis: "chassis-a", ReadyTimeout: time.Second, Log: log}
	b := &Manager{NB: nb, Ports: ps, Chassis: "chassis-b", ReadyTimeout: time.Second, Log: log}
	return ctx, srv, nb, a, b
}

// TestIntegrationMigrationHandoff: the destination binds the ports on both
// chassis with RARP activation; completion leaves only the destination;
// failure gives them back to the source; addresses never change; a daemon
// restarting in the middle finishes or rolls back from what NB says.
func TestIntegrationMigrationHandoff(t *testing.T) {
	ctx, srv, nb, a, b := startHandoff(t)
	dom := Domain{Name: "mig1", UUID: "44444444-2222-3333-4444-555555555555", NICs: []NIC{{InterfaceID: "mmmm", MAC: "52:54:00:00:00:31", Network: "blue"}}}
	ports, err := a.Prepare(ctx, dom)
	if err != nil {
		t.Fatal(err)
	}
	addr := ports[0].Addrs[0]
	db := "--db=" + srv.Remote
	opt := func(k string) string {
		out, _ := srv.TryRun("ovn-nbctl", db, "--if-exists", "get", "Logical_Switch_Port", "mmmm", "options:"+k)
		return trim(out)
	}
	eventually := func(cond func() bool, msg string) { ovsdbtest.Eventually(t, 5*time.Second, cond, msg) }

	// a -> b, completed (the source's release hook).
	if err := b.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	if opt("requested-chassis") != "chassis-a,chassis-b" || opt("activation-strategy") != "rarp" {
		t.Fatalf("during migration: requested-chassis %q, activation %q", opt("requested-chassis"), opt("activation-strategy"))
	}
	eventually(func() bool { p, _ := nb.LookupPort("mmmm"); return p.Migration() == "chassis-a -> chassis-b" }, "migration not readable from NB")
	// The destination's prepare keeps both chassis; undefine on the source
	// (--undefinesource) does not delete a moving port.
	if _, err := b.Prepare(ctx, dom); err != nil {
		t.Fatal(err)
	}
	if opt("requested-chassis") != "chassis-a,chassis-b" {
		t.Fatalf("destination prepare changed requested-chassis to %q", opt("requested-chassis"))
	}
	if err := a.Undefined(ctx, dom.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetPort("mmmm"); err != nil {
		t.Fatal("the source's undefine deleted a migrating port")
	}
	if err := a.Released(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return opt("requested-chassis") == "chassis-b" && opt("activation-strategy") == "" }, "completion did not leave chassis-b alone")

	// b -> a, failed (the destination's release hook): back to b.
	if err := a.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return opt("requested-chassis") == "chassis-b,chassis-a" }, "second migration not set up")
	if err := a.Released(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return opt("requested-chassis") == "chassis-b" && opt("activation-strategy") == "" }, "failure did not go back to the source")

	// b -> a, the destination daemon restarts in the middle: the domain runs
	// here now, so the reconcile completes it.
	if err := a.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return opt("requested-chassis") == "chassis-b,chassis-a" }, "third migration not set up")
	if err := a.ReconcileMigrations(ctx, func(string) string { return "running" }); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return opt("requested-chassis") == "chassis-a" }, "reconcile did not complete the handoff")
	p, _ := nb.GetPort("mmmm")
	if want := "52:54:00:00:00:31 " + addr.String(); len(p.Addresses) != 1 || p.Addresses[0] != want {
		t.Fatalf("the addresses changed across migrations: %v, want %s", p.Addresses, want)
	}
}

func trim(s string) string {
	for len(s) > 0 && (s[0] == '"' || s[len(s)-1] == '"' || s[len(s)-1] == '\n') {
		if s[0] == '"' {
			s = s[1:]
		} else {
			s = s[:len(s)-1]
		}
	}
	return s
}
