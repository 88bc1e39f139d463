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

	"github.com/quantumnet/quantumnet/daemon/alloc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Errors the server maps to status codes.
var (
	ErrInvalid  = alloc.ErrInvalid
	ErrNotFound = ovn.ErrNotFound
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

// Manager owns the ports of this chassis' VMs.
type Manager struct {
	NB           *ovn.NB
	OVS          *ovs.Client
	Alloc        *alloc.Allocator
	Chassis      string
	ReadyTimeout time.Duration
	Log          *slog.Logger
	// SetPortGroups changes a live port's security groups (daemon/sg).
	SetPortGroups func(ctx context.Context, port string, groups []string) ([]string, error)
	// PortDHCP gives a network's DHCPv4 and DHCPv6 rows (daemon/netsvc).
	PortDHCP func(network string) (v4, v6 *string)
	// Label turns a domain name into the DNS name of its ports.
	Label func(name string) string

	mu       sync.Mutex
	incoming map[string]bool // domains whose migration here began, not yet prepared
}

// Prepare makes sure every NIC has its port, before QEMU starts: existing
// ports (a defined domain starting again) are pinned to this chassis, new
// ones are allocated. Nothing is left behind if one NIC fails.
func (m *Manager) Prepare(ctx context.Context, d Domain) (ports []Port, err error) {
	if d.UUID == "" {
		return nil, fmt.Errorf("%w: domain %s: no UUID", ErrInvalid, d.Name)
	}
	var created []string
	defer func() {
		if err != nil {
			cleanup := context.WithoutCancel(ctx)
			for _, name := range created {
				_ = m.Alloc.DeletePort(cleanup, name)
			}
		}
	}()
	for _, nic := range d.NICs {
		what := fmt.Sprintf("domain %s: NIC %s", d.Name, nic.InterfaceID)
		if nic.MAC == "" {
			return nil, fmt.Errorf("%w: %s: no MAC address", ErrInvalid, what)
		}
		mac, perr := net.ParseMAC(nic.MAC)
		if perr != nil || len(mac) != 6 {
			return nil, fmt.Errorf("%w: %s: MAC %q is not an Ethernet address", ErrInvalid, what, nic.MAC)
		}
		ls, gerr := m.NB.GetSwitch(nic.Network)
		if gerr != nil {
			return nil, fmt.Errorf("%s: network %q does not exist: %w", what, nic.Network, ErrNotFound)
		}
		if _, serr := network.FromSwitch(ls); serr != nil {
			return nil, serr
		}
		if lsp, gerr := m.NB.GetPort(nic.InterfaceID); gerr == nil {
			p, uerr := m.adopt(ctx, d, nic, lsp)
			if uerr != nil {
				return nil, fmt.Errorf("%s: %w", what, uerr)
			}
			ports = append(ports, p)
			continue
		}
		claim, cerr := m.Alloc.CreatePort(ctx, nic.Network, alloc.Want{IPs: nic.IPs, MAC: mac}, nic.InterfaceID, func(cl *alloc.Claim) *nbdb.LogicalSwitchPort {
			return m.portRow(d, nic, cl)
		})
		if cerr != nil {
			return nil, fmt.Errorf("%s: %w", what, cerr)
		}
		created = append(created, nic.InterfaceID)
		p := Port{InterfaceID: nic.InterfaceID, Network: nic.Network, MAC: claim.MAC.String()}
		for _, a := range claim.Addrs {
			p.Addrs = append(p.Addrs, a.Addr())
		}
		m.Log.Info("VM port created", "domain", d.Name, "port", nic.InterfaceID, "network", nic.Network, "mac", p.MAC, "addresses", p.Addrs)
		ports = append(ports, p)
	}
	return ports, nil
}

func (m *Manager) portRow(d Domain, nic NIC, cl *alloc.Claim) *nbdb.LogicalSwitchPort {
	addr := cl.MAC.String()
	for _, p := range cl.Addrs {
		addr += " " + p.Addr().String()
	}
	lsp := &nbdb.LogicalSwitchPort{
		Name:         nic.InterfaceID,
		Addresses:    []string{addr},
		PortSecurity: []string{addr},
		Options:      map[string]string{keys.OptRequestedChassis: m.Chassis},
		ExternalIDs: map[string]string{
			keys.Network: nic.Network, keys.Kind: keys.KindVM, keys.VMUUID: d.UUID, keys.VMName: d.Name,
			keys.Chassis: m.Chassis, keys.VMState: "starting",
		},
	}
	if m.PortDHCP != nil {
		lsp.Dhcpv4Options, lsp.Dhcpv6Options = m.PortDHCP(nic.Network)
	}
	if l := m.label(d.Name); l != "" {
		lsp.ExternalIDs[keys.DNSName] = l
	}
	if len(nic.SecurityGroups) > 0 {
		lsp.ExternalIDs[keys.SecurityGroups] = strings.Join(nic.SecurityGroups, ",")
	}
	return lsp
}

// adopt checks an existing port against the NIC and pins it to this chassis.
func (m *Manager) adopt(ctx context.Context, d Domain, nic NIC, lsp *nbdb.LogicalSwitchPort) (Port, error) {
	ids := lsp.ExternalIDs
	switch {
	case ids[keys.Kind] != keys.KindVM:
		return Port{}, fmt.Errorf("%w: logical port %s exists and is not a VM port", ErrInvalid, lsp.Name)
	case ids[keys.VMUUID] != d.UUID:
		return Port{}, fmt.Errorf("%w: logical port %s belongs to domain %s", ErrInvalid, lsp.Name, ids[keys.VMUUID])
	case ids[keys.Network] != nic.Network:
		return Port{}, fmt.Errorf("%w: logical port %s is on network %q, the metadata says %q (a NIC cannot change networks: give it a new interfaceid)", ErrInvalid, lsp.Name, ids[keys.Network], nic.Network)
	}
	f := strings.Fields(strings.Join(lsp.Addresses, " "))
	p := Port{InterfaceID: lsp.Name, Network: nic.Network}
	if len(f) > 0 {
		p.MAC = f[0]
		for _, s := range f[1:] {
			if a, err := netip.ParseAddr(s); err == nil {
				p.Addrs = append(p.Addrs, a)
			}
		}
	}
	if !strings.EqualFold(p.MAC, nic.MAC) {
		return Port{}, fmt.Errorf("%w: logical port %s has MAC %s, the NIC %s", ErrInvalid, lsp.Name, p.MAC, nic.MAC)
	}
	if ids[keys.MigrationTo] == m.Chassis {
		m.arrived(d.UUID)
		return p, nil // an incoming migration: bound on both chassis until it ends
	}
	if lsp.Options[keys.OptRequestedChassis] != m.Chassis || ids[keys.Chassis] != m.Chassis || ids[keys.VMState] != "starting" {
		if lsp.Options == nil {
			lsp.Options = map[string]string{}
		}
		lsp.Options[keys.OptRequestedChassis] = m.Chassis
		lsp.ExternalIDs[keys.Chassis] = m.Chassis
		lsp.ExternalIDs[keys.VMState] = "starting"
		if err := m.NB.UpdatePort(ctx, lsp, &lsp.Options, &lsp.ExternalIDs); err != nil {
			return Port{}, err
		}
	}
	// The domain's name (it may have been renamed) names its ports.
	if ids[keys.VMName] != d.Name || ids[keys.DNSName] != m.label(d.Name) {
		if err := m.Renamed(ctx, d.UUID, d.Name); err != nil {
			return Port{}, err
		}
	}
	// The metadata's security groups hold from every start on.
	if m.SetPortGroups != nil && ids[keys.SecurityGroups] != strings.Join(nic.SecurityGroups, ",") {
		if _, err := m.SetPortGroups(ctx, lsp.Name, nic.SecurityGroups); err != nil {
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
	lsp, err := m.NB.GetPort(port)
	if err != nil || lsp.ExternalIDs[keys.Kind] != keys.KindVM || lsp.ExternalIDs[keys.VMState] == state {
		return
	}
	lsp.ExternalIDs[keys.VMState] = state
	if err := m.NB.UpdatePort(ctx, lsp, &lsp.ExternalIDs); err != nil {
		m.Log.Warn("VM port state", "port", port, "state", state, "err", err)
	}
}

// Stopped records that the domain's ports are unbound (QEMU is gone); the
// ports and addresses stay while the domain is defined.
func (m *Manager) Stopped(ctx context.Context, d Domain) {
	for _, p := range m.portsOf(d.UUID) {
		if p.ExternalIDs[keys.Chassis] == m.Chassis && p.ExternalIDs[keys.MigrationTo] == "" {
			m.setState(ctx, p.Name, "stopped")
		}
	}
}

func (m *Manager) portsOf(uuid string) []nbdb.LogicalSwitchPort {
	ps, _ := m.NB.ListPorts(map[string]string{keys.Kind: keys.KindVM, keys.VMUUID: uuid})
	return ps
}

func (m *Manager) label(name string) string {
	if m.Label == nil {
		return ""
	}
	return m.Label(name)
}

// Renamed follows a domain's new name: its ports' VM name and DNS name.
func (m *Manager) Renamed(ctx context.Context, uuid, name string) error {
	var errs []error
	for _, p := range m.portsOf(uuid) {
		if p.ExternalIDs[keys.VMName] == name {
			continue
		}
		p.ExternalIDs[keys.VMName] = name
		if l := m.label(name); l != "" {
			p.ExternalIDs[keys.DNSName] = l
		} else {
			delete(p.ExternalIDs, keys.DNSName)
		}
		m.Log.Info("VM renamed", "domain", name, "port", p.Name)
		errs = append(errs, m.NB.UpdatePort(ctx, &p, &p.ExternalIDs))
	}
	return errors.Join(errs...)
}

// Undefined releases the ports and addresses of a domain that no longer
// exists.
func (m *Manager) Undefined(ctx context.Context, uuid string) error {
	var errs []error
	for _, p := range m.portsOf(uuid) {
		if p.ExternalIDs[keys.Chassis] != m.Chassis || p.ExternalIDs[keys.MigrationTo] != "" {
			continue // another host's domain of that UUID (after a migration), or moving
		}
		m.Log.Info("VM undefined: releasing its port", "domain", p.ExternalIDs[keys.VMName], "port", p.Name)
		errs = append(errs, m.Alloc.DeletePort(ctx, p.Name))
	}
	return errors.Join(errs...)
}

// Reconcile releases the ports of this chassis' domains that are gone
// (exists reports whether libvirt still defines a domain UUID).
func (m *Manager) Reconcile(ctx context.Context, exists func(uuid string) bool) error {
	ps, err := m.NB.ListPorts(map[string]string{keys.Kind: keys.KindVM, keys.Chassis: m.Chassis})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var errs []error
	for _, p := range ps {
		u := p.ExternalIDs[keys.VMUUID]
		if seen[u] || exists(u) {
			continue
		}
		seen[u] = true
		errs = append(errs, m.Undefined(ctx, u))
	}
	return errors.Join(errs...)
}
