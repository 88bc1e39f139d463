package vm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
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
func (m *Manager) domainPorts(d Domain) ([]ovn.Port, error) {
	var out []ovn.Port
	for _, nic := range d.NICs {
		p, err := m.NB.LookupPort(nic.InterfaceID)
		if err != nil {
			return nil, fmt.Errorf("domain %s: NIC %s: no logical port (was the domain started through QuantumNet?): %w", d.Name, nic.InterfaceID, errs.NotFound)
		}
		if p.Kind != keys.KindVM || p.VMUUID != d.UUID {
			return nil, fmt.Errorf("%w: domain %s: logical port %s is not this domain's", errs.Invalid, d.Name, p.Name)
		}
		out = append(out, p)
	}
	return out, nil
}

// portChange is a change of one port's options and external_ids.
type portChange struct {
	port   ovn.Port
	change ovn.PortChange
}

// updatePorts writes the changes in one transaction.
func (m *Manager) updatePorts(ctx context.Context, what string, changes []portChange) error {
	var ops []ovsdb.Operation
	for _, c := range changes {
		o, err := m.NB.SetPortKeysOps(c.port, c.change)
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
	ps, err := m.domainPorts(d)
	if err != nil {
		return err
	}
	var changes []portChange
	src := ""
	for _, p := range ps {
		src = p.Chassis
		if to := p.MigrationTo; to != "" && to != m.Chassis {
			return fmt.Errorf("%w: domain %s: port %s is already migrating to %s", errs.Invalid, d.Name, p.Name, to)
		}
		if src == "" || src == m.Chassis {
			src = p.MigrationFrom
		}
		if src == "" || src == m.Chassis {
			return fmt.Errorf("%w: domain %s: port %s: cannot tell the source chassis", errs.Invalid, d.Name, p.Name)
		}
		changes = append(changes, portChange{p, ovn.PortChange{
			Options: map[string]string{keys.OptRequestedChassis: src + "," + m.Chassis, keys.OptActivation: "rarp"},
			IDs:     map[string]string{keys.MigrationFrom: src, keys.MigrationTo: m.Chassis, keys.VMState: "migrating"},
		}})
	}
	if err := m.updatePorts(ctx, "migration of "+d.Name+" begins", changes); err != nil {
		return err
	}
	if len(changes) > 0 {
		src = changes[0].change.IDs[keys.MigrationFrom]
	}
	m.Log.Info("migration in: ports bound on both chassis", "domain", d.Name, "from", src, "to", m.Chassis)
	m.handoffBegan(d.UUID)
	m.expectArrival(d)
	return nil
}

// expectArrival gives the domain's ports back to the source if the
// incoming domain never shows up here (libvirt refused it after the
// migrate hook, e.g. a name conflict): no hook or event will say so. Only
// this chassis, the destination, decides: when its libvirt can be asked,
// a domain defined here (paused while its memory is copied, or running)
// keeps the handoff whatever the timer says.
func (m *Manager) expectArrival(d Domain) {
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
		if !pending || !m.migratingHere(d) {
			return
		}
		if st, known := m.domainState(d.UUID); known && st != "" {
			m.Log.Info("migration in: no prepare hook seen, but libvirt here has the domain: keeping the handoff", "domain", d.Name, "state", st)
			return
		}
		m.Log.Warn("migration in: the domain never arrived, giving its ports back to the source", "domain", d.Name)
		_ = m.MigrationFailed(context.Background(), d.UUID)
	}()
}

// SetDomainState gives the manager a way to ask this host's libvirt about
// a domain (nil: none, e.g. while disconnected). state returns "running",
// "paused", "shutoff", or "" for a domain not defined here; known is false
// when libvirt could not answer.
func (m *Manager) SetDomainState(state func(uuid string) (st string, known bool)) {
	m.mu.Lock()
	m.stateOf = state
	m.mu.Unlock()
}

// domainState asks this host's libvirt about a domain (known false: no
// answer).
func (m *Manager) domainState(uuid string) (string, bool) {
	m.mu.Lock()
	f := m.stateOf
	m.mu.Unlock()
	if f == nil {
		return "", false
	}
	return f(uuid)
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
		if p, err := m.NB.LookupPort(nic.InterfaceID); err == nil && p.MigrationTo == m.Chassis {
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
	var changes []portChange
	name, owner := "", ""
	for _, p := range m.portsOf(uuid) {
		if p.MigrationTo == "" {
			continue
		}
		owner = p.MigrationFrom
		if done {
			owner = p.MigrationTo
		}
		if name == "" {
			name = p.VMName
		}
		changes = append(changes, portChange{p, ovn.PortChange{
			Options: map[string]string{keys.OptRequestedChassis: owner, keys.OptActivation: ""},
			IDs:     map[string]string{keys.Chassis: owner, keys.VMState: "running", keys.MigrationFrom: "", keys.MigrationTo: ""},
		}})
	}
	if len(changes) == 0 {
		return nil
	}
	what := "migration done"
	if !done {
		what = "migration rolled back"
	}
	if err := m.updatePorts(ctx, what, changes); err != nil {
		return err
	}
	m.handoffEnded(uuid, done)
	m.Log.Info(what, "domain", name, "chassis", changes[0].change.Options[keys.OptRequestedChassis])
	return nil
}

// MigrationDone makes the destination the ports' only chassis.
func (m *Manager) MigrationDone(ctx context.Context, uuid string) error {
	return m.finish(ctx, uuid, true)
}

// RunsHere handles proof that the domain runs on this chassis after an
// incoming migration (libvirt's RESUMED_MIGRATED here, or a reconcile that
// finds it running here): its ports become this chassis' alone, also when
// NB no longer shows the handoff (rolled back while the guest was on its
// way, e.g. by an older daemon's timer). A newer handoff away from here is
// left alone.
func (m *Manager) RunsHere(ctx context.Context, uuid string) error {
	m.handoffEnded(uuid, true) // the guest runs here, whoever updated NB
	var changes []portChange
	name := ""
	for _, p := range m.portsOf(uuid) {
		if p.MigrationTo != "" && p.MigrationTo != m.Chassis {
			continue // moving on from here: that handoff decides
		}
		if p.MigrationTo == "" && p.RequestedChassis == m.Chassis && p.Chassis == m.Chassis {
			continue
		}
		name = p.VMName
		changes = append(changes, portChange{p, ovn.PortChange{
			Options: map[string]string{keys.OptRequestedChassis: m.Chassis, keys.OptActivation: ""},
			IDs:     map[string]string{keys.Chassis: m.Chassis, keys.VMState: "running", keys.MigrationFrom: "", keys.MigrationTo: ""},
		}})
	}
	if len(changes) == 0 {
		return nil
	}
	if err := m.updatePorts(ctx, "migration done (the domain runs here)", changes); err != nil {
		return err
	}
	m.Log.Info("migration done: the domain runs here", "domain", name, "chassis", m.Chassis)
	return nil
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
		case p.MigrationFrom:
			return m.MigrationDone(ctx, d.UUID)
		case p.MigrationTo:
			return m.MigrationFailed(ctx, d.UUID)
		}
	}
	m.Stopped(ctx, d)
	return nil
}

// ReconcileMigrations finishes or rolls back half-done handoffs this
// chassis is part of after a restart or a libvirt reconnect: state(uuid)
// tells whether the domain runs here ("running"), is here but not running
// ("paused", "shutoff"), or is not defined here (""). Only the destination
// rolls back, and only when its libvirt says the domain is not there: the
// source cannot tell a slow migration from a failed one (a failure that
// resumes the guest on the source fires the destination's release hook).
func (m *Manager) ReconcileMigrations(ctx context.Context, state func(uuid string) string) error {
	ps, err := m.NB.Ports(map[string]string{keys.Kind: keys.KindVM})
	if err != nil {
		return err
	}
	var errs []error
	seen := map[string]bool{}
	for _, p := range ps {
		u := p.VMUUID
		from, to := p.MigrationFrom, p.MigrationTo
		if to == "" || seen[u] || (from != m.Chassis && to != m.Chassis) {
			continue
		}
		seen[u] = true
		st := state(u)
		switch {
		case to == m.Chassis && st == "running":
			errs = append(errs, m.RunsHere(ctx, u))
		case to == m.Chassis && st == "":
			errs = append(errs, m.MigrationFailed(ctx, u))
		case from == m.Chassis && st == "":
			// Gone from the source (--undefinesource): it runs there.
			errs = append(errs, m.MigrationDone(ctx, u))
		default:
			// In flight (paused on the destination, running on the source):
			// the destination's release hook or RESUMED_MIGRATED ends it.
			m.Log.Info("migration in progress: left to the destination", "domain", p.VMName, "from", from, "to", to, "state here", st)
		}
	}
	return errors.Join(errs...)
}
