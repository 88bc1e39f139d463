package netsvc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
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

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one Ensure per network at a time here
}

func (m *Manager) lock(netName string) func() {
	m.mu.Lock()
	if m.locks == nil {
		m.locks = map[string]*sync.Mutex{}
	}
	l := m.locks[netName]
	if l == nil {
		l = &sync.Mutex{}
		m.locks[netName] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Resolvers returns a network's resolver addresses (recorded in its
// switch's external_ids; not other_config, whose every change IPAM's
// optimistic guard takes for a concurrent allocation).
func (m *Manager) Resolvers(netName string) (Resolvers, error) {
	ls, err := m.NB.GetSwitch(netName)
	if err != nil {
		return Resolvers{}, err
	}
	return ResolversOf(ls), nil
}

// ResolversOf reads the resolver addresses recorded on a network's switch.
func ResolversOf(ls *nbdb.LogicalSwitch) Resolvers {
	var r Resolvers
	r.V4, _ = netip.ParseAddr(ls.ExternalIDs[keys.Resolver4])
	r.V6, _ = netip.ParseAddr(ls.ExternalIDs[keys.Resolver6])
	return r
}

// pickResolvers chooses the resolver addresses a network lacks: with an
// allocation range, the subnet's last host address when it lies outside
// the range (IPAM never hands it out); else the range's last free address,
// reserved in IPAM (owner quantumnet:dns) — or one such reservation made
// before (by a concurrent Ensure, here or on another daemon); none if the
// subnet is full. Reservations of the resolver's owner that are not the
// recorded address (a concurrent Ensure that lost) are released.
func (m *Manager) pickResolvers(ctx context.Context, spec network.Spec, have Resolvers) Resolvers {
	r := have
	var mine []netip.Addr
	if rs, err := m.NB.Reservations(spec.Name); err == nil {
		for _, res := range rs {
			if res.Owner == keys.OwnerResolver {
				mine = append(mine, res.IP)
			}
		}
	}
	slices.SortFunc(mine, func(a, b netip.Addr) int { return b.Compare(a) }) // the highest first: the candidate's end
	for _, f := range []struct {
		pool ipam.PoolConfig
		got  *netip.Addr
	}{{spec.Pool4(), &r.V4}, {spec.Pool6(), &r.V6}} {
		if !f.pool.Subnet.IsValid() || m.Alloc == nil {
			continue
		}
		v6 := f.pool.Subnet.Addr().Is6()
		if f.got.IsValid() {
			for _, a := range mine {
				if a.Is6() == v6 && a != *f.got {
					if err := m.Alloc.Release(ctx, spec.Name, a); err == nil {
						m.Log.Info("released a resolver address another Ensure reserved", "network", spec.Name, "address", a)
					}
				}
			}
			continue
		}
		if a := outsideRange(f.pool); a.IsValid() {
			*f.got = a
			continue
		}
		if i := slices.IndexFunc(mine, func(a netip.Addr) bool { return a.Is6() == v6 }); i >= 0 {
			*f.got = mine[i]
			continue
		}
		a, err := m.Alloc.Reserve(ctx, spec.Name, keys.OwnerResolver, ResolverCandidate(f.pool), v6, nil)
		if err != nil {
			a, err = m.Alloc.Reserve(ctx, spec.Name, keys.OwnerResolver, netip.Addr{}, v6, nil)
		}
		if err != nil {
			m.Log.Warn("network has no room for a resolver address; DHCP names the gateway (OVN native DNS only)", "network", spec.Name, "subnet", f.pool.Subnet, "err", err)
			continue
		}
		*f.got = a
	}
	return r
}

// outsideRange is the subnet's last host address if an allocation range
// leaves it out (and it is not the gateway or excluded), else invalid.
func outsideRange(c ipam.PoolConfig) netip.Addr {
	if !c.Range.First.IsValid() {
		return netip.Addr{}
	}
	full := c
	full.Range = ipam.Range{}
	a := ResolverCandidate(full)
	if !a.IsValid() || a == c.Gateway || c.Subnet.Addr().Is6() && a.Less(c.Range.Last) {
		return netip.Addr{}
	}
	if !(a.Less(c.Range.First) || c.Range.Last.Less(a)) {
		return netip.Addr{}
	}
	for _, x := range c.Exclude {
		if !a.Less(x.First) && !x.Last.Less(a) {
			return netip.Addr{}
		}
	}
	return a
}

// Hosts returns the named ports of a network (read from the cache).
func (m *Manager) Hosts(netName string) ([]Host, error) {
	lsps, err := m.NB.PortsShallow()
	if err != nil {
		return nil, err
	}
	var hosts []Host
	for _, p := range lsps {
		if p.ExternalIDs[keys.Network] != netName {
			continue
		}
		label := p.ExternalIDs[keys.DNSName]
		if label == "" || len(p.Addresses) == 0 {
			continue
		}
		fields := strings.Fields(p.Addresses[0])
		if len(fields) < 2 {
			continue // no address (yet)
		}
		h := Host{Label: label}
		for _, f := range fields[1:] {
			if a, err := netip.ParseAddr(f); err == nil {
				h.Addrs = append(h.Addrs, a)
			}
		}
		hosts = append(hosts, h)
	}
	slices.SortFunc(hosts, func(a, b Host) int { return strings.Compare(a.Label, b.Label) })
	return hosts, nil
}

func (m *Manager) dhcpRow(netName, kind string) *nbdb.DHCPOptions {
	rows, _ := ovn.List(m.NB, func(d *nbdb.DHCPOptions) bool {
		return d.ExternalIDs[keys.Kind] == kind && d.ExternalIDs[keys.Network] == netName
	})
	if len(rows) == 0 {
		return nil
	}
	return &rows[0]
}

// PortDHCP returns the UUIDs of a network's DHCPv4 and DHCPv6 rows (nil
// when it has none), for a new port to refer to.
func (m *Manager) PortDHCP(netName string) (v4, v6 *string) {
	return ptr(m.NB.NetworkDHCP(netName, keys.KindDHCP)), ptr(m.NB.NetworkDHCP(netName, keys.KindDHCP6))
}

// Label is the DNS label of a name (see Label), for the port owners that
// name ports after their workloads.
func (m *Manager) Label(name string) string { return Label(name) }

// DNSServersFor returns the DNS servers the ports of a network (its switch
// and its spec, as the caller read them) are told about.
func (m *Manager) DNSServersFor(ls *nbdb.LogicalSwitch, spec network.Spec) []netip.Addr {
	v4, v6 := DNSServers(spec, ResolversOf(ls))
	return append(v4, v6...)
}

func one[T any](rows []T) *T {
	if len(rows) == 0 {
		return nil
	}
	return &rows[0]
}

// Ensure makes a network's service rows what its switch says: DHCPv4 and
// DHCPv6 options (and every port referring to them), the router with its
// router advertisements, the resolver's localport and addresses, and the
// DNS records of its named ports. It writes only what differs, in one
// transaction (after reserving missing resolver addresses), and retries
// when another daemon did the same at the same time.
func (m *Manager) Ensure(ctx context.Context, netName string) error {
	for attempt := 0; ; attempt++ {
		err := m.ensure(ctx, netName)
		if err == nil || attempt >= 5 || !errors.Is(err, ovn.ErrExists) {
			return err
		}
		time.Sleep(time.Duration(20*(attempt+1)) * time.Millisecond)
	}
}

func (m *Manager) ensure(ctx context.Context, netName string) error {
	if err := m.NB.Ready(); err != nil {
		return err
	}
	defer m.lock(netName)()
	ls, err := m.NB.GetSwitch(netName)
	if err != nil {
		return err
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	res := m.pickResolvers(ctx, spec, ResolversOf(ls))
	var ops []ovsdb.Operation
	add := func(o []ovsdb.Operation, err error) error {
		ops = append(ops, o...)
		return err
	}
	lsRef := &nbdb.LogicalSwitch{UUID: ls.UUID}
	var lsMuts []model.Mutation
	svc := map[string]string{keys.ServiceOf: netName}

	// DHCP.
	dhcpRef := map[string]string{}
	for _, d := range []struct {
		kind   string
		subnet netip.Prefix
		opts   map[string]string
	}{{keys.KindDHCP, spec.Subnet4, DHCPv4Options(spec, res)}, {keys.KindDHCP6, spec.Subnet6, DHCPv6Options(spec, res)}} {
		cur := m.dhcpRow(netName, d.kind)
		switch {
		case d.opts == nil && cur != nil:
			if err := add(m.NB.DeleteOps(cur)); err != nil {
				return err
			}
		case d.opts == nil:
		case cur == nil:
			row := &nbdb.DHCPOptions{UUID: "dhcp_" + d.kind, Cidr: d.subnet.String(), Options: d.opts,
				ExternalIDs: map[string]string{keys.Network: netName, keys.Kind: d.kind}}
			ops = append(ops, ovn.WaitNoRowWithIDs(nbdb.DHCPOptionsTable, row.ExternalIDs))
			if err := add(m.NB.InsertOps(row)); err != nil {
				return err
			}
			dhcpRef[d.kind] = row.UUID
		default:
			dhcpRef[d.kind] = cur.UUID
			if !maps.Equal(cur.Options, d.opts) || cur.Cidr != d.subnet.String() {
				cur.Options, cur.Cidr = d.opts, d.subnet.String()
				if err := add(m.NB.UpdateOps(cur, &cur.Options, &cur.Cidr)); err != nil {
					return err
				}
			}
		}
	}
	// Every port of the network refers to the network's DHCP rows.
	ports, err := m.NB.ListPorts(map[string]string{keys.Network: netName})
	if err != nil {
		return err
	}
	for i := range ports {
		p := &ports[i]
		want4, want6 := ptr(dhcpRef[keys.KindDHCP]), ptr(dhcpRef[keys.KindDHCP6])
		if eqPtr(p.Dhcpv4Options, want4) && eqPtr(p.Dhcpv6Options, want6) {
			continue
		}
		p.Dhcpv4Options, p.Dhcpv6Options = want4, want6
		if err := add(m.NB.UpdateOps(p, &p.Dhcpv4Options, &p.Dhcpv6Options)); err != nil {
			return err
		}
	}

	// The router: the gateway addresses, router advertisements.
	lrName, lrpName, rsName := RouterName(netName), RouterPortName(netName), RouterLSPName(netName)
	lr := one(must(ovn.List(m.NB, func(r *nbdb.LogicalRouter) bool { return r.Name == lrName })))
	lrp := one(must(ovn.List(m.NB, func(p *nbdb.LogicalRouterPort) bool { return p.Name == lrpName })))
	wantLRP := nbdb.LogicalRouterPort{Name: lrpName, MAC: RouterMAC(netName), Networks: RouterNetworks(spec),
		Ipv6RaConfigs: RAConfigs(spec), ExternalIDs: svc}
	switch {
	case lr == nil:
		wantLRP.UUID = "lrp"
		if err := add(m.NB.InsertOps(&wantLRP)); err != nil {
			return err
		}
		ops = append(ops, ovs.WaitNoRow(nbdb.LogicalRouterTable, "name", lrName))
		if err := add(m.NB.InsertOps(&nbdb.LogicalRouter{UUID: "lr", Name: lrName, Ports: []string{"lrp"}, ExternalIDs: svc})); err != nil {
			return err
		}
	case lrp == nil:
		wantLRP.UUID = "lrp"
		if err := add(m.NB.InsertOps(&wantLRP)); err != nil {
			return err
		}
		if err := add(m.NB.MutateOps(lr, model.Mutation{Field: &lr.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{"lrp"}})); err != nil {
			return err
		}
	case lrp.MAC != wantLRP.MAC || !sameSet(lrp.Networks, wantLRP.Networks) || !maps.Equal(lrp.Ipv6RaConfigs, wantLRP.Ipv6RaConfigs):
		lrp.MAC, lrp.Networks, lrp.Ipv6RaConfigs = wantLRP.MAC, wantLRP.Networks, wantLRP.Ipv6RaConfigs
		if err := add(m.NB.UpdateOps(lrp, &lrp.MAC, &lrp.Networks, &lrp.Ipv6RaConfigs)); err != nil {
			return err
		}
	}
	if rs, _ := m.NB.GetPort(rsName); rs == nil {
		row := &nbdb.LogicalSwitchPort{UUID: "rs", Name: rsName, Type: "router", Addresses: []string{"router"},
			Options: map[string]string{"router-port": lrpName}, ExternalIDs: svc}
		ops = append(ops, ovs.WaitNoRow(nbdb.LogicalSwitchPortTable, "name", rsName))
		if err := add(m.NB.InsertOps(row)); err != nil {
			return err
		}
		lsMuts = append(lsMuts, model.Mutation{Field: &lsRef.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{"rs"}})
	}

	// The resolver's localport.
	dnsName := ResolverName(netName)
	addr := ResolverMAC(netName)
	for _, a := range []netip.Addr{res.V4, res.V6} {
		if a.IsValid() {
			addr += " " + a.String()
		}
	}
	cur, _ := m.NB.GetPort(dnsName)
	switch {
	case !res.V4.IsValid() && !res.V6.IsValid():
		if cur != nil {
			lsMuts = append(lsMuts, model.Mutation{Field: &lsRef.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{cur.UUID}})
			if err := add(m.NB.DeleteOps(cur)); err != nil {
				return err
			}
		}
	case cur == nil:
		row := &nbdb.LogicalSwitchPort{UUID: "resolver", Name: dnsName, Type: "localport", Addresses: []string{addr}, ExternalIDs: svc}
		ops = append(ops, ovs.WaitNoRow(nbdb.LogicalSwitchPortTable, "name", dnsName))
		if err := add(m.NB.InsertOps(row)); err != nil {
			return err
		}
		lsMuts = append(lsMuts, model.Mutation{Field: &lsRef.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{"resolver"}})
	case !slices.Equal(cur.Addresses, []string{addr}):
		cur.Addresses = []string{addr}
		if err := add(m.NB.UpdateOps(cur, &cur.Addresses)); err != nil {
			return err
		}
	}

	// DNS records, for OVN native DNS.
	hosts, err := m.Hosts(netName)
	if err != nil {
		return err
	}
	records := OVNRecords(spec.DNSDomain, hosts)
	dns := one(must(ovn.List(m.NB, func(d *nbdb.DNS) bool { return d.ExternalIDs[keys.ServiceOf] == netName })))
	switch {
	case dns == nil:
		row := &nbdb.DNS{UUID: "dns", Records: records, ExternalIDs: svc}
		ops = append(ops, ovn.WaitNoRowWithIDs(nbdb.DNSTable, svc))
		if err := add(m.NB.InsertOps(row)); err != nil {
			return err
		}
		lsMuts = append(lsMuts, model.Mutation{Field: &lsRef.DNSRecords, Mutator: ovsdb.MutateOperationInsert, Value: []string{"dns"}})
	default:
		if !maps.Equal(dns.Records, records) {
			dns.Records = records
			if err := add(m.NB.UpdateOps(dns, &dns.Records)); err != nil {
				return err
			}
		}
		if !slices.Contains(ls.DNSRecords, dns.UUID) {
			lsMuts = append(lsMuts, model.Mutation{Field: &lsRef.DNSRecords, Mutator: ovsdb.MutateOperationInsert, Value: []string{dns.UUID}})
		}
	}
	// The resolver addresses, recorded once chosen, over what was read (a
	// concurrent Ensure that recorded others first wins; this one retries).
	guarded := false
	for key, a := range map[string]netip.Addr{keys.Resolver4: res.V4, keys.Resolver6: res.V6} {
		if a.IsValid() && ls.ExternalIDs[key] != a.String() {
			if !guarded {
				ops = append([]ovsdb.Operation{ovn.WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs)}, ops...)
				guarded = true
			}
			lsMuts = append(lsMuts,
				model.Mutation{Field: &lsRef.ExternalIDs, Mutator: ovsdb.MutateOperationDelete, Value: []string{key}},
				model.Mutation{Field: &lsRef.ExternalIDs, Mutator: ovsdb.MutateOperationInsert, Value: map[string]string{key: a.String()}})
		}
	}
	if err := add(m.NB.MutateOps(lsRef, lsMuts...)); err != nil {
		return err
	}
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

func must[T any](v T, _ error) T { return v }

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
