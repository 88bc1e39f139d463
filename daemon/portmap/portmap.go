// Package portmap maps host ports to containers (the CNI portMappings
// capability) without making the host a tenant of QuantumNet's networks.
//
// The host reaches a network only through a per-chassis management port:
// an OVS internal port on the integration bridge, in the host namespace,
// bound to a logical port qn-mgmt-<chassis hash>-<network> with an IPAM
// address of that network, port security on its own MAC and addresses and
// requested-chassis this chassis. It exists while this chassis has port
// mappings on the network. The host gets host routes (/32, /128) through it
// to the mapped containers only, and its addresses are host addresses (no
// subnet route); the QN-MGMT filter chain lets through management ports
// only DNATed connections (conntrack --ctstate DNAT) and IPv6 neighbour
// discovery. The management port is in no security group: the containers'
// groups decide what reaches them, its address being just a source.
//
// Rules live in QuantumNet's own chains, in iptables and ip6tables (where
// the container has an address of the family): QN-HOSTPORTS (nat,
// PREROUTING and OUTPUT for local destinations) DNATs host:port to the
// container's address:port, QN-POSTROUTING masquerades DNATed traffic
// leaving through a management port to that port's address so that the
// replies come back through it. The chains exist while this chassis has
// mappings (a host without any is left untouched, and needs no iptables).
// They are always rewritten from the
// manager's table of entries (Sync), which Reconcile rebuilds at start from
// the attachments Northbound records: stale rules go, missing ones (a
// reboot flushed them) come back.
package portmap

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/quantumnet/quantumnet/daemon/hostnet"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovs/vswitchd"
)

// NB is what the manager reads of Northbound.
type NB interface {
	LookupPort(name string) (ovn.Port, error)
	Ports(match map[string]string) ([]ovn.Port, error)
}

// Ports creates and deletes logical ports with their addresses
// (daemon/lport).
type Ports interface {
	Create(ctx context.Context, p ovn.Port, want nbstore.Want) (*nbstore.Claim, error)
	Delete(ctx context.Context, name string) error
}

// OVS is what the manager needs of the local OVS database.
type OVS interface {
	AddInternalPort(ctx context.Context, bridge, name string, ifaceIDs, portIDs map[string]string) error
	DeletePort(ctx context.Context, bridge, name string) error
	GetPort(name string) (*vswitchd.Port, error)
	ListPorts(match map[string]string) ([]vswitchd.Port, error)
	WaitInstalled(ctx context.Context, name string) error
	DatapathType(bridge, want string) string
}

// Manager holds this chassis' port mappings and management ports.
type Manager struct {
	NB      NB
	Ports   Ports
	OVS     OVS
	Chassis string
	Bridge  string
	// Datapath is the integration bridge's intended datapath type
	// (netdev: TX checksum offload off on the management port).
	Datapath     string
	ReadyTimeout time.Duration
	Log          *slog.Logger
	// Tables, if set, are the iptables of each family (tests); otherwise
	// those of the daemon's network namespace.
	Tables map[Family]Tables

	mu      sync.Mutex
	entries map[string]Entry             // by logical port: applied
	claims  map[string]claim             // by logical port: ADDs in progress
	mgmt    map[string]*hostnet.MgmtSpec // by network: management ports up
}

type claim struct {
	owner    string
	mappings []ovn.PortMapping
}

// Claim reserves the host ports of mappings for the logical port of owner
// ("container ID/ifname") until Add or the returned release. A host port
// already mapped on this chassis is a Conflict naming its holder.
func (m *Manager) Claim(port, owner string, mappings []ovn.PortMapping) (release func(), err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	held := map[string]claim{}
	for p, c := range m.claims {
		held[p] = c
	}
	for p, e := range m.entries {
		held[p] = claim{owner: e.Owner, mappings: e.Mappings}
	}
	for _, want := range mappings {
		for p, c := range held {
			if p == port {
				continue
			}
			for _, have := range c.mappings {
				if Overlap(want, have) {
					return nil, fmt.Errorf("%w: host port %s is already mapped on this host by %s (logical port %s)", errs.Conflict, Describe(have), c.owner, p)
				}
			}
		}
	}
	m.claims[port] = claim{owner: owner, mappings: mappings}
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.claims, port)
	}, nil
}

func (m *Manager) init() {
	if m.entries == nil {
		m.entries, m.claims, m.mgmt = map[string]Entry{}, map[string]claim{}, map[string]*hostnet.MgmtSpec{}
	}
}

// Add applies the mappings of an attached container (its port is up): the
// network's management port (made if needed), the host routes and the
// rules. On failure nothing of it stays.
func (m *Manager) Add(ctx context.Context, e Entry) (err error) {
	if err := e.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	delete(m.claims, e.Port)
	m.entries[e.Port] = e
	defer func() {
		if err != nil {
			delete(m.entries, e.Port)
			err = errors.Join(err, m.apply(context.WithoutCancel(ctx), e.Network))
		}
	}()
	if err := m.ensureMgmt(ctx, e.Network, e.MTU); err != nil {
		return err
	}
	return m.apply(ctx, e.Network)
}

// Remove drops the mappings of a logical port (missing: no error), and the
// network's management port with its last mapping.
func (m *Manager) Remove(ctx context.Context, port string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	delete(m.claims, port)
	e, ok := m.entries[port]
	if !ok {
		return nil
	}
	delete(m.entries, port)
	return m.apply(ctx, e.Network)
}

// Check reports what is missing of the mappings of a logical port: its
// entry, its network's management port, or one of its DNAT rules.
func (m *Manager) Check(port string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	e, ok := m.entries[port]
	if !ok {
		return fmt.Errorf("%w: host port mappings of %s are not applied", errs.NotFound, port)
	}
	if mp := m.mgmt[e.Network]; mp == nil || !hostnet.LinkExists(mp.Name) {
		return fmt.Errorf("%w: management port of network %s is missing on this host", errs.NotFound, e.Network)
	}
	for _, f := range e.Families() {
		t, err := m.tables(f)
		if err != nil {
			return err
		}
		for _, r := range DNATRules(f, []Entry{e}) {
			if ok, err := t.Exists(r.Table, r.Chain, r.Spec...); err != nil || !ok {
				return fmt.Errorf("%w: %s rule missing: %s (%v)", errs.NotFound, f, r, err)
			}
		}
	}
	return nil
}

// Reconcile makes this chassis' mappings exactly entries (the live
// attachments Northbound records): rules and routes rewritten, management
// ports without mappings removed, missing ones made. Run it at start.
func (m *Manager) Reconcile(ctx context.Context, entries []Entry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.entries = map[string]Entry{}
	mtu := map[string]int{}
	for _, e := range entries {
		m.entries[e.Port] = e
		mtu[e.Network] = e.MTU
	}
	var fails []error
	nets := map[string]bool{}
	for n := range mtu {
		nets[n] = true
		if err := m.ensureMgmt(ctx, n, mtu[n]); err != nil {
			fails = append(fails, fmt.Errorf("management port of %s: %w", n, err))
		}
	}
	fails = append(fails, m.pruneMgmt(ctx, nets))
	for n := range nets {
		fails = append(fails, m.routes(n))
	}
	fails = append(fails, m.syncRules())
	return errors.Join(fails...)
}

// apply brings network's routes and management port, and the rules, in
// line with the entries.
func (m *Manager) apply(ctx context.Context, network string) error {
	var fails []error
	if m.byNetwork(network) == nil {
		fails = append(fails, m.removeMgmt(ctx, network))
	} else {
		fails = append(fails, m.routes(network))
	}
	fails = append(fails, m.syncRules())
	return errors.Join(fails...)
}

// byNetwork are the entries of network, sorted by port.
func (m *Manager) byNetwork(network string) []Entry {
	var out []Entry
	for _, e := range m.entries {
		if e.Network == network {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Port < out[j].Port })
	return out
}

// routes makes the management port's host routes those of the network's
// mapped containers.
func (m *Manager) routes(network string) error {
	mp := m.mgmt[network]
	if mp == nil {
		return nil
	}
	var dsts []netip.Addr
	for _, e := range m.byNetwork(network) {
		for _, a := range e.Addrs {
			if addrOfFamily(mp.Addrs, a.Is4()).IsValid() {
				dsts = append(dsts, a)
			}
		}
	}
	return hostnet.SyncHostRoutes(mp.Name, dsts, mp.Addrs)
}

func addrOfFamily(as []netip.Addr, v4 bool) netip.Addr {
	for _, a := range as {
		if a.Is4() == v4 {
			return a
		}
	}
	return netip.Addr{}
}

// syncRules rewrites QuantumNet's chains of both families from the entries.
func (m *Manager) syncRules() error {
	entries := make([]Entry, 0, len(m.entries))
	for _, e := range m.entries {
		entries = append(entries, e)
	}
	var fails []error
	for _, f := range []Family{V4, V6} {
		t, err := m.tables(f)
		if err != nil && len(entries) == 0 {
			continue // no iptables on this host: nothing of ours to remove either
		} else if err != nil {
			fails = append(fails, fmt.Errorf("%s: %w", f, err))
			continue
		}
		if len(entries) == 0 { // no mapping: no chain, no jump of ours on the host
			fails = append(fails, Remove(t))
			continue
		}
		n, err := Sync(t, Desired(f, entries))
		if n > 0 {
			m.Log.Info("host port rules rewritten", "family", f.String(), "chains", n, "mappings", len(entries))
		}
		fails = append(fails, err)
	}
	return errors.Join(fails...)
}

func (m *Manager) tables(f Family) (Tables, error) {
	if t := m.Tables[f]; t != nil {
		return t, nil
	}
	t, err := NewTables(f)
	if err != nil {
		return nil, err
	}
	if m.Tables == nil {
		m.Tables = map[Family]Tables{}
	}
	m.Tables[f] = t
	return t, nil
}
