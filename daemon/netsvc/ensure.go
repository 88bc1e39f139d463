package netsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Manager keeps the service rows of every network in Northbound, and (see
// endpoint.go) this chassis' resolver endpoints.
type Manager struct {
	NB    *ovn.NB
	Alloc *nbstore.Store
	Log   *slog.Logger

	locks keylock.Map // one Ensure per network at a time here
}

// Hosts returns the named ports of a network (read from the cache).
func (m *Manager) Hosts(netName string) ([]Host, error) {
	lsps, err := m.NB.NetworkPorts(netName) // O(the network's ports): sweeps run it per network
	if err != nil {
		return nil, err
	}
	var hosts []Host
	for i := range lsps {
		p := ovn.PortOf(&lsps[i])
		if p.Network != netName || p.DNSName == "" || len(p.IPs) == 0 {
			continue // another network's, unnamed, or no address (yet)
		}
		hosts = append(hosts, Host{Label: p.DNSName, Addrs: p.IPs})
	}
	slices.SortFunc(hosts, func(a, b Host) int { return strings.Compare(a.Label, b.Label) })
	return hosts, nil
}

// PortDHCP returns the UUIDs of a network's DHCPv4 and DHCPv6 rows (nil
// when it has none), for a new port to refer to.
func (m *Manager) PortDHCP(netName string) (v4, v6 *string) {
	return ptr(m.NB.NetworkDHCP(netName, keys.KindDHCP)), ptr(m.NB.NetworkDHCP(netName, keys.KindDHCP6))
}

// DNSServersFor returns the DNS servers the ports of a network (its switch
// and its spec, as the caller read them) are told about.
func (m *Manager) DNSServersFor(ls *nbdb.LogicalSwitch, spec network.Spec) []netip.Addr {
	v4, v6 := DNSServers(spec, network.ResolversOf(ls))
	return append(v4, v6...)
}

// Ensure makes a network's service rows what its switch says: DHCPv4 and
// DHCPv6 options (and every port referring to them), the router with its
// router advertisements, the resolver's localport and addresses, and the
// DNS records of its named ports and load balancers. It writes only what differs, in one
// transaction (after reserving missing resolver addresses), and retries
// when another daemon did the same at the same time.
func (m *Manager) Ensure(ctx context.Context, netName string) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			ctx = withoutPass(ctx) // a retry reads what the race changed
		}
		err := m.ensure(ctx, netName)
		if err == nil || attempt >= 5 || !errors.Is(err, ovn.ErrExists) {
			return err
		}
		time.Sleep(time.Duration(20*(attempt+1)) * time.Millisecond)
	}
}

// plan is one Ensure's transaction: the operations of each service, built
// by pkg/ovn, and one edit of the network's switch at the end.
type plan struct {
	nb    *ovn.NB
	net   string
	ls    *nbdb.LogicalSwitch // as read
	spec  network.Spec
	res   Resolvers                // as chosen
	hosts []Host                   // its named ports
	lbs   map[string]qndns.Service // its load balancers, by label
	svc   map[string]string        // the external ids of every service row
	sw    *ovn.SwitchEdit
	ops   []ovsdb.Operation
}

// add appends the operations of a builder.
func (p *plan) add(o []ovsdb.Operation, err error) error {
	p.ops = append(p.ops, o...)
	return err
}

func (m *Manager) ensure(ctx context.Context, netName string) error {
	if err := m.NB.Ready(); err != nil {
		return err
	}
	defer m.locks.Lock(netName)()
	ls, err := m.NB.GetSwitch(netName)
	if err != nil {
		return err
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	if spec.External {
		p := &plan{nb: m.NB, net: netName, ls: ls, spec: spec, sw: ovn.EditSwitch(ls.UUID)}
		if err := p.noServices(); err != nil {
			return err
		}
		if err := p.add(m.NB.SwitchEditOps(p.sw)); err != nil {
			return err
		}
		return m.commit(ctx, netName, p.ops)
	}
	hosts, err := m.Hosts(netName)
	if err != nil {
		return err
	}
	p := &plan{nb: m.NB, net: netName, ls: ls, spec: spec, res: m.pickResolvers(ctx, spec, network.ResolversOf(ls)),
		hosts: hosts, lbs: m.Services(netName), svc: map[string]string{keys.ServiceOf: netName}, sw: ovn.EditSwitch(ls.UUID)}
	for _, step := range []func() error{p.dhcp, p.router, p.resolverPort, p.dns, p.resolverIDs} {
		if err := step(); err != nil {
			return err
		}
	}
	if err := p.add(m.NB.SwitchEditOps(p.sw)); err != nil {
		return err
	}
	return m.commit(ctx, netName, p.ops)
}

// commit writes ops (none: nothing to do).
func (m *Manager) commit(ctx context.Context, netName string, ops []ovsdb.Operation) error {
	if len(ops) == 0 {
		return nil
	}
	if _, err := m.NB.TransactResults(ctx, "network services of "+netName, ops); err != nil {
		var we *ovs.WaitError
		if errors.As(err, &we) && we.Index < len(ops) {
			m.Log.Debug("network services: a row changed meanwhile", "network", netName, "table", ops[we.Index].Table, "where", fmt.Sprint(ops[we.Index].Where))
		}
		return err
	}
	m.Log.Debug("network services written", "network", netName, "ops", len(ops))
	return nil
}

func ptr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func eqPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
