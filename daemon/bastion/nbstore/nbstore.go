// Package nbstore is the Northbound store of package bastion: its Manager
// creates and deletes bastions (a transit switch attached to the bastion's
// router, carrying the record in its external_ids, a static route of the
// tunnel range to the bastion's inside port, and the Address_Set of the
// peers' tunnel addresses) and adds and removes peers. Every change of one
// bastion goes through one per-bastion lock; between daemons the
// transactions' waits on the record as read serialize them.
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

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Routers reads routers (daemon/router/nbstore; main wires it).
type Routers interface {
	Get(name string) (router.Router, error)
}

// Manager owns bastions in Northbound.
type Manager struct {
	NB      *ovn.NB
	Routers Routers
	Log     *slog.Logger

	locks keylock.Map
}

var errNotConnected = errs.New(errs.Unavailable, "not connected to OVN Northbound")

func notFound(name string) error {
	return errs.New(errs.NotFound, fmt.Sprintf("bastion %s not found", name))
}

// read returns the transit switch of bastion name and its record.
func (m *Manager) read(name string) (*nbdb.LogicalSwitch, bastion.Bastion, error) {
	if err := bastion.ValidateName(name); err != nil {
		return nil, bastion.Bastion{}, err
	}
	if !m.NB.Connected() {
		return nil, bastion.Bastion{}, errNotConnected
	}
	lss, err := m.NB.BastionSwitches()
	if err != nil {
		return nil, bastion.Bastion{}, err
	}
	for i := range lss {
		if lss[i].ExternalIDs[keys.Bastion] == name {
			b, err := bastion.Decode(lss[i].ExternalIDs)
			if err != nil {
				return nil, bastion.Bastion{}, errs.New(errs.Unavailable, err.Error())
			}
			return &lss[i], m.withEndpoint(b), nil
		}
	}
	return nil, bastion.Bastion{}, notFound(name)
}

// withEndpoint fills in where the bastion is reachable: the router's
// external IPv4 address and the chassis of its active gateway.
func (m *Manager) withEndpoint(b bastion.Bastion) bastion.Bastion {
	r, err := m.Routers.Get(b.Router)
	if err != nil || r.Gateway == nil {
		return b
	}
	if a := r.Gateway.Addr4(); a.IsValid() {
		b.Endpoint = netip.AddrPortFrom(a, uint16(b.ListenPort)).String()
	}
	b.Active = r.Gateway.Active
	return b
}

// Get returns bastion name.
func (m *Manager) Get(name string) (bastion.Bastion, error) {
	_, b, err := m.read(name)
	return b, err
}

// List returns every bastion, sorted by name (rows that do not parse are
// logged and skipped).
func (m *Manager) List() ([]bastion.Bastion, error) {
	if !m.NB.Connected() {
		return nil, errNotConnected
	}
	lss, err := m.NB.BastionSwitches()
	if err != nil {
		return nil, err
	}
	out := make([]bastion.Bastion, 0, len(lss))
	for i := range lss {
		b, err := bastion.Decode(lss[i].ExternalIDs)
		if err != nil {
			m.Log.Warn("bastion record skipped", "switch", lss[i].Name, "err", err)
			continue
		}
		out = append(out, m.withEndpoint(b))
	}
	slices.SortFunc(out, func(a, b bastion.Bastion) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Transit is the link between the router and the bastion's inside leg:
// 100.97.N.0/29 for the tunnel range 100.96.N.0/24; the router is .1, the
// bastion .2.
func Transit(b bastion.Bastion) (routerAddr, inside netip.Prefix) {
	a := b.TunnelRange.Addr().As4()
	base := netip.AddrFrom4([4]byte{a[0], a[1] + 1, a[2], 0})
	return netip.PrefixFrom(base.Next(), 29), netip.PrefixFrom(base.Next().Next(), 29)
}

// TransitMAC: 0a:58 (locally administered) then the transit address.
func TransitMAC(p netip.Prefix) string {
	a := p.Addr().As4()
	return fmt.Sprintf("0a:58:%02x:%02x:%02x:%02x", a[0], a[1], a[2], a[3])
}

// Create creates bastion name on router routerName (errs.Conflict if it
// exists or another bastion of the router listens on the port).
func (m *Manager) Create(ctx context.Context, name, routerName string, listenPort uint32) (bastion.Bastion, error) {
	if err := bastion.ValidateName(name); err != nil {
		return bastion.Bastion{}, err
	}
	port, err := bastion.ListenPort(listenPort)
	if err != nil {
		return bastion.Bastion{}, err
	}
	if err := router.ValidateName(routerName); err != nil {
		return bastion.Bastion{}, err
	}
	defer m.locks.Lock("bastion:" + name)()
	if _, _, err := m.read(name); err == nil {
		return bastion.Bastion{}, errs.New(errs.Conflict, fmt.Sprintf("bastion %s already exists", name))
	} else if !errors.Is(err, errs.NotFound) {
		return bastion.Bastion{}, err
	}
	lr := m.NB.GetUserRouter(routerName)
	if lr == nil {
		return bastion.Bastion{}, errs.New(errs.NotFound, fmt.Sprintf("router %s not found", routerName))
	}
	all, err := m.List()
	if err != nil {
		return bastion.Bastion{}, err
	}
	if err := bastion.CheckListenPort(routerName, port, all); err != nil {
		return bastion.Bastion{}, err
	}
	b, err := newBastion(name, routerName, port, all)
	if err != nil {
		return bastion.Bastion{}, err
	}
	r, err := m.Routers.Get(routerName)
	if err != nil {
		return bastion.Bastion{}, err
	}
	if r.Gateway == nil || !r.Gateway.Addr4().IsValid() {
		return bastion.Bastion{}, errs.New(errs.Invalid, fmt.Sprintf("router: %s has no gateway with an IPv4 address for the bastion's endpoint (qnetctl router set-gateway %s EXTERNAL-NETWORK)", routerName, routerName))
	}
	rs := rows(b)
	_, inside := Transit(b)
	rs.Endpoint = &nbdb.LoadBalancer{Name: ovn.BastionLBName(name), Protocol: &udp,
		Vips:        map[string]string{netip.AddrPortFrom(r.Gateway.Addr4(), uint16(port)).String(): netip.AddrPortFrom(inside.Addr(), uint16(port)).String()},
		ExternalIDs: map[string]string{keys.Bastion: name}}
	ops, err := m.NB.CreateBastionOps(lr, rs)
	if err != nil {
		return bastion.Bastion{}, err
	}
	if _, err := m.NB.TransactResults(ctx, "create bastion "+name, ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return bastion.Bastion{}, errs.New(errs.Conflict, fmt.Sprintf("bastion %s or router %s changed concurrently: %v (retry)", name, routerName, err))
		}
		return bastion.Bastion{}, err
	}
	m.Log.Info("bastion created", "bastion", name, "router", routerName, "range", b.TunnelRange)
	return m.withEndpoint(b), nil
}

var udp = "udp"

func newBastion(name, routerName string, port int, all []bastion.Bastion) (bastion.Bastion, error) {
	used := make([]netip.Prefix, 0, len(all))
	for _, o := range all {
		used = append(used, o.TunnelRange)
	}
	rng, err := bastion.AllocateRange(used)
	if err != nil {
		return bastion.Bastion{}, err
	}
	key, err := bastion.GenerateKey()
	if err != nil {
		return bastion.Bastion{}, err
	}
	return bastion.Bastion{Name: name, Router: routerName, ListenPort: port, PrivateKey: key, TunnelRange: rng}, nil
}

// rows are a new bastion's Northbound rows.
func rows(b bastion.Bastion) ovn.BastionRows {
	rtr, inside := Transit(b)
	own := map[string]string{keys.Bastion: b.Name}
	return ovn.BastionRows{
		Switch: &nbdb.LogicalSwitch{Name: ovn.BastionSwitchName(b.Name), ExternalIDs: bastion.Encode(b)},
		RouterLSP: &nbdb.LogicalSwitchPort{Name: ovn.BastionRouterPortName(b.Name) + "-lsp", Type: "router", Addresses: []string{"router"},
			Options: map[string]string{"router-port": ovn.BastionRouterPortName(b.Name)}, ExternalIDs: own},
		Inside: &nbdb.LogicalSwitchPort{Name: ovn.BastionPortName(b.Name),
			Addresses:    []string{TransitMAC(inside) + " " + inside.Addr().String()},
			PortSecurity: []string{TransitMAC(inside) + " " + inside.Addr().String() + " " + b.TunnelRange.String()},
			ExternalIDs:  own},
		RouterPort: &nbdb.LogicalRouterPort{Name: ovn.BastionRouterPortName(b.Name), MAC: TransitMAC(rtr), Networks: []string{rtr.String()}, ExternalIDs: own},
		Route:      &nbdb.LogicalRouterStaticRoute{IPPrefix: b.TunnelRange.String(), Nexthop: inside.Addr().String(), ExternalIDs: own},
		AddrSet:    &nbdb.AddressSet{Name: ovn.BastionAddressSetName(b.Name), ExternalIDs: own},
	}
}

// Delete deletes bastion name, its peers and rows.
func (m *Manager) Delete(ctx context.Context, name string) error {
	if err := bastion.ValidateName(name); err != nil {
		return err
	}
	defer m.locks.Lock("bastion:" + name)()
	ls, b, err := m.read(name)
	if err != nil {
		return err
	}
	guard, err := m.namedByRules(name)
	if err != nil {
		return err
	}
	lr := m.NB.GetUserRouter(b.Router)
	var lrpUUID, routeUUID, asUUID string
	if lr != nil {
		if lrp := m.NB.GetRouterPort(ovn.BastionRouterPortName(name)); lrp != nil && slices.Contains(lr.Ports, lrp.UUID) {
			lrpUUID = lrp.UUID
		}
		routes, _ := m.NB.StaticRoutes(lr.StaticRoutes)
		for _, r := range routes {
			if r.ExternalIDs[keys.Bastion] == name {
				routeUUID = r.UUID
			}
		}
	}
	if as := m.NB.BastionAddressSet(name); as != nil {
		asUUID = as.UUID
	}
	var lbUUID string
	if lb := m.NB.BastionLB(name); lb != nil {
		lbUUID = lb.UUID
	}
	ops, err := m.NB.DeleteBastionOps(ls, lr, lrpUUID, routeUUID, asUUID, lbUUID)
	if err != nil {
		return err
	}
	if _, err := m.NB.TransactResults(ctx, "delete bastion "+name, append([]ovsdb.Operation{guard}, ops...)); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return errs.New(errs.Conflict, fmt.Sprintf("bastion %s: security groups changed concurrently: %v (retry)", name, err))
		}
		return err
	}
	m.Log.Info("bastion deleted", "bastion", name)
	return nil
}
