package nbstore

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Attaching a network: its gateway port qn-rp-<network> moves from the
// network's own router qn-r-<network> onto the user router, and the
// network's switch records the router (keys.Router), in one transaction.
// The port keeps its MAC, addresses and router advertisements: DHCP's
// router option and the RAs do not change. netsvc's Ensure reads the
// switch's key and keeps the port where it says.

// netOf reads a network's switch and spec (errs.NotFound naming it).
func (m *Manager) netOf(name string) (*nbdb.LogicalSwitch, network.Spec, error) {
	if err := network.ValidateName(name); err != nil {
		return nil, network.Spec{}, err
	}
	ls, err := m.NB.GetSwitch(name)
	if err != nil {
		return nil, network.Spec{}, errs.New(errs.NotFound, fmt.Sprintf("network %s not found", name))
	}
	spec, err := network.FromSwitch(ls)
	return ls, spec, err
}

func subnets(s network.Spec) router.Subnets {
	return router.Subnets{Network: s.Name, Nets: []netip.Prefix{s.Subnet4, s.Subnet6}}
}

// others are the subnets of the networks on the router (its attached ones
// and its gateway's), but skip.
func (m *Manager) others(lr *nbdb.LogicalRouter, skip string) []router.Subnets {
	names := m.attached(lr.ExternalIDs[keys.Router])
	if gw := lr.ExternalIDs[keys.GatewayNet]; gw != "" {
		names = append(names, gw)
	}
	var out []router.Subnets
	for _, n := range names {
		if n == skip {
			continue
		}
		if _, spec, err := m.netOf(n); err == nil {
			out = append(out, subnets(spec))
		}
	}
	return out
}

// Attach attaches a network to the router (a no-op if it is attached to
// it already).
func (m *Manager) Attach(ctx context.Context, name, netName string) (router.Router, error) {
	what := fmt.Sprintf("attach network %s to router %s", netName, name)
	return m.link(ctx, name, netName, what, "network attached", func(lr *nbdb.LogicalRouter, ls *nbdb.LogicalSwitch, spec network.Spec) ([]ovsdb.Operation, error) {
		switch cur := network.RouterOf(ls); {
		case spec.External:
			return nil, errs.New(errs.Invalid, fmt.Sprintf("network %s is external: it attaches to a router only as its gateway (qnetctl router set-gateway %s %s)", netName, name, netName))
		case cur == name:
			return nil, nil
		case cur != "":
			return nil, errs.New(errs.Conflict, fmt.Sprintf("network %s is already attached to router %s (detach it first)", netName, cur))
		}
		if err := router.Overlap(name, subnets(spec), m.others(lr, netName)); err != nil {
			return nil, err
		}
		return m.attachOps(lr, ls, spec)
	})
}

// link changes the link of router name with network netName under the
// router's lock: plan checks the change and returns its operations (none:
// nothing to do, the router is returned as it is), transacted as what;
// done is logged.
func (m *Manager) link(ctx context.Context, name, netName, what, done string, plan func(*nbdb.LogicalRouter, *nbdb.LogicalSwitch, network.Spec) ([]ovsdb.Operation, error)) (router.Router, error) {
	lr, unlock, err := m.lockGet(name)
	if err != nil {
		return router.Router{}, err
	}
	defer unlock()
	ls, spec, err := m.netOf(netName)
	if err != nil {
		return router.Router{}, err
	}
	ops, err := plan(lr, ls, spec)
	if err != nil {
		return router.Router{}, err
	}
	if len(ops) == 0 {
		return m.view(lr), nil
	}
	if _, err := m.NB.TransactResults(ctx, what, ops); err != nil {
		return router.Router{}, changed(name, err)
	}
	m.Log.Info(done, "router", name, "network", netName)
	return m.Get(name)
}

// attachOps: the switch records the router, the gateway port moves, and the
// network's SNAT rule joins the router's gateway if it has one.
func (m *Manager) attachOps(lr *nbdb.LogicalRouter, ls *nbdb.LogicalSwitch, spec network.Spec) ([]ovsdb.Operation, error) {
	name := lr.ExternalIDs[keys.Router]
	lrp := m.NB.GetRouterPort(netsvc.RouterPortName(spec.Name))
	if lrp == nil {
		return nil, errs.New(errs.Unavailable, fmt.Sprintf("network %s has no gateway port yet (its services are being written): retry", spec.Name))
	}
	ops := []ovsdb.Operation{ovn.WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs), ovn.WaitRouterOp(lr.UUID, "ports", lr.Ports)}
	sw := ovn.EditSwitch(ls.UUID)
	sw.SetExternalID(keys.Router, name)
	add := func(o []ovsdb.Operation, err error) error { ops = append(ops, o...); return err }
	if err := add(m.NB.SwitchEditOps(sw)); err != nil {
		return nil, err
	}
	holders, err := ovn.List(m.NB, func(r *nbdb.LogicalRouter) bool { return slices.Contains(r.Ports, lrp.UUID) })
	if err != nil {
		return nil, err
	}
	for _, h := range holders {
		e := ovn.EditRouter(h.UUID)
		e.DeletePort(lrp.UUID)
		if err := add(m.NB.RouterEditOps(e)); err != nil {
			return nil, err
		}
	}
	e := ovn.EditRouter(lr.UUID)
	e.AddPort(lrp.UUID)
	if gw := m.gatewayView(lr); gw != nil && gw.SNAT && gw.Addr4().IsValid() && spec.Subnet4.IsValid() {
		nat := snatRow(name, spec.Name, gw.Addr4(), spec.Subnet4, "snat_"+spec.Name)
		if err := add(m.NB.InsertOps(nat)); err != nil {
			return nil, err
		}
		e.AddNAT(nat.UUID)
	}
	return ops, add(m.NB.RouterEditOps(e))
}

// snatRow is the SNAT rule of a network's IPv4 subnet behind a router's
// gateway address (uuid: a named UUID).
func snatRow(routerName, netName string, ext netip.Addr, subnet netip.Prefix, uuid string) *nbdb.NAT {
	return &nbdb.NAT{UUID: uuid, Type: nbdb.NATTypeSNAT, ExternalIP: ext.String(), LogicalIP: subnet.String(),
		ExternalIDs: map[string]string{keys.Router: routerName, keys.Network: netName}}
}

// Detach detaches a network from the router: its gateway port goes back to
// the network's own router. Refused while the network's ports hold
// floating IPs or are targets of port forwards.
func (m *Manager) Detach(ctx context.Context, name, netName string) (router.Router, error) {
	what := fmt.Sprintf("detach network %s from router %s", netName, name)
	return m.link(ctx, name, netName, what, "network detached", func(lr *nbdb.LogicalRouter, ls *nbdb.LogicalSwitch, spec network.Spec) ([]ovsdb.Operation, error) {
		if network.RouterOf(ls) != name {
			return nil, errs.New(errs.NotFound, fmt.Sprintf("network %s is not attached to router %s", netName, name))
		}
		if fips := m.fipsOfNetwork(netName); len(fips) > 0 {
			return nil, errs.New(errs.InUse, fmt.Sprintf("network %s has ports holding floating IPs %s: disassociate them first", netName, joinAddrs(fips)))
		}
		if fips := m.forwardsToNetwork(netName); len(fips) > 0 {
			return nil, errs.New(errs.InUse, fmt.Sprintf("network %s has ports that port forwards of floating IPs %s go to: delete them first (qnetctl fip forward list FIP)", netName, joinAddrs(fips)))
		}
		return m.detachOps(lr, ls, spec)
	})
}

// detachOps: the switch forgets the router, the gateway port goes back to
// the network's own router (created again if it is missing) and the
// network's SNAT rules go.
func (m *Manager) detachOps(lr *nbdb.LogicalRouter, ls *nbdb.LogicalSwitch, spec network.Spec) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{ovn.WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs)}
	add := func(o []ovsdb.Operation, err error) error { ops = append(ops, o...); return err }
	sw := ovn.EditSwitch(ls.UUID)
	sw.DeleteExternalID(keys.Router)
	if err := add(m.NB.SwitchEditOps(sw)); err != nil {
		return nil, err
	}
	e := ovn.EditRouter(lr.UUID)
	if lrp := m.NB.GetRouterPort(netsvc.RouterPortName(spec.Name)); lrp != nil && slices.Contains(lr.Ports, lrp.UUID) {
		e.DeletePort(lrp.UUID)
		if own := m.NB.GetRouter(netsvc.RouterName(spec.Name)); own != nil {
			oe := ovn.EditRouter(own.UUID)
			oe.AddPort(lrp.UUID)
			if err := add(m.NB.RouterEditOps(oe)); err != nil {
				return nil, err
			}
		} else {
			own := &nbdb.LogicalRouter{UUID: "own", Name: netsvc.RouterName(spec.Name), Ports: []string{lrp.UUID},
				ExternalIDs: map[string]string{keys.ServiceOf: spec.Name}}
			if err := add(m.NB.CreateUserRouterOps(own)); err != nil {
				return nil, err
			}
		}
	}
	nats, err := m.NB.NATs(lr.Nat)
	if err != nil {
		return nil, err
	}
	for _, n := range nats {
		if n.Type == nbdb.NATTypeSNAT && n.ExternalIDs[keys.Network] == spec.Name {
			e.DeleteNAT(n.UUID)
		}
	}
	return ops, add(m.NB.RouterEditOps(e))
}

// AddRoute adds a static route (errs.Conflict if the router has it).
func (m *Manager) AddRoute(ctx context.Context, name, prefix, nexthop string) (router.Router, error) {
	return m.editRoute(ctx, name, prefix, nexthop, true)
}

// DeleteRoute deletes a static route (errs.NotFound if the router has not
// it; an empty nexthop matches any).
func (m *Manager) DeleteRoute(ctx context.Context, name, prefix, nexthop string) (router.Router, error) {
	return m.editRoute(ctx, name, prefix, nexthop, false)
}

func (m *Manager) editRoute(ctx context.Context, name, prefix, nexthop string, add bool) (router.Router, error) {
	if err := router.ValidateName(name); err != nil {
		return router.Router{}, err
	}
	var rt router.Route
	var err error
	if add || nexthop != "" {
		rt, err = router.ParseRoute(prefix, nexthop)
	} else {
		rt.Prefix, err = router.ParsePrefix(prefix) // a delete without nexthop: any
	}
	if err != nil {
		return router.Router{}, err
	}
	defer m.lockRouter(name)()
	lr, err := m.get(name)
	if err != nil {
		return router.Router{}, err
	}
	routes, err := m.NB.StaticRoutes(lr.StaticRoutes)
	if err != nil {
		return router.Router{}, err
	}
	e := ovn.EditRouter(lr.UUID)
	var ops []ovsdb.Operation
	found := false
	for _, sr := range routes {
		if sr.ExternalIDs[keys.RouteKind] == keys.RouteUser && samePrefix(sr.IPPrefix, rt.Prefix) &&
			(nexthop == "" || sameAddr(sr.Nexthop, rt.Nexthop)) {
			found = true
			e.DeleteRoute(sr.UUID)
		}
	}
	switch {
	case add && found:
		return router.Router{}, errs.New(errs.Conflict, fmt.Sprintf("router %s already has route %s", name, rt))
	case !add && !found:
		return router.Router{}, errs.New(errs.NotFound, fmt.Sprintf("router %s has no route %s%s", name, prefix, map[bool]string{true: " via " + nexthop}[nexthop != ""]))
	case add:
		e = ovn.EditRouter(lr.UUID)
		row := &nbdb.LogicalRouterStaticRoute{UUID: "route", IPPrefix: rt.Prefix.String(), Nexthop: rt.Nexthop.String(),
			ExternalIDs: map[string]string{keys.Router: name, keys.RouteKind: keys.RouteUser}}
		if ops, err = m.NB.InsertOps(row); err != nil {
			return router.Router{}, err
		}
		e.AddRoute(row.UUID)
	}
	more, err := m.NB.RouterEditOps(e)
	if err != nil {
		return router.Router{}, err
	}
	ops = append([]ovsdb.Operation{ovn.WaitRouterOp(lr.UUID, "static_routes", lr.StaticRoutes)}, append(ops, more...)...)
	if _, err := m.NB.TransactResults(ctx, "route of router "+name, ops); err != nil {
		return router.Router{}, changed(name, err)
	}
	return m.Get(name)
}

func samePrefix(s string, p netip.Prefix) bool {
	q, err := netip.ParsePrefix(s)
	if err != nil {
		a, err := netip.ParseAddr(s)
		return err == nil && netip.PrefixFrom(a, a.BitLen()) == p
	}
	return q.Masked() == p
}

func sameAddr(s string, a netip.Addr) bool {
	b, err := netip.ParseAddr(s)
	return err == nil && b == a
}
