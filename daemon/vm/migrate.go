package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Live migration handoff. The destination's migrate hook binds the ports on
// both chassis at once (requested-chassis="SRC,DST", activation-strategy=
// rarp): the destination installs its flows in advance but forwards nothing
// until the guest announces itself with the RARP QEMU sends after the
// switchover, so the network follows the guest within a packet. Completion
// makes the destination the ports' only chassis; failure gives them back to
// the source. Every step is one NB transaction and readable from NB (the
// migration-from / migration-to keys), so a daemon restarting in the middle
// finishes or rolls back what it finds.

// domainPorts returns the VM ports of the domain's NICs, checked.
func (m *Manager) domainPorts(d Domain) ([]*nbdb.LogicalSwitchPort, error) {
	var out []*nbdb.LogicalSwitchPort
	for _, nic := range d.NICs {
		lsp, err := m.NB.GetPort(nic.InterfaceID)
		if err != nil {
			return nil, fmt.Errorf("domain %s: NIC %s: no logical port (was the domain started through QuantumNet?): %w", d.Name, nic.InterfaceID, ErrNotFound)
		}
		if lsp.ExternalIDs[keys.Kind] != keys.KindVM || lsp.ExternalIDs[keys.VMUUID] != d.UUID {
			return nil, fmt.Errorf("%w: domain %s: logical port %s is not this domain's", ErrInvalid, d.Name, lsp.Name)
		}
		out = append(out, lsp)
	}
	return out, nil
}

// updatePorts writes options and external_ids of lsps in one transaction.
func (m *Manager) updatePorts(ctx context.Context, what string, lsps []*nbdb.LogicalSwitchPort) error {
	var ops []ovsdb.Operation
	for _, lsp := range lsps {
		o, err := m.NB.Where(lsp).Update(lsp, &lsp.Options, &lsp.ExternalIDs)
		if err != nil {
			return err
		}
		ops = append(ops, o...)
	}
	if len(ops) == 0 {
		return nil
	}
	_, err := m.NB.TransactResults(ctx, what, ops)
	return err
}

// MigrateIn runs on the destination when an incoming migration begins.
func (m *Manager) MigrateIn(ctx context.Context, d Domain) error {
	lsps, err := m.domainPorts(d)
	if err != nil {
		return err
	}
	for _, lsp := range lsps {
		src := lsp.ExternalIDs[keys.Chassis]
		if to := lsp.ExternalIDs[keys.MigrationTo]; to != "" && to != m.Chassis {
			return fmt.Errorf("%w: domain %s: port %s is already migrating to %s", ErrInvalid, d.Name, lsp.Name, to)
		}
		if src == "" || src == m.Chassis {
			src = lsp.ExternalIDs[keys.MigrationFrom]
		}
		if src == "" || src == m.Chassis {
			return fmt.Errorf("%w: domain %s: port %s: cannot tell the source chassis", ErrInvalid, d.Name, lsp.Name)
		}
		if lsp.Options == nil {
			lsp.Options = map[string]string{}
		}
		lsp.Options[keys.OptRequestedChassis] = src + "," + m.Chassis
		lsp.Options[keys.OptActivation] = "rarp"
		lsp.ExternalIDs[keys.MigrationFrom] = src
		lsp.ExternalIDs[keys.MigrationTo] = m.Chassis
		lsp.ExternalIDs[keys.VMState] = "migrating"
	}
	if err := m.updatePorts(ctx, "migration of "+d.Name+" begins", lsps); err != nil {
		return err
	}
	m.Log.Info("migration in: ports bound on both chassis", "domain", d.Name, "from", lsps[0].ExternalIDs[keys.MigrationFrom], "to", m.Chassis)
	// If the incoming domain never shows up here (libvirt refused it after
	// this hook, e.g. a name conflict), no hook or event will say so: give
	// the ports back to the source.
	m.mu.Lock()
	if m.incoming == nil {
		m.incoming = map[string]bool{}
	}
	m.incoming[d.UUID] = true
	m.mu.Unlock()
	go func() {
		time.Sleep(m.ReadyTimeout)
		m.mu.Lock()
		pending := m.incoming[d.UUID]
		delete(m.incoming, d.UUID)
		m.mu.Unlock()
		if pending && m.migratingHere(d) {
			m.Log.Warn("migration in: the domain never arrived, giving its ports back to the source", "domain", d.Name)
			_ = m.MigrationFailed(context.Background(), d.UUID)
		}
	}()
	return nil
}

// arrived records that an incoming domain reached prepare here.
func (m *Manager) arrived(uuid string) {
	m.mu.Lock()
	delete(m.incoming, uuid)
	m.mu.Unlock()
}

// migrating reports whether the domain's ports are moving to this chassis.
func (m *Manager) migratingHere(d Domain) bool {
	for _, nic := range d.NICs {
		if lsp, err := m.NB.GetPort(nic.InterfaceID); err == nil && lsp.ExternalIDs[keys.MigrationTo] == m.Chassis {
			return true
		}
	}
	return false
}

// WaitInstalled blocks until ovn-controller installed the flows of every
// NIC's port here (the destination's started hook, QEMU still paused).
func (m *Manager) WaitInstalled(ctx context.Context, d Domain) error {
	ctx, cancel := context.WithTimeout(ctx, m.ReadyTimeout)
	defer cancel()
	for _, nic := range d.NICs {
		if err := m.OVS.WaitInstalledByIfaceID(ctx, nic.InterfaceID); err != nil {
			return err
		}
	}
	return nil
}

// finish ends a migration of the domain's ports: to its destination (done)
// or back to its source (failed). Ports not migrating are left alone.
func (m *Manager) finish(ctx context.Context, uuid string, done bool) error {
	var lsps []*nbdb.LogicalSwitchPort
	for _, p := range m.portsOf(uuid) {
		from, to := p.ExternalIDs[keys.MigrationFrom], p.ExternalIDs[keys.MigrationTo]
		if to == "" {
			continue
		}
		owner := from
		state := "running"
		if done {
			owner = to
		}
		p.Options[keys.OptRequestedChassis] = owner
		delete(p.Options, keys.OptActivation)
		p.ExternalIDs[keys.Chassis] = owner
		p.ExternalIDs[keys.VMState] = state
		delete(p.ExternalIDs, keys.MigrationFrom)
		delete(p.ExternalIDs, keys.MigrationTo)
		lsps = append(lsps, &p)
	}
	if len(lsps) == 0 {
		return nil
	}
	what := "migration done"
	if !done {
		what = "migration rolled back"
	}
	if err := m.updatePorts(ctx, what, lsps); err != nil {
		return err
	}
	m.Log.Info(what, "domain", lsps[0].ExternalIDs[keys.VMName], "chassis", lsps[0].Options[keys.OptRequestedChassis])
	return nil
}

// MigrationDone makes the destination the ports' only chassis.
func (m *Manager) MigrationDone(ctx context.Context, uuid string) error {
	return m.finish(ctx, uuid, true)
}

// MigrationFailed gives the ports back to the source.
func (m *Manager) MigrationFailed(ctx context.Context, uuid string) error {
	return m.finish(ctx, uuid, false)
}

// Released handles the stopped/release hooks: on the source of a migration
// they mean the guest now runs on the destination; on the destination they
// mean the incoming migration failed; otherwise the domain just stopped.
func (m *Manager) Released(ctx context.Context, d Domain) error {
	for _, p := range m.portsOf(d.UUID) {
		switch m.Chassis {
		case p.ExternalIDs[keys.MigrationFrom]:
			return m.MigrationDone(ctx, d.UUID)
		case p.ExternalIDs[keys.MigrationTo]:
			return m.MigrationFailed(ctx, d.UUID)
		}
	}
	m.Stopped(ctx, d)
	return nil
}

// ReconcileMigrations finishes or rolls back half-done handoffs this
// chassis is part of after a restart: state(uuid) tells whether the domain
// runs here ("running"), is here but not running ("paused", "shutoff"), or
// is not defined here ("").
func (m *Manager) ReconcileMigrations(ctx context.Context, state func(uuid string) string) error {
	ps, err := m.NB.ListPorts(map[string]string{keys.Kind: keys.KindVM})
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]bool{}
	for _, p := range ps {
		u := p.ExternalIDs[keys.VMUUID]
		from, to := p.ExternalIDs[keys.MigrationFrom], p.ExternalIDs[keys.MigrationTo]
		if to == "" || seen[u] || (from != m.Chassis && to != m.Chassis) {
			continue
		}
		seen[u] = true
		st := state(u)
		switch {
		case to == m.Chassis && st == "running":
			errs = append(errs, m.MigrationDone(ctx, u))
		case to == m.Chassis && st == "":
			errs = append(errs, m.MigrationFailed(ctx, u))
		case from == m.Chassis && st == "running":
			// Still migrating, or failed and resumed here: the source keeps
			// the ports until the destination says otherwise; if nothing
			// happens for a while, give them back.
			go func() {
				time.Sleep(2 * m.ReadyTimeout)
				if lsp, err := m.NB.GetPort(p.Name); err == nil && lsp.ExternalIDs[keys.MigrationTo] == to && state(u) == "running" {
					_ = m.MigrationFailed(context.Background(), u)
				}
			}()
		case from == m.Chassis && st == "":
			errs = append(errs, m.MigrationDone(ctx, u))
		}
	}
	return errors.Join(errs...)
}

// Migration describes a port's migration for display ("" when none).
func Migration(p *nbdb.LogicalSwitchPort) string {
	if to := p.ExternalIDs[keys.MigrationTo]; to != "" {
		return p.ExternalIDs[keys.MigrationFrom] + " -> " + to
	}
	return ""
}
