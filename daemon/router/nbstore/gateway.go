package nbstore

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	ipamstore "github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// GatewayRequest is a router's gateway as asked for.
type GatewayRequest struct {
	Router, Network string
	Addr4, Addr6    netip.Addr // zero: the next free address of the network's range
	NoSNAT          bool
}

// owner is who holds a router's gateway addresses in IPAM.
func owner(routerName string) string { return keys.OwnerRouterPrefix + routerName }

// SetGateway gives a router its gateway on an external network, in one
// transaction with the reservation of its addresses there: the gateway
// port qn-lrg-<router> (scheduled by the HA chassis group qn-ha-<router>
// on the chassis that map the physnet), its peer on the external switch,
// default routes via the external network's gateways and, unless NoSNAT,
// one SNAT rule per attached network's IPv4 subnet.
func (m *Manager) SetGateway(ctx context.Context, req GatewayRequest) (router.Router, error) {
	lr, unlock, err := m.lockGet(req.Router)
	if err != nil {
		return router.Router{}, err
	}
	defer unlock()
	ls, spec, err := m.netOf(req.Network)
	if err != nil {
		return router.Router{}, err
	}
	if err := m.checkGateway(lr, spec, req); err != nil {
		return router.Router{}, err
	}
	tx := m.Alloc.Begin(req.Network, fmt.Sprintf("set the gateway of router %s on %s", req.Router, req.Network))
	defer tx.Abort()
	err = m.commit(ctx, tx, func() ([]ovsdb.Operation, error) {
		return m.gatewayOps(tx, lr, ls, spec, req)
	}, func(err error) error { return changed(req.Router, err) })
	if err != nil {
		return router.Router{}, err
	}
	m.Log.Info("router gateway set", "router", req.Router, "network", req.Network)
	return m.Get(req.Router)
}

// checkGateway: the network is external, the router has no gateway, the
// subnets do not overlap the attached networks', the addresses fit.
func (m *Manager) checkGateway(lr *nbdb.LogicalRouter, spec network.Spec, req GatewayRequest) error {
	switch gw := lr.ExternalIDs[keys.GatewayNet]; {
	case !spec.External:
		return errs.New(errs.Invalid, fmt.Sprintf("network %s is not external: a gateway goes on an external network (network create --external)", spec.Name))
	case gw != "":
		return errs.New(errs.Conflict, fmt.Sprintf("router %s already has a gateway on %s (clear-gateway first)", req.Router, gw))
	case req.Addr4.IsValid() && !req.Addr4.Is4():
		return errs.New(errs.Invalid, fmt.Sprintf("address: %s is not an IPv4 address", req.Addr4))
	case req.Addr6.IsValid() && (!req.Addr6.Is6() || !spec.Subnet6.IsValid()):
		return errs.New(errs.Invalid, fmt.Sprintf("address6: %s is not an IPv6 address of network %s", req.Addr6, spec.Name))
	}
	return router.Overlap(req.Router, subnets(spec), m.others(lr, spec.Name))
}

// gatewayOps reserves the router's addresses (tx) and builds the rows.
func (m *Manager) gatewayOps(tx *ipamstore.Tx, lr *nbdb.LogicalRouter, ls *nbdb.LogicalSwitch, spec network.Spec, req GatewayRequest) ([]ovsdb.Operation, error) {
	name := req.Router
	var addrs []netip.Prefix
	for _, f := range []struct {
		subnet netip.Prefix
		want   netip.Addr
		v6     bool
	}{{spec.Subnet4, req.Addr4, false}, {spec.Subnet6, req.Addr6, true}} {
		if !f.subnet.IsValid() {
			continue
		}
		a, err := tx.Reserve(owner(name), f.want, f.v6)
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, netip.PrefixFrom(a, f.subnet.Bits()))
	}
	ids := map[string]string{keys.Router: name, keys.GatewayNet: spec.Name}
	lrp := &nbdb.LogicalRouterPort{UUID: "gwport", Name: ovn.GatewayPortName(name), MAC: router.GatewayMAC(name), ExternalIDs: ids}
	for _, a := range addrs {
		lrp.Networks = append(lrp.Networks, a.String())
	}
	if req.NoSNAT {
		lrp.ExternalIDs = map[string]string{keys.Router: name, keys.GatewayNet: spec.Name, keys.NoSNAT: "true"}
	}
	ops := []ovsdb.Operation{ovn.WaitRouterOp(lr.UUID, "ports", lr.Ports), ovn.WaitRouterOp(lr.UUID, "nat", lr.Nat)}
	ops = append(ops, ovn.GatewayBFDDefaultsOps(m.BFD)...)
	add := func(o []ovsdb.Operation, err error) error { ops = append(ops, o...); return err }
	group, members := m.haGroupRow(name, spec.Physnet)
	if err := add(m.NB.CreateHAGroupOps(group, members)); err != nil {
		return nil, err
	}
	lrp.HaChassisGroup = &group.UUID
	e := ovn.EditRouter(lr.UUID)
	e.SetExternalID(keys.GatewayNet, spec.Name)
	if err := add(m.NB.InsertOps(lrp)); err != nil {
		return nil, err
	}
	e.AddPort(lrp.UUID)
	lsp := &nbdb.LogicalSwitchPort{UUID: "gwlsp", Name: ovn.GatewayLSPName(name), Type: "router", Addresses: []string{"router"},
		Options: map[string]string{"router-port": lrp.Name, "nat-addresses": "router"}, ExternalIDs: map[string]string{keys.Router: name, keys.GatewayNet: spec.Name}}
	if err := add(m.NB.InsertServicePortOps(lsp)); err != nil {
		return nil, err
	}
	sw := ovn.EditSwitch(ls.UUID)
	sw.AddPort(lsp.UUID)
	if err := add(m.NB.SwitchEditOps(sw)); err != nil {
		return nil, err
	}
	if err := m.defaultRoutes(name, spec, addrs, e, add); err != nil {
		return nil, err
	}
	if !req.NoSNAT {
		if err := m.snatAll(lr, addrs, e, add); err != nil {
			return nil, err
		}
	}
	return ops, add(m.NB.RouterEditOps(e))
}

// defaultRoutes: 0.0.0.0/0 (and ::/0) via the external network's gateways,
// out of the gateway port.
func (m *Manager) defaultRoutes(name string, spec network.Spec, addrs []netip.Prefix, e *ovn.RouterEdit, add func([]ovsdb.Operation, error) error) error {
	port := ovn.GatewayPortName(name)
	for i, a := range addrs {
		dst, via := "0.0.0.0/0", spec.Gateway4
		if a.Addr().Is6() {
			dst, via = "::/0", spec.Gateway6
		}
		if !via.IsValid() {
			continue
		}
		row := &nbdb.LogicalRouterStaticRoute{UUID: fmt.Sprintf("gwroute%d", i), IPPrefix: dst, Nexthop: via.String(), OutputPort: &port,
			ExternalIDs: map[string]string{keys.Router: name, keys.RouteKind: keys.RouteGateway}}
		if err := add(m.NB.InsertOps(row)); err != nil {
			return err
		}
		e.AddRoute(row.UUID)
	}
	return nil
}

// snatAll: one SNAT rule per attached network's IPv4 subnet.
func (m *Manager) snatAll(lr *nbdb.LogicalRouter, addrs []netip.Prefix, e *ovn.RouterEdit, add func([]ovsdb.Operation, error) error) error {
	name := lr.ExternalIDs[keys.Router]
	var ext netip.Addr
	for _, a := range addrs {
		if a.Addr().Is4() {
			ext = a.Addr()
		}
	}
	if !ext.IsValid() {
		return nil
	}
	for i, n := range m.attached(name) {
		_, spec, err := m.netOf(n)
		if err != nil || !spec.Subnet4.IsValid() {
			continue
		}
		row := snatRow(name, n, ext, spec.Subnet4, fmt.Sprintf("snat%d", i))
		if err := add(m.NB.InsertOps(row)); err != nil {
			return err
		}
		e.AddNAT(row.UUID)
	}
	return nil
}

// ClearGateway takes a router's gateway away with everything set with it,
// and releases its addresses. Refused while bastions or floating IPs use
// it.
func (m *Manager) ClearGateway(ctx context.Context, name string) (router.Router, error) {
	lr, unlock, err := m.lockGet(name)
	if err != nil {
		return router.Router{}, err
	}
	defer unlock()
	lrp := m.gatewayPort(lr)
	netName := lr.ExternalIDs[keys.GatewayNet]
	if lrp == nil && netName == "" {
		return router.Router{}, errs.New(errs.NotFound, fmt.Sprintf("router %s has no gateway", name))
	}
	if err := m.bastionsInUse(name, "clear its gateway"); err != nil {
		return router.Router{}, err
	}
	if fips := m.fipsOfRouter(lr); len(fips) > 0 {
		return router.Router{}, errs.New(errs.InUse, fmt.Sprintf("router %s carries floating IPs %s: disassociate them first", name, joinAddrs(fips)))
	}
	tx := m.Alloc.Begin(netName, fmt.Sprintf("clear the gateway of router %s", name))
	defer tx.Abort()
	err = m.commit(ctx, tx, func() ([]ovsdb.Operation, error) {
		return m.clearOps(tx, lr, lrp, netName)
	}, func(err error) error { return changed(name, err) })
	if err != nil {
		return router.Router{}, err
	}
	m.Log.Info("router gateway cleared", "router", name, "network", netName)
	return m.Get(name)
}

// clearOps releases the gateway's addresses (tx) and deletes its rows.
func (m *Manager) clearOps(tx *ipamstore.Tx, lr *nbdb.LogicalRouter, lrp *nbdb.LogicalRouterPort, netName string) ([]ovsdb.Operation, error) {
	name := lr.ExternalIDs[keys.Router]
	if err := tx.Hold(); err != nil {
		return nil, err
	}
	res, err := m.NB.Reservations(netName)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		if r.Owner == owner(name) {
			if err := tx.Unreserve(r.Owner, r.IP); err != nil {
				return nil, err
			}
		}
	}
	// Its ports as read: a bastion created meanwhile (its transit port)
	// aborts the change.
	ops := []ovsdb.Operation{ovn.WaitRouterOp(lr.UUID, "nat", lr.Nat), ovn.WaitRouterOp(lr.UUID, "ports", lr.Ports)}
	add := func(o []ovsdb.Operation, err error) error { ops = append(ops, o...); return err }
	e := ovn.EditRouter(lr.UUID)
	e.SetExternalID(keys.GatewayNet, "")
	if lrp != nil {
		e.DeletePort(lrp.UUID)
	}
	routes, _ := m.NB.StaticRoutes(lr.StaticRoutes)
	for _, r := range routes {
		if r.ExternalIDs[keys.RouteKind] == keys.RouteGateway {
			e.DeleteRoute(r.UUID)
		}
	}
	nats, _ := m.NB.NATs(lr.Nat)
	for _, n := range nats {
		if n.Type == nbdb.NATTypeSNAT {
			e.DeleteNAT(n.UUID)
		}
	}
	if err := add(m.NB.RouterEditOps(e)); err != nil {
		return nil, err
	}
	if lrp != nil { // deleted explicitly: it refers to the group deleted below
		if err := add(m.NB.DeleteOps(&nbdb.LogicalRouterPort{UUID: lrp.UUID})); err != nil {
			return nil, err
		}
	}
	if g, _ := m.NB.GetHAGroup(ovn.HAGroupName(name)); g != nil {
		if err := add(m.NB.DeleteHAGroupOps(g.UUID)); err != nil {
			return nil, err
		}
	}
	if lsp, _ := m.NB.GetPort(ovn.GatewayLSPName(name)); lsp != nil {
		if ls, err := m.NB.GetSwitch(netName); err == nil {
			sw := ovn.EditSwitch(ls.UUID)
			sw.DeletePort(lsp.UUID)
			if err := add(m.NB.SwitchEditOps(sw)); err != nil {
				return nil, err
			}
		}
		if err := add(m.NB.DeleteServicePortOps(lsp)); err != nil {
			return nil, err
		}
	}
	return ops, nil
}
