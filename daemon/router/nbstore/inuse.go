package nbstore

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// What keeps networks, routers and gateways from going: floating IPs,
// attachments, gateways.

// fipsOfNetwork are the floating IPs associated with ports of a network.
func (m *Manager) fipsOfNetwork(netName string) []netip.Addr {
	rs, _ := m.NB.ReservationsOf(keys.OwnerFIP)
	var out []netip.Addr
	for _, r := range rs {
		if r.FIPPort == "" {
			continue
		}
		if p, err := m.NB.LookupPort(r.FIPPort); err == nil && p.Network == netName {
			out = append(out, r.IP)
		}
	}
	return out
}

// forwardsToNetwork are the floating IPs with port forwards to ports of a
// network.
func (m *Manager) forwardsToNetwork(netName string) []netip.Addr {
	rows, _ := m.forwardRows(netip.Addr{})
	var out []netip.Addr
	for _, r := range rows {
		for _, f := range r.fs {
			if p, err := m.NB.LookupPort(f.Target); err == nil && p.Network == netName && !slices.Contains(out, r.fip) {
				out = append(out, r.fip)
			}
		}
	}
	return out
}

// fipsOfRouter are the floating IPs whose NAT rules the router carries.
func (m *Manager) fipsOfRouter(lr *nbdb.LogicalRouter) []netip.Addr {
	nats, _ := m.NB.NATs(lr.Nat)
	var out []netip.Addr
	for _, n := range nats {
		if a, err := netip.ParseAddr(n.ExternalIDs[keys.FIP]); err == nil {
			out = append(out, a)
		}
	}
	return out
}

// NetworkInUse says what keeps a network from being deleted beyond its
// ports (errs.InUse naming it): an attached router, floating IPs of its
// ports, routers with their gateway on it, floating IPs allocated on it.
func (m *Manager) NetworkInUse(netName string) error {
	ls, err := m.NB.GetSwitch(netName)
	if err != nil {
		return nil // the network store says not found
	}
	if r := network.RouterOf(ls); r != "" {
		return errs.New(errs.InUse, fmt.Sprintf("network %s is attached to router %s: detach it first (qnetctl router detach %s %s)", netName, r, r, netName))
	}
	if fips := m.fipsOfNetwork(netName); len(fips) > 0 {
		return errs.New(errs.InUse, fmt.Sprintf("network %s has ports holding floating IPs %s", netName, joinAddrs(fips)))
	}
	lrs, _ := m.NB.UserRouters()
	var gws []string
	for _, lr := range lrs {
		if lr.ExternalIDs[keys.GatewayNet] == netName {
			gws = append(gws, lr.ExternalIDs[keys.Router])
		}
	}
	if len(gws) > 0 {
		slices.Sort(gws)
		return errs.New(errs.InUse, fmt.Sprintf("network %s is the gateway network of routers %s: clear their gateways first", netName, strings.Join(gws, ", ")))
	}
	rs, _ := m.NB.ReservationsOwned(netName, keys.OwnerFIP)
	var fips []netip.Addr
	for _, r := range rs {
		fips = append(fips, r.IP)
	}
	if len(fips) > 0 {
		return errs.New(errs.InUse, fmt.Sprintf("network %s has floating IPs %s: delete them first", netName, joinAddrs(fips)))
	}
	return nil
}

func joinAddrs(as []netip.Addr) string {
	slices.SortFunc(as, netip.Addr.Compare)
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ", ")
}

// bastionsOf are the bastions on router name (whose endpoint is its
// gateway address), sorted.
func (m *Manager) bastionsOf(name string) []string {
	lss, _ := m.NB.BastionSwitches()
	var out []string
	for _, ls := range lss {
		if ls.ExternalIDs[keys.BastionRouter] == name {
			out = append(out, ls.ExternalIDs[keys.Bastion])
		}
	}
	slices.Sort(out)
	return out
}

// bastionsInUse refuses to take router name's gateway away while bastions
// use it (a bastion's transit port on the router is in its ports, which
// the transactions that take the gateway away wait on).
func (m *Manager) bastionsInUse(name, what string) error {
	bs := m.bastionsOf(name)
	if len(bs) == 0 {
		return nil
	}
	return errs.New(errs.InUse, fmt.Sprintf("router %s: cannot %s: bastions %s use its gateway as their endpoint: delete them first (qnetctl bastion delete %s)",
		name, what, strings.Join(bs, ", "), bs[0]))
}
