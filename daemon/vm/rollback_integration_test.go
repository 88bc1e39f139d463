package vm

import (
	"context"
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
	r := &rollbackCase{t: t, ctx: ctx, nb: nb, a: a, b: b, dom: dom}
	r.slowWithSourceRestart()
	r.mistakenRollback()
	r.destinationDecides()
}

// rollbackCase is the domain slow1 with one port, ssss, and the managers
// of chassis-a and chassis-b.
type rollbackCase struct {
	t    *testing.T
	ctx  context.Context
	nb   *ovn.NB
	a, b *Manager
	dom  Domain
}

func (r *rollbackCase) port() ovn.Port { p, _ := r.nb.LookupPort("ssss"); return p }

func (r *rollbackCase) eventually(cond func() bool, msg string) {
	r.t.Helper()
	ovsdbtest.Eventually(r.t, 5*time.Second, cond, msg)
}

// migrating: bound on both chassis, a -> b.
func (r *rollbackCase) migrating() bool {
	p := r.port()
	return p.RequestedChassis == "chassis-a,chassis-b" && p.MigrationTo == "chassis-b"
}

func (r *rollbackCase) must(err error) {
	r.t.Helper()
	if err != nil {
		r.t.Fatal(err)
	}
}

// kept fails the test if the port is gone.
func (r *rollbackCase) kept(why string) {
	r.t.Helper()
	if _, err := r.nb.GetPort("ssss"); err != nil {
		r.t.Fatal(why)
	}
}

// slowWithSourceRestart: a -> b takes longer than 2 x ready_timeout and
// the source daemon restarts in the middle: the handoff stays; the
// source's --undefinesource keeps the port; RESUMED_MIGRATED on b ends it.
func (r *rollbackCase) slowWithSourceRestart() {
	t, ctx, a, b := r.t, r.ctx, r.a, r.b
	b.SetDomainState(func(string) (string, bool) { return "paused", true })
	r.must(b.MigrateIn(ctx, r.dom))
	r.eventually(r.migrating, "handoff not set up")
	// No prepare hook reaches b (its daemon missed it) and the source
	// daemon restarts: the source reconciles with the domain running there.
	r.must(a.ReconcileMigrations(ctx, func(string) string { return "running" }))
	r.must(b.ReconcileMigrations(ctx, func(string) string { return "paused" }))
	time.Sleep(3*a.ReadyTimeout + 300*time.Millisecond) // well past 2 x ready_timeout
	if !r.migrating() {
		p := r.port()
		t.Fatalf("a timer rolled the handoff back: requested-chassis %q, migration %q", p.RequestedChassis, p.Migration())
	}
	// --undefinesource: the source's UNDEFINED may come before the end.
	r.must(a.Undefined(ctx, r.dom.UUID))
	r.kept("the source's undefine deleted a migrating port")
	r.must(b.RunsHere(ctx, r.dom.UUID))
	r.eventually(func() bool {
		p := r.port()
		return p.RequestedChassis == "chassis-b" && p.Chassis == "chassis-b" && p.MigrationTo == "" && p.Activation == ""
	}, "RESUMED_MIGRATED did not give the port to the destination")
	r.must(a.Undefined(ctx, r.dom.UUID))
	r.kept("the source's undefine deleted the destination's port")
}

// mistakenRollback: b -> a rolled back while the guest moves (an older
// daemon's timer): RESUMED_MIGRATED on a still takes the port; b's
// undefine keeps it; a port requested by another chassis survives a
// reconcile that finds its domain gone.
func (r *rollbackCase) mistakenRollback() {
	ctx, a, b, nb := r.ctx, r.a, r.b, r.nb
	r.must(a.MigrateIn(ctx, r.dom))
	r.eventually(func() bool { return r.port().MigrationTo == "chassis-a" }, "b -> a not set up")
	r.must(b.MigrationFailed(ctx, r.dom.UUID)) // the mistaken rollback
	r.eventually(func() bool { return r.port().RequestedChassis == "chassis-b" && r.port().MigrationTo == "" }, "rollback not seen")
	r.must(b.MigrationDone(ctx, r.dom.UUID)) // STOPPED_MIGRATED on b: nothing to finish
	r.must(a.RunsHere(ctx, r.dom.UUID))
	r.eventually(func() bool { return r.port().RequestedChassis == "chassis-a" && r.port().Chassis == "chassis-a" }, "the destination did not take its port back")
	r.must(b.Undefined(ctx, r.dom.UUID))
	r.kept("the old source's undefine deleted the port")
	// Records that disagree (created on a, requested on b).
	r.must(nb.SetPortKeys(ctx, r.port(), ovn.PortChange{Options: map[string]string{keys.OptRequestedChassis: "chassis-b"}}))
	r.eventually(func() bool { return r.port().RequestedChassis == "chassis-b" }, "requested-chassis not set")
	r.must(a.Reconcile(ctx, func(string) bool { return false }))
	r.kept("an undefine deleted a port requested by another chassis")
	r.must(nb.SetPortKeys(ctx, r.port(), ovn.PortChange{Options: map[string]string{keys.OptRequestedChassis: "chassis-a"}}))
	r.eventually(func() bool { return r.port().RequestedChassis == "chassis-a" }, "requested-chassis not set back")
}

// destinationDecides: b's libvirt says the domain is not there (refused
// after the migrate hook) -> back to the source, by b's timer and by b's
// reconcile alike.
func (r *rollbackCase) destinationDecides() {
	ctx, b := r.ctx, r.b
	back := func() bool { return r.port().RequestedChassis == "chassis-a" && r.port().MigrationTo == "" }
	b.SetDomainState(func(string) (string, bool) { return "", true })
	r.must(b.MigrateIn(ctx, r.dom))
	r.eventually(back, "the destination's timer did not roll back a domain its libvirt does not have")
	b.SetDomainState(func(string) (string, bool) { return "paused", true })
	r.must(b.MigrateIn(ctx, r.dom))
	r.eventually(r.migrating, "handoff not set up again")
	r.must(b.ReconcileMigrations(ctx, func(string) string { return "" }))
	r.eventually(back, "the destination's reconcile did not roll back")
}
