package netsvc

import (
	"maps"
	"net/netip"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The steps of an Ensure: each compares a service's rows with what the
// network's spec wants and adds the operations of the difference to the
// plan (see ensure.go).

// dhcp: the DHCPv4 and DHCPv6 options rows, and every port of the network
// referring to them.
func (p *plan) dhcp() error {
	ref := map[string]string{}
	for _, d := range []struct {
		kind   string
		subnet netip.Prefix
		opts   map[string]string
	}{{keys.KindDHCP, p.spec.Subnet4, DHCPv4Options(p.spec, p.res)}, {keys.KindDHCP6, p.spec.Subnet6, DHCPv6Options(p.spec, p.res)}} {
		var cur *nbdb.DHCPOptions
		// A kind the spec does not want is looked up in the index only (a
		// miss would scan every DHCP_Options row, reservations included, per
		// network and pass): a row the index has not seen yet goes at the
		// next pass.
		if d.opts != nil || p.nb.NetworkDHCP(p.net, d.kind) != "" {
			cur = p.nb.NetworkDHCPRow(p.net, d.kind)
		}
		switch {
		case d.opts == nil && cur != nil:
			if err := p.add(p.nb.DeleteDHCPOptionsOps(cur)); err != nil {
				return err
			}
		case d.opts == nil:
		case cur == nil:
			row := &nbdb.DHCPOptions{UUID: "dhcp_" + d.kind, Cidr: d.subnet.String(), Options: d.opts,
				ExternalIDs: map[string]string{keys.Network: p.net, keys.Kind: d.kind}}
			if err := p.add(p.nb.InsertDHCPOptionsOps(row)); err != nil {
				return err
			}
			ref[d.kind] = row.UUID
		default:
			ref[d.kind] = cur.UUID
			if !maps.Equal(cur.Options, d.opts) || cur.Cidr != d.subnet.String() {
				cur.Options, cur.Cidr = d.opts, d.subnet.String()
				if err := p.add(p.nb.UpdateDHCPOptionsOps(cur)); err != nil {
					return err
				}
			}
		}
	}
	ports, err := p.nb.ListPorts(map[string]string{keys.Network: p.net})
	if err != nil {
		return err
	}
	want4, want6 := ptr(ref[keys.KindDHCP]), ptr(ref[keys.KindDHCP6])
	for i := range ports {
		lsp := &ports[i]
		if eqPtr(lsp.Dhcpv4Options, want4) && eqPtr(lsp.Dhcpv6Options, want6) {
			continue
		}
		if err := p.add(p.nb.SetPortDHCPOps(lsp, want4, want6)); err != nil {
			return err
		}
	}
	return nil
}

// router: the router with its port (the gateway addresses, router
// advertisements), and the switch's port that peers with it. The port
// belongs to the network's own router, or to the user router the network
// is attached to (keys.Router on its switch, written by the router store
// in the transaction that moved the port): Ensure keeps it where the
// switch says and never moves it back while the user router exists.
func (p *plan) router() error {
	lrName, lrpName, rsName := RouterName(p.net), RouterPortName(p.net), RouterLSPName(p.net)
	lr, lrp := p.nb.GetRouter(lrName), p.nb.GetRouterPort(lrpName)
	want := &nbdb.LogicalRouterPort{UUID: "lrp", Name: lrpName, MAC: RouterMAC(p.net), Networks: RouterNetworks(p.spec),
		Ipv6RaConfigs: RAConfigs(p.spec), ExternalIDs: p.svc}
	owner := lr // the router the port belongs on
	if name := network.RouterOf(p.ls); name != "" {
		if ur := p.nb.GetUserRouter(name); ur != nil {
			owner = ur
		}
	}
	var err error
	switch {
	case lr == nil:
		// The network's own router exists even while a user router holds
		// the port: detaching moves the port back to it.
		if owner == nil || owner == lr {
			return p.routerCreate(lrName, want, rsName)
		}
		if err = p.add(p.nb.CreateUserRouterOps(&nbdb.LogicalRouter{UUID: "lr", Name: lrName, ExternalIDs: p.svc})); err != nil {
			return err
		}
		if lrp == nil {
			err = p.add(p.nb.AddRouterPortOps(owner, want))
		} else {
			err = p.routerPortHome(owner, lrp)
		}
	case lrp == nil:
		err = p.add(p.nb.AddRouterPortOps(owner, want))
	default:
		err = p.routerPortHome(owner, lrp)
		if err == nil && (lrp.MAC != want.MAC || !sameSet(lrp.Networks, want.Networks) || !maps.Equal(lrp.Ipv6RaConfigs, want.Ipv6RaConfigs)) {
			lrp.MAC, lrp.Networks, lrp.Ipv6RaConfigs = want.MAC, want.Networks, want.Ipv6RaConfigs
			err = p.add(p.nb.UpdateRouterPortOps(lrp))
		}
	}
	if err != nil {
		return err
	}
	return p.routerSwitchPort(rsName, lrpName)
}

// routerCreate creates the network's own router with its port.
func (p *plan) routerCreate(lrName string, want *nbdb.LogicalRouterPort, rsName string) error {
	if err := p.add(p.nb.CreateRouterOps(&nbdb.LogicalRouter{UUID: "lr", Name: lrName, ExternalIDs: p.svc}, want)); err != nil {
		return err
	}
	return p.routerSwitchPort(rsName, want.Name)
}

// routerPortHome puts the existing port lrp on owner (the router the
// switch names) and takes it out of any other router: a port held nowhere
// does not last (OVSDB collects it), one held elsewhere is where the
// switch, as read, does not say. The move is guarded by the switch's ids
// as read, so a stale view loses to a concurrent attach or detach.
func (p *plan) routerPortHome(owner *nbdb.LogicalRouter, lrp *nbdb.LogicalRouterPort) error {
	held, err := p.nb.RoutersHolding(lrp.UUID)
	if err != nil || owner == nil {
		return err
	}
	// The owner as read is the truth for it; the index, for the others.
	moved, home := false, slices.Contains(owner.Ports, lrp.UUID)
	for _, r := range held {
		if r == owner.UUID {
			continue
		}
		e := ovn.EditRouter(r)
		e.DeletePort(lrp.UUID)
		if err := p.add(p.nb.RouterEditOps(e)); err != nil {
			return err
		}
		moved = true
	}
	if !home {
		e := ovn.EditRouter(owner.UUID)
		e.AddPort(lrp.UUID)
		if err := p.add(p.nb.RouterEditOps(e)); err != nil {
			return err
		}
		moved = moved || len(held) > 0
	}
	if moved {
		p.ops = append([]ovsdb.Operation{ovn.WaitSwitchExternalIDsOp(p.ls.UUID, p.ls.ExternalIDs)}, p.ops...)
	}
	return nil
}

// routerSwitchPort: the switch's port peering with the router port.
func (p *plan) routerSwitchPort(rsName, lrpName string) error {
	if rs, _ := p.nb.GetPort(rsName); rs == nil {
		row := &nbdb.LogicalSwitchPort{UUID: "rs", Name: rsName, Type: "router", Addresses: []string{"router"},
			Options: map[string]string{"router-port": lrpName}, ExternalIDs: p.svc}
		if err := p.add(p.nb.InsertServicePortOps(row)); err != nil {
			return err
		}
		p.sw.AddPort(row.UUID)
	}
	return nil
}

// noServices: an external network has no services; delete any it had
// (DHCP rows, its own router, the router's and resolver's ports, DNS).
func (p *plan) noServices() error {
	for _, kind := range []string{keys.KindDHCP, keys.KindDHCP6} {
		if cur := p.nb.NetworkDHCPRow(p.net, kind); cur != nil {
			if err := p.add(p.nb.DeleteDHCPOptionsOps(cur)); err != nil {
				return err
			}
		}
	}
	if lr := p.nb.GetRouter(RouterName(p.net)); lr != nil {
		if err := p.add(p.nb.DeleteRouterOps(lr.UUID)); err != nil {
			return err
		}
	}
	for _, name := range []string{RouterLSPName(p.net), ResolverName(p.net)} {
		if cur, _ := p.nb.GetPort(name); cur != nil {
			p.sw.DeletePort(cur.UUID)
			if err := p.add(p.nb.DeleteServicePortOps(cur)); err != nil {
				return err
			}
		}
	}
	if cur := p.nb.NetworkDNS(p.net); cur != nil {
		if slices.Contains(p.ls.DNSRecords, cur.UUID) {
			p.sw.DeleteDNSRecords(cur.UUID)
		}
		return p.add(p.nb.DeleteOps(&nbdb.DNS{UUID: cur.UUID}))
	}
	return nil
}

// resolverPort: the resolver's localport, with the resolver addresses (none
// without them).
func (p *plan) resolverPort() error {
	name := ResolverName(p.net)
	addr := ResolverMAC(p.net)
	for _, a := range p.res.Addrs() {
		addr += " " + a.String()
	}
	cur, _ := p.nb.GetPort(name)
	switch {
	case !p.res.V4.IsValid() && !p.res.V6.IsValid():
		if cur != nil {
			p.sw.DeletePort(cur.UUID)
			return p.add(p.nb.DeleteServicePortOps(cur))
		}
	case cur == nil:
		row := &nbdb.LogicalSwitchPort{UUID: "resolver", Name: name, Type: "localport", Addresses: []string{addr}, ExternalIDs: p.svc}
		if err := p.add(p.nb.InsertServicePortOps(row)); err != nil {
			return err
		}
		p.sw.AddPort(row.UUID)
	case !slices.Equal(cur.Addresses, []string{addr}):
		cur.Addresses = []string{addr}
		return p.add(p.nb.UpdatePortAddressesOps(cur))
	}
	return nil
}

// dns: the DNS records of the network's named ports and load balancers,
// for OVN native DNS.
func (p *plan) dns() error {
	records := WithServices(OVNRecords(p.spec.DNSDomain, p.hosts), p.spec.DNSDomain, p.lbs)
	cur := p.nb.NetworkDNS(p.net)
	if cur == nil {
		row := &nbdb.DNS{UUID: "dns", Records: records, ExternalIDs: p.svc}
		if err := p.add(p.nb.InsertDNSOps(row)); err != nil {
			return err
		}
		p.sw.AddDNSRecords(row.UUID)
		return nil
	}
	if !maps.Equal(cur.Records, records) {
		cur.Records = records
		if err := p.add(p.nb.UpdateDNSRecordsOps(cur)); err != nil {
			return err
		}
	}
	if !slices.Contains(p.ls.DNSRecords, cur.UUID) {
		p.sw.AddDNSRecords(cur.UUID)
	}
	return nil
}

// resolverIDs records the resolver addresses on the switch once chosen,
// over what was read (a concurrent Ensure that recorded others first wins;
// this one retries).
func (p *plan) resolverIDs() error {
	have := network.ResolversOf(p.ls)
	changed := false
	for _, r := range []struct {
		key        string
		have, want netip.Addr
	}{{keys.Resolver4, have.V4, p.res.V4}, {keys.Resolver6, have.V6, p.res.V6}} {
		if r.want.IsValid() && r.want != r.have {
			p.sw.SetExternalID(r.key, r.want.String())
			changed = true
		}
	}
	if changed {
		p.ops = append([]ovsdb.Operation{ovn.WaitSwitchExternalIDsOp(p.ls.UUID, p.ls.ExternalIDs)}, p.ops...)
	}
	return nil
}
