// Package nbstore is the Northbound store of package router: its Manager
// creates and deletes routers, attaches and detaches networks (moving the
// network's gateway port between the network's own router and the user
// router in one transaction), writes static routes, sets and clears a
// router's gateway on an external network (gateway port, its HA chassis
// group, default routes, SNAT) and manages floating IPs (IPAM reservations
// on the external network, NAT rules on the router). Every change of one
// router goes through one per-router lock; between daemons the
// transactions' waits on what a decision was read from serialize them.
// Its Runner keeps the gateways' HA chassis groups in step with the
// Southbound chassis that map each physnet.
package nbstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	ipamstore "github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Manager owns routers and floating IPs in Northbound.
type Manager struct {
	NB        *ovn.NB
	SB        *ovn.SB // chassis (HA groups, distributed floating IPs) and the active gateway; nil: none
	Alloc     *ipamstore.Store
	MACPrefix [3]byte // of floating IPs' external MACs
	Log       *slog.Logger
	// BFD are NB_Global options a gateway adds where none are set
	// (ovn.GatewayBFD); nil: OVN's own timers.
	BFD map[string]string
	// FIPUsers names the load balancers whose listeners are on a floating
	// IP (daemon/lb's store; main wires it): such a floating IP cannot be
	// deleted, associated or forwarded. nil: none.
	FIPUsers func(netip.Addr) []string

	locks keylock.Map // "router:<name>", "fip:<address>"
}

var errNotConnected = errs.New(errs.Unavailable, "not connected to OVN Northbound")

func (m *Manager) lockRouter(name string) func() { return m.locks.Lock("router:" + name) }

// lockGet validates name, locks the router and reads its row; the caller
// unlocks it (unlock is nil when err is not: nothing is held).
func (m *Manager) lockGet(name string) (lr *nbdb.LogicalRouter, unlock func(), err error) {
	if err := router.ValidateName(name); err != nil {
		return nil, nil, err
	}
	unlock = m.lockRouter(name)
	if lr, err = m.get(name); err != nil {
		unlock()
		return nil, nil, err
	}
	return lr, unlock, nil
}

// Create creates the router name (errs.Conflict if it exists).
func (m *Manager) Create(ctx context.Context, name string) (router.Router, error) {
	if err := router.ValidateName(name); err != nil {
		return router.Router{}, err
	}
	defer m.lockRouter(name)()
	if !m.NB.Connected() {
		return router.Router{}, errNotConnected
	}
	if m.NB.GetUserRouter(name) != nil {
		return router.Router{}, exists(name)
	}
	ops, err := m.NB.CreateUserRouterOps(&nbdb.LogicalRouter{UUID: "lr", Name: ovn.RouterRowName(name),
		ExternalIDs: map[string]string{keys.Router: name}})
	if err != nil {
		return router.Router{}, err
	}
	res, err := m.NB.TransactResults(ctx, "create router "+name, ops)
	if err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return router.Router{}, exists(name)
		}
		return router.Router{}, err
	}
	m.Log.Info("router created", "router", name)
	return router.Router{Name: name, UUID: res[1].UUID.GoUUID}, nil
}

func exists(name string) error {
	return errs.New(errs.Conflict, fmt.Sprintf("router %s already exists", name))
}

// Delete deletes a router without networks or gateway (errs.InUse naming
// them); its static routes go with it.
func (m *Manager) Delete(ctx context.Context, name string) error {
	lr, unlock, err := m.lockGet(name)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.bastionsInUse(name, "delete it"); err != nil {
		return err
	}
	if nets := m.attached(name); len(nets) > 0 {
		return errs.New(errs.InUse, fmt.Sprintf("router %s has networks %s attached: detach them first (qnetctl router detach %s NETWORK)",
			name, strings.Join(nets, ", "), name))
	}
	if gw := lr.ExternalIDs[keys.GatewayNet]; gw != "" {
		return errs.New(errs.InUse, fmt.Sprintf("router %s has a gateway on %s: clear it first (qnetctl router clear-gateway %s)", name, gw, name))
	}
	del, err := m.NB.DeleteRouterOps(lr.UUID)
	if err != nil {
		return err
	}
	ops := append([]ovsdb.Operation{ovn.WaitRouterOp(lr.UUID, "ports", lr.Ports)}, del...)
	if _, err := m.NB.TransactResults(ctx, "delete router "+name, ops); err != nil {
		return changed(name, err)
	}
	m.Log.Info("router deleted", "router", name)
	return nil
}

// changed turns a lost wait into a retryable conflict naming the router.
func changed(name string, err error) error {
	if errors.Is(err, ovn.ErrExists) {
		return errs.New(errs.Conflict, fmt.Sprintf("router %s changed concurrently: %v (retry)", name, err))
	}
	return err
}

// commit runs tx until it commits, or fails: own builds the change's own
// operations on every attempt, after tx's; an error from the transaction
// goes through failed (nil: as it is).
func (m *Manager) commit(ctx context.Context, tx *ipamstore.Tx, own func() ([]ovsdb.Operation, error), failed func(error) error) error {
	for {
		ops, err := own()
		if err != nil {
			return err
		}
		guard, err := tx.Ops()
		if err != nil {
			return err
		}
		res, err := m.NB.TransactResults(ctx, tx.What(), append(guard, ops...))
		retry, err := tx.Commit(ctx, res, err)
		if err != nil {
			if failed != nil {
				err = failed(err)
			}
			return err
		}
		if !retry {
			return nil
		}
	}
}

// get returns the router's row, errs.NotFound naming it.
func (m *Manager) get(name string) (*nbdb.LogicalRouter, error) {
	if !m.NB.Connected() {
		return nil, errNotConnected
	}
	lr := m.NB.GetUserRouter(name)
	if lr == nil {
		return nil, errs.New(errs.NotFound, fmt.Sprintf("router %s not found", name))
	}
	return lr, nil
}

// attached are the networks attached to the router name, sorted.
func (m *Manager) attached(name string) []string {
	lss, _ := ovn.List(m.NB, func(ls *nbdb.LogicalSwitch) bool {
		return network.NameOf(ls) != "" && network.RouterOf(ls) == name
	})
	out := make([]string, 0, len(lss))
	for i := range lss {
		out = append(out, network.NameOf(&lss[i]))
	}
	slices.Sort(out)
	return out
}

// Get returns the router name.
func (m *Manager) Get(name string) (router.Router, error) {
	if err := router.ValidateName(name); err != nil {
		return router.Router{}, err
	}
	lr, err := m.get(name)
	if err != nil {
		return router.Router{}, err
	}
	return m.view(lr), nil
}

// List returns every router, sorted by name.
func (m *Manager) List() ([]router.Router, error) {
	if !m.NB.Connected() {
		return nil, errNotConnected
	}
	lrs, err := m.NB.UserRouters()
	if err != nil {
		return nil, err
	}
	out := make([]router.Router, 0, len(lrs))
	for i := range lrs {
		out = append(out, m.view(&lrs[i]))
	}
	slices.SortFunc(out, func(a, b router.Router) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// view parses a router's rows.
func (m *Manager) view(lr *nbdb.LogicalRouter) router.Router {
	name := lr.ExternalIDs[keys.Router]
	r := router.Router{Name: name, UUID: lr.UUID, Networks: m.attached(name)}
	routes, _ := m.NB.StaticRoutes(lr.StaticRoutes)
	for _, sr := range routes {
		if sr.ExternalIDs[keys.RouteKind] != keys.RouteUser {
			continue
		}
		if rt, err := router.ParseRoute(sr.IPPrefix, sr.Nexthop); err == nil {
			r.Routes = append(r.Routes, rt)
		}
	}
	slices.SortFunc(r.Routes, func(a, b router.Route) int { return strings.Compare(a.String(), b.String()) })
	r.Gateway = m.gatewayView(lr)
	return r
}

// gatewayView parses a router's gateway (nil if none).
func (m *Manager) gatewayView(lr *nbdb.LogicalRouter) *router.Gateway {
	name := lr.ExternalIDs[keys.Router]
	lrp := m.gatewayPort(lr)
	if lrp == nil {
		return nil
	}
	gw := &router.Gateway{Network: lrp.ExternalIDs[keys.GatewayNet], SNAT: lrp.ExternalIDs[keys.NoSNAT] != "true"}
	for _, n := range lrp.Networks {
		if p, err := netip.ParsePrefix(n); err == nil {
			gw.Addrs = append(gw.Addrs, p)
		}
	}
	if _, hcs := m.NB.GetHAGroup(ovn.HAGroupName(name)); hcs != nil {
		for _, h := range hcs {
			gw.Chassis = append(gw.Chassis, router.Chassis{Name: h.ChassisName, Priority: h.Priority})
		}
		router.SortChassis(gw.Chassis)
	}
	if m.SB != nil && m.SB.Connected() {
		gw.Active = m.SB.BoundChassis(keys.ChassisRedirectPref + ovn.GatewayPortName(name))
	}
	return gw
}

// gatewayPort is the router's gateway port (nil if none).
func (m *Manager) gatewayPort(lr *nbdb.LogicalRouter) *nbdb.LogicalRouterPort {
	lrp := m.NB.GetRouterPort(ovn.GatewayPortName(lr.ExternalIDs[keys.Router]))
	if lrp == nil || !slices.Contains(lr.Ports, lrp.UUID) {
		return nil
	}
	return lrp
}
