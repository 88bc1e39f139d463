package vm

import (
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationMigrationRollbackRule (issue 15, defect 4): a handoff is
// rolled back only when the destination's own libvirt says the domain is
// not there. The source restarting in a migration slower than 2 x
// ready_timeout keeps the handoff; the destination's RESUMED_MIGRATED
// takes the ports even after a mistaken rollback; the source's undefine
// (--undefinesource) never deletes a port another chassis holds or is
// taking; the destination's timer keeps a handoff its libvirt has.
func TestIntegrationMigrationRollbackRule(t *testing.T) {
	ctx, _, nb, a, b := startHandoff(t)
	a.ReadyTimeout, b.ReadyTimeout = 100*time.Millisecond, 100*time.Millisecond
	dom := Domain{Name: "slow1", UUID: "55555555-2222-3333-4444-555555555555", NICs: []NIC{{InterfaceID: "ssss", MAC: "52:54:00:00:00:41", Network: "blue"}}}
	if _, err := a.Prepare(ctx, dom); err != nil {
		t.Fatal(err)
	}
	port := func() ovn.Port { p, _ := nb.LookupPort("ssss"); return p }
	eventually := func(cond func() bool, msg string) { ovsdbtest.Eventually(t, 5*time.Second, cond, msg) }
	migrating := func() bool { p := port(); return p.RequestedChassis == "chassis-a,chassis-b" && p.MigrationTo == "chassis-b" }

	// a -> b begins; the destination's libvirt has the domain (paused).
	b.SetDomainState(func(string) (string, bool) { return "paused", true })
	if err := b.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(migrating, "handoff not set up")
	// No prepare hook reaches b (its daemon missed it) and the source
	// daemon restarts: the source reconciles with the domain running there.
	if err := a.ReconcileMigrations(ctx, func(string) string { return "running" }); err != nil {
		t.Fatal(err)
	}
	if err := b.ReconcileMigrations(ctx, func(string) string { return "paused" }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3*a.ReadyTimeout + 300*time.Millisecond) // well past 2 x ready_timeout
	if !migrating() {
		p := port()
		t.Fatalf("a timer rolled the handoff back: requested-chassis %q, migration %q", p.RequestedChassis, p.Migration())
	}
	// --undefinesource: the source's UNDEFINED may come before the end.
	if err := a.Undefined(ctx, dom.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetPort("ssss"); err != nil {
		t.Fatal("the source's undefine deleted a migrating port")
	}
	// The guest resumes on b.
	if err := b.RunsHere(ctx, dom.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool {
		p := port()
		return p.RequestedChassis == "chassis-b" && p.Chassis == "chassis-b" && p.MigrationTo == "" && p.Activation == ""
	}, "RESUMED_MIGRATED did not give the port to the destination")
	if err := a.Undefined(ctx, dom.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetPort("ssss"); err != nil {
		t.Fatal("the source's undefine deleted the destination's port")
	}

	// A handoff rolled back by mistake (an older daemon's timer) while the
	// guest moves: RESUMED_MIGRATED on the destination still takes the
	// ports; the old owner's undefine keeps them.
	if err := a.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return port().MigrationTo == "chassis-a" }, "b -> a not set up")
	if err := b.MigrationFailed(ctx, dom.UUID); err != nil { // the mistaken rollback
		t.Fatal(err)
	}
	eventually(func() bool { return port().RequestedChassis == "chassis-b" && port().MigrationTo == "" }, "rollback not seen")
	if err := b.MigrationDone(ctx, dom.UUID); err != nil { // STOPPED_MIGRATED on b: nothing to finish
		t.Fatal(err)
	}
	if err := a.RunsHere(ctx, dom.UUID); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return port().RequestedChassis == "chassis-a" && port().Chassis == "chassis-a" }, "the destination did not take its port back")
	if err := b.Undefined(ctx, dom.UUID); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetPort("ssss"); err != nil {
		t.Fatal("the old source's undefine deleted the port")
	}
	// A port whose records disagree (created on a, requested on b): never
	// deleted by a's undefine.
	if err := nb.SetPortKeys(ctx, port(), ovn.PortChange{Options: map[string]string{keys.OptRequestedChassis: "chassis-b"}}); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return port().RequestedChassis == "chassis-b" }, "requested-chassis not set")
	if err := a.Reconcile(ctx, func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, err := nb.GetPort("ssss"); err != nil {
		t.Fatal("an undefine deleted a port requested by another chassis")
	}
	if err := nb.SetPortKeys(ctx, port(), ovn.PortChange{Options: map[string]string{keys.OptRequestedChassis: "chassis-a"}}); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return port().RequestedChassis == "chassis-a" }, "requested-chassis not set back")

	// The destination decides a rollback: its libvirt says the domain is not
	// there (refused after the migrate hook) -> back to the source, by the
	// timer and by a reconcile alike.
	b.SetDomainState(func(string) (string, bool) { return "", true })
	if err := b.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return port().RequestedChassis == "chassis-a" && port().MigrationTo == "" }, "the destination's timer did not roll back a domain its libvirt does not have")
	b.SetDomainState(func(string) (string, bool) { return "paused", true })
	if err := b.MigrateIn(ctx, dom); err != nil {
		t.Fatal(err)
	}
	eventually(migrating, "handoff not set up again")
	if err := b.ReconcileMigrations(ctx, func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	eventually(func() bool { return port().RequestedChassis == "chassis-a" && port().MigrationTo == "" }, "the destination's reconcile did not roll back")
}
