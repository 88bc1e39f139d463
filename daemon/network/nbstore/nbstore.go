// Package nbstore is the Northbound store of package network (the pure
// validation and mapping of network definitions): its Manager creates,
// changes and deletes networks — their Logical_Switch, through pkg/ovn's
// builders — and reads them back as typed views (network.Spec, parsed
// once). Every change of one network goes through one per-network lock;
// between daemons, the transactions' optimistic waits serialize them.
//
// After a change it brings the network's services (daemon/netsvc) and the
// security groups' plumbing ACLs (daemon/secgroup/nbstore), which name
// every network's gateways, up to date: a failure there is logged, their
// runners repair it.
package nbstore

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Services writes a network's service rows (daemon/netsvc.Manager).
type Services interface {
	Ensure(ctx context.Context, network string) error
}

// Users tells what still uses a network beyond its ports (the router
// store: an attached router, floating IPs, gateways on it), as an error of
// kind errs.InUse naming them; nil when nothing does.
type Users interface {
	NetworkInUse(network string) error
}

// Groups rewrites the security groups' rows (daemon/secgroup/nbstore.Manager).
type Groups interface {
	Sync(ctx context.Context) error
}

// Manager owns the networks in Northbound.
type Manager struct {
	NB       *ovn.NB
	Services Services // nil: no service rows
	Groups   Groups   // nil: no security groups
	Users    Users    // nil: no routers
	Log      *slog.Logger

	locks keylock.Map // per network name
}

// Network is a network as stored: its spec and what its switch records
// beside it.
type Network struct {
	network.Spec
	UUID      string            // of its Logical_Switch
	Resolvers network.Resolvers // its resolver addresses, once chosen
	Ports     int               // workload ports on it
	Router    string            // the user router it is attached to
}

// errNotConnected: Northbound is not connected (checked before a create).
var errNotConnected = errs.New(errs.Unavailable, "not connected to OVN Northbound")

// Create creates the network of spec (validated by network.Parse) and its
// services. errs.Conflict if it exists (here or created concurrently by
// another daemon).
func (m *Manager) Create(ctx context.Context, spec network.Spec) error {
	if err := m.create(ctx, spec); err != nil {
		return err
	}
	m.ensureServices(ctx, spec.Name)
	m.syncGroups(ctx)
	return nil
}

func (m *Manager) create(ctx context.Context, spec network.Spec) error {
	defer m.locks.Lock(spec.Name)()
	if !m.NB.Connected() {
		return errNotConnected
	}
	var ports []*nbdb.LogicalSwitchPort
	if spec.External {
		ports = append(ports, ovn.LocalnetPort(spec.Name, spec.Physnet, spec.VLAN))
	}
	if _, err := m.NB.CreateSwitch(ctx, spec.Name, spec.ExternalIDs(), ports...); err != nil {
		return err
	}
	in := spec.Input()
	m.Log.Info("network created", "network", spec.Name, "subnet4", in.Subnet4, "subnet6", in.Subnet6)
	return nil
}

// settable are the keys of a network's switch that Update may change; it
// keeps every other key (the subnets, ranges, resolvers).
var settable = []string{keys.MTU, keys.DNSDomain, keys.LeaseTime, keys.DNSServers, keys.NTPServers, keys.Routes, keys.DNSUpstream}

// Update changes a network: edit gets its current settings and changes
// some (the MTU, DNS and DHCP settings; the subnets and ranges are kept).
// The result is validated again (errs.Invalid), written only over the
// settings it was computed from, and the services follow.
func (m *Manager) Update(ctx context.Context, name string, edit func(*network.Input)) error {
	if err := m.update(ctx, name, edit); err != nil {
		return err
	}
	m.ensureServices(ctx, name)
	return nil
}

func (m *Manager) update(ctx context.Context, name string, edit func(*network.Input)) error {
	defer m.locks.Lock(name)()
	ls, err := m.NB.GetSwitch(name)
	if err != nil {
		return err
	}
	cur, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	in := cur.Input()
	edit(&in)
	spec, err := network.Parse(in)
	if err != nil {
		return err // errs.Invalid
	}
	ids := maps.Clone(ls.ExternalIDs)
	for _, k := range settable {
		delete(ids, k)
	}
	maps.Copy(ids, spec.ExternalIDs())
	if maps.Equal(ids, ls.ExternalIDs) {
		return nil
	}
	ops, err := m.NB.UpdateSwitchExternalIDsOps(ls, ids)
	if err != nil {
		return err
	}
	if _, err := m.NB.TransactResults(ctx, "update network "+name, ops); err != nil {
		return fmt.Errorf("%w (retry)", err)
	}
	m.Log.Info("network updated", "network", name)
	return nil
}

// Delete deletes a network without workload ports, with its service rows
// (errs.InUse while it has ports).
func (m *Manager) Delete(ctx context.Context, name string) error {
	if err := m.delete(ctx, name); err != nil {
		return err
	}
	m.syncGroups(ctx)
	return nil
}

func (m *Manager) delete(ctx context.Context, name string) error {
	defer m.locks.Lock(name)()
	if m.Users != nil {
		if err := m.Users.NetworkInUse(name); err != nil {
			return err
		}
	}
	if err := m.NB.DeleteSwitch(ctx, name); err != nil {
		return err
	}
	m.Log.Info("network deleted", "network", name)
	return nil
}

// Get returns one network; a stored spec that does not parse is a
// *network.StoredError.
func (m *Manager) Get(name string) (Network, error) {
	ls, err := m.NB.GetSwitch(name)
	if err != nil {
		return Network{}, err
	}
	return m.view(ls)
}

// List returns every network, sorted by name; a network whose stored spec
// does not parse is logged and left out.
func (m *Manager) List() ([]Network, error) {
	lss, err := m.NB.ListSwitches()
	if err != nil {
		return nil, err
	}
	out := make([]Network, 0, len(lss))
	for i := range lss {
		n, err := m.view(&lss[i])
		if err != nil {
			m.Log.Warn("skipping invalid network", "switch", lss[i].Name, "err", err)
			continue
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b Network) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func (m *Manager) view(ls *nbdb.LogicalSwitch) (Network, error) {
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return Network{}, err
	}
	return Network{Spec: spec, UUID: ls.UUID, Resolvers: network.ResolversOf(ls), Ports: m.NB.NetworkPortCount(spec.Name),
		Router: network.RouterOf(ls)}, nil
}

// ensureServices writes a network's service rows now (DHCP options must be
// there for the first port); a failure is logged, the runner retries.
func (m *Manager) ensureServices(ctx context.Context, name string) {
	if m.Services == nil {
		return
	}
	if err := m.Services.Ensure(ctx, name); err != nil {
		m.Log.Warn("network services: will retry", "network", name, "err", err)
	}
}

// syncGroups rewrites the security groups' plumbing ACLs, which name every
// network's gateways (DHCP and DNS to them are never blocked). A failure
// is logged: the next change or start repairs it.
func (m *Manager) syncGroups(ctx context.Context) {
	if m.Groups == nil {
		return
	}
	if err := m.Groups.Sync(ctx); err != nil {
		m.Log.Warn("security groups: sync after a network change failed", "err", err)
	}
}
