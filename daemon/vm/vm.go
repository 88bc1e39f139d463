// Package vm gives libvirt domains their ports: one logical port per NIC,
// named by the NIC's interfaceid (libvirt adds the tap to br-int with that
// iface-id; ovn-controller binds by it), with an address from IPAM that
// the guest gets by OVN's native DHCP. A defined domain keeps its ports and
// addresses while it is shut off; they are released when it is undefined.
package vm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// NIC is one QuantumNet NIC of a domain.
type NIC struct {
	InterfaceID string
	MAC         string
	Network     string
	IPs         []netip.Addr
	// SecurityGroups from the domain metadata (normalized): applied when
	// the port is made, and again at every start.
	SecurityGroups []string
	// LoadBalancers from the domain metadata (normalized): the port joins
	// them at every start (already a member: nothing to do).
	LoadBalancers []string
}

// Domain is a libvirt domain as a hook or an event describes it.
type Domain struct {
	Name, UUID string
	NICs       []NIC
}

// Port is what a NIC got.
type Port struct {
	InterfaceID, Network, MAC string
	Addrs                     []netip.Addr
}

// Groups changes a live port's security groups (the security group store).
type Groups interface {
	SetPortGroups(ctx context.Context, port string, groups []string) ([]string, error)
}

// Manager owns the ports of this chassis' VMs.
type Manager struct {
	NB           *ovn.NB
	OVS          *ovs.Client
	Ports        *lport.Ports
	Chassis      string
	ReadyTimeout time.Duration
	Log          *slog.Logger
	Groups       Groups // optional
	// Observer, if set, is told of each handoff this destination ends
	// (daemon/metrics).
	Observer Observer
	// SB, if set, is read to measure a migration's network gap for the
	// Observer (MeasureGap).
	SB Bindings

	mu       sync.Mutex
	incoming map[string]bool                           // domains whose migration here began, not yet prepared
	handoffs map[string]time.Time                      // when each domain's ports became bound here and at the source
	stateOf  func(uuid string) (st string, known bool) // this host's libvirt (SetDomainState)
}

// Prepare makes sure every NIC has its port, before QEMU starts: existing
// ports (a defined domain starting again) are pinned to this chassis, new
// ones are allocated, then each joins the load balancers its metadata
// names. Nothing is left behind if one NIC fails.
func (m *Manager) Prepare(ctx context.Context, d Domain) (ports []Port, err error) {
	if d.UUID == "" {
		return nil, fmt.Errorf("%w: domain %s: no UUID", errs.Invalid, d.Name)
	}
	for _, nic := range d.NICs { // before anything is made
		if err := m.Ports.CheckLoadBalancers(nic.Network, nic.LoadBalancers); err != nil {
			return nil, fmt.Errorf("domain %s: NIC %s: %w", d.Name, nic.InterfaceID, err)
		}
	}
	var created []string
	defer func() {
		if err != nil {
			cleanup := context.WithoutCancel(ctx)
			for _, name := range created {
				_ = m.Ports.Delete(cleanup, name)
			}
		}
	}()
	for _, nic := range d.NICs {
		p, isNew, err := m.prepareNIC(ctx, d, nic)
		if err != nil {
			return nil, err
		}
		if isNew {
			created = append(created, nic.InterfaceID)
			m.Log.Info("VM port created", "domain", d.Name, "port", nic.InterfaceID, "network", nic.Network, "mac", p.MAC, "addresses", p.Addrs)
		}
		ports = append(ports, p)
	}
	for _, nic := range d.NICs {
		if err := m.Ports.JoinLoadBalancers(ctx, nic.InterfaceID, nic.LoadBalancers); err != nil {
			return nil, fmt.Errorf("domain %s: NIC %s: %w", d.Name, nic.InterfaceID, err)
		}
	}
	return ports, nil
}

// prepareNIC adopts the NIC's existing port or creates it (isNew).
func (m *Manager) prepareNIC(ctx context.Context, d Domain, nic NIC) (p Port, isNew bool, err error) {
	what := fmt.Sprintf("domain %s: NIC %s", d.Name, nic.InterfaceID)
	if nic.MAC == "" {
		return p, false, fmt.Errorf("%w: %s: no MAC address", errs.Invalid, what)
	}
	mac, perr := net.ParseMAC(nic.MAC)
	if perr != nil || len(mac) != 6 {
		return p, false, fmt.Errorf("%w: %s: MAC %q is not an Ethernet address", errs.Invalid, what, nic.MAC)
	}
	ls, gerr := m.NB.GetSwitch(nic.Network)
	if gerr != nil {
		return p, false, fmt.Errorf("%s: network %q does not exist: %w", what, nic.Network, errs.NotFound)
	}
	if _, serr := network.FromSwitch(ls); serr != nil {
		return p, false, serr
	}
	if lsp, gerr := m.NB.LookupPort(nic.InterfaceID); gerr == nil {
		p, uerr := m.adopt(ctx, d, nic, lsp)
		if uerr != nil {
			return p, false, fmt.Errorf("%s: %w", what, uerr)
		}
		return p, false, nil
	}
	claim, cerr := m.Ports.Create(ctx, m.portOf(d, nic), nbstore.Want{IPs: nic.IPs, MAC: mac})
	if cerr != nil {
		return p, false, fmt.Errorf("%s: %w", what, cerr)
	}
	return Port{InterfaceID: nic.InterfaceID, Network: nic.Network, MAC: claim.MAC.String(), Addrs: claim.IPs()}, true, nil
}

// portOf is the logical port of a new NIC (its addresses come from its
// claim).
func (m *Manager) portOf(d Domain, nic NIC) ovn.Port {
	return ovn.Port{
		Name: nic.InterfaceID, Network: nic.Network, Kind: keys.KindVM, VMUUID: d.UUID, VMName: d.Name,
		Chassis: m.Chassis, VMState: "starting", RequestedChassis: m.Chassis,
		DNSName: m.label(d.Name), SecurityGroups: nic.SecurityGroups,
	}
}

// adopt checks an existing port against the NIC and pins it to this chassis.
func (m *Manager) adopt(ctx context.Context, d Domain, nic NIC, lsp ovn.Port) (Port, error) {
	switch {
	case lsp.Kind != keys.KindVM:
		return Port{}, fmt.Errorf("%w: logical port %s exists and is not a VM port", errs.Invalid, lsp.Name)
	case lsp.VMUUID != d.UUID:
		return Port{}, fmt.Errorf("%w: logical port %s belongs to domain %s", errs.Invalid, lsp.Name, lsp.VMUUID)
	case lsp.Network != nic.Network:
		return Port{}, fmt.Errorf("%w: logical port %s is on network %q, the metadata says %q (a NIC cannot change networks: give it a new interfaceid)", errs.Invalid, lsp.Name, lsp.Network, nic.Network)
	}
	p := Port{InterfaceID: lsp.Name, Network: nic.Network, Addrs: lsp.IPs}
	if lsp.MAC != nil {
		p.MAC = lsp.MAC.String()
	}
	if !strings.EqualFold(p.MAC, nic.MAC) {
		return Port{}, fmt.Errorf("%w: logical port %s has MAC %s, the NIC %s", errs.Invalid, lsp.Name, p.MAC, nic.MAC)
	}
	if lsp.MigrationTo == m.Chassis {
		m.arrived(d.UUID)
		return p, nil // an incoming migration: bound on both chassis until it ends
	}
	if lsp.RequestedChassis != m.Chassis || lsp.Chassis != m.Chassis || lsp.VMState != "starting" {
		change := ovn.PortChange{
			IDs:     map[string]string{keys.Chassis: m.Chassis, keys.VMState: "starting"},
			Options: map[string]string{keys.OptRequestedChassis: m.Chassis},
		}
		if err := m.NB.SetPortKeys(ctx, lsp, change); err != nil {
			return Port{}, err
		}
	}
	// The domain's name (it may have been renamed) names its ports.
	if lsp.VMName != d.Name || lsp.DNSName != m.label(d.Name) {
		if err := m.Renamed(ctx, d.UUID, d.Name); err != nil {
			return Port{}, err
		}
	}
	// The metadata's security groups hold from every start on.
	if m.Groups != nil && ovn.JoinGroups(lsp.SecurityGroups) != ovn.JoinGroups(nic.SecurityGroups) {
		if _, err := m.Groups.SetPortGroups(ctx, lsp.Name, nic.SecurityGroups); err != nil {
			return Port{}, err
		}
	}
	return p, nil
}

// Started returns at once; in the background it waits for ovn-controller
// to bind each port and records it. On the destination of a migration
// (QEMU still paused) it waits, so that the flows are there before the
// guest resumes.
func (m *Manager) Started(ctx context.Context, d Domain) error {
	if m.migratingHere(d) {
		t0 := time.Now()
		err := m.WaitInstalled(ctx, d)
		m.Log.Info("migration in: flows installed on the destination", "domain", d.Name, "after", time.Since(t0), "err", err)
		return err
	}
	m.watchBinding(d)
	return nil
}

func (m *Manager) watchBinding(d Domain) {
	for _, nic := range d.NICs {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), m.ReadyTimeout)
			defer cancel()
			t0 := time.Now()
			if err := m.OVS.WaitInstalledByIfaceID(ctx, nic.InterfaceID); err != nil {
				m.Log.Warn("VM port did not bind", "domain", d.Name, "port", nic.InterfaceID, "err", err)
				return
			}
			m.setState(ctx, nic.InterfaceID, "running")
			m.Log.Info("VM port bound", "domain", d.Name, "port", nic.InterfaceID, "after", time.Since(t0))
		}()
	}
}

func (m *Manager) setState(ctx context.Context, port, state string) {
	p, err := m.NB.LookupPort(port)
	if err != nil || p.Kind != keys.KindVM || p.VMState == state {
		return
	}
	if err := m.NB.SetPortKeys(ctx, p, ovn.PortChange{IDs: map[string]string{keys.VMState: state}}); err != nil {
		m.Log.Warn("VM port state", "port", port, "state", state, "err", err)
	}
}

// Stopped records that the domain's ports are unbound (QEMU is gone); the
// ports and addresses stay while the domain is defined.
func (m *Manager) Stopped(ctx context.Context, d Domain) {
	for _, p := range m.portsOf(d.UUID) {
		if p.Chassis == m.Chassis && p.MigrationTo == "" {
			m.setState(ctx, p.Name, "stopped")
		}
	}
}

func (m *Manager) portsOf(uuid string) []ovn.Port {
	ps, _ := m.NB.Ports(map[string]string{keys.Kind: keys.KindVM, keys.VMUUID: uuid})
	return ps
}

func (m *Manager) label(name string) string { return network.Label(name) }

// Renamed follows a domain's new name: its ports' VM name and DNS name.
func (m *Manager) Renamed(ctx context.Context, uuid, name string) error {
	var errs []error
	for _, p := range m.portsOf(uuid) {
		if p.VMName == name {
			continue
		}
		// An empty label removes the DNS name.
		ids := map[string]string{keys.VMName: name, keys.DNSName: m.label(name)}
		m.Log.Info("VM renamed", "domain", name, "port", p.Name)
		errs = append(errs, m.NB.SetPortKeys(ctx, p, ovn.PortChange{IDs: ids}))
	}
	return errors.Join(errs...)
}

// Undefined releases the ports and addresses of a domain that no longer
// exists.
func (m *Manager) Undefined(ctx context.Context, uuid string) error {
	var errs []error
	for _, p := range m.portsOf(uuid) {
		if !m.ownedHere(p) {
			m.Log.Info("VM undefined here: its port is another chassis' or moving, kept", "domain", p.VMName, "port", p.Name,
				"chassis", p.Chassis, "requested-chassis", p.RequestedChassis, "migration", p.Migration())
			continue
		}
		m.Log.Info("VM undefined: releasing its port", "domain", p.VMName, "port", p.Name)
		errs = append(errs, m.Ports.Delete(ctx, p.Name))
	}
	return errors.Join(errs...)
}

// ownedHere reports whether a port is this chassis' alone: created or
// taken over here, requested here only, not moving. An undefine here never
// deletes any other (a domain of that UUID runs elsewhere now, e.g. the
// source's --undefinesource after a live migration).
func (m *Manager) ownedHere(p ovn.Port) bool {
	return p.Chassis == m.Chassis && p.MigrationTo == "" && p.MigrationFrom == "" &&
		(p.RequestedChassis == "" || p.RequestedChassis == m.Chassis)
}

// Reconcile releases the ports of this chassis' domains that are gone
// (exists reports whether libvirt still defines a domain UUID).
func (m *Manager) Reconcile(ctx context.Context, exists func(uuid string) bool) error {
	ps, err := m.NB.Ports(map[string]string{keys.Kind: keys.KindVM, keys.Chassis: m.Chassis})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var errs []error
	for _, p := range ps {
		u := p.VMUUID
		if seen[u] || exists(u) {
			continue
		}
		seen[u] = true
		errs = append(errs, m.Undefined(ctx, u))
	}
	return errors.Join(errs...)
}
