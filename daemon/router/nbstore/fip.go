package nbstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// A floating IP is an IPAM reservation (owner keys.OwnerFIP) on an
// external network; its association is recorded on the reservation row
// (keys.FIPPort, keys.FIPFixed) and carried by one dnat_and_snat NAT rule
// on the router whose gateway is on that network (keys.FIP on the rule).

// CreateFIP reserves a floating IP on an external network (addr zero: the
// next free address of its range).
func (m *Manager) CreateFIP(ctx context.Context, netName string, addr netip.Addr) (router.FloatingIP, error) {
	_, spec, err := m.netOf(netName)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if !spec.External {
		return router.FloatingIP{}, errs.New(errs.Invalid, fmt.Sprintf("network %s is not external: floating IPs come from an external network", netName))
	}
	if addr.IsValid() && !addr.Is4() {
		return router.FloatingIP{}, errs.New(errs.Invalid, fmt.Sprintf("address: %s is not an IPv4 address (floating IPs are IPv4)", addr))
	}
	got, err := m.Alloc.Reserve(ctx, netName, keys.OwnerFIP, addr, false, nil)
	if err != nil {
		return router.FloatingIP{}, err
	}
	m.Log.Info("floating IP created", "address", got, "network", netName)
	return router.FloatingIP{Address: got, Network: netName}, nil
}

// fipRow finds the floating IP addr's reservation.
func (m *Manager) fipRow(addr netip.Addr) (ovn.Reservation, error) {
	if !m.NB.Connected() {
		return ovn.Reservation{}, errNotConnected
	}
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return ovn.Reservation{}, err
	}
	for _, r := range rs {
		if r.IP == addr {
			return r, nil
		}
	}
	return ovn.Reservation{}, errs.New(errs.NotFound, fmt.Sprintf("floating IP %s not found", addr))
}

// fipView joins a floating IP's reservation with its NAT rule.
func (m *Manager) fipView(r ovn.Reservation) router.FloatingIP {
	f := router.FloatingIP{Address: r.IP, Network: r.Network, Port: r.FIPPort, FixedIP: r.FIPFixed, UUID: r.UUID}
	nats, _ := m.NB.NATsOf(func(n *nbdb.NAT) bool { return n.ExternalIDs[keys.FIP] == r.IP.String() })
	if len(nats) > 0 {
		f.Router, f.Distributed = nats[0].ExternalIDs[keys.Router], nats[0].LogicalPort != nil
	}
	f.Forwards, f.LoadBalancers = m.forwardsOf(r.IP), m.fipUsers(r.IP)
	if rows, _ := m.NB.ForwardRows(r.IP); f.Router == "" && len(rows) > 0 {
		if lrs, _ := m.NB.RoutersWithLB(rows[0].UUID); len(lrs) > 0 {
			f.Router = lrs[0].ExternalIDs[keys.Router]
		}
	}
	return f
}

// GetFIP returns one floating IP.
func (m *Manager) GetFIP(addr netip.Addr) (router.FloatingIP, error) {
	r, err := m.fipRow(addr)
	if err != nil {
		return router.FloatingIP{}, err
	}
	return m.fipView(r), nil
}

// ListFIPs returns every floating IP, sorted by address.
func (m *Manager) ListFIPs() ([]router.FloatingIP, error) {
	if !m.NB.Connected() {
		return nil, errNotConnected
	}
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return nil, err
	}
	out := make([]router.FloatingIP, 0, len(rs))
	for _, r := range rs {
		out = append(out, m.fipView(r))
	}
	slices.SortFunc(out, func(a, b router.FloatingIP) int { return a.Address.Compare(b.Address) })
	return out, nil
}

// FIPsOfPort are the floating IPs associated with a port, sorted.
func (m *Manager) FIPsOfPort(port string) []netip.Addr { return m.FIPsByPort()[port] }

// FIPsByPort are the associated floating IPs by port (one scan, for a
// list of ports), each sorted.
func (m *Manager) FIPsByPort() map[string][]netip.Addr {
	rs, _ := m.NB.ReservationsOf(keys.OwnerFIP)
	out := map[string][]netip.Addr{}
	for _, r := range rs {
		if r.FIPPort != "" {
			out[r.FIPPort] = append(out[r.FIPPort], r.IP)
		}
	}
	for _, as := range out {
		slices.SortFunc(as, netip.Addr.Compare)
	}
	return out
}

// AssociateFIP maps a floating IP to a port's address (fixed zero: its
// first IPv4 address). The port's network must be attached to a router
// with a gateway on the floating IP's network. The NAT rule is distributed
// (at the port's chassis) when that chassis maps the physnet.
func (m *Manager) AssociateFIP(ctx context.Context, addr netip.Addr, port string, fixed netip.Addr) (router.FloatingIP, error) {
	defer m.locks.Lock("fip:" + addr.String())()
	r, err := m.fipRow(addr)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if r.FIPPort != "" {
		if r.FIPPort == port && (!fixed.IsValid() || fixed == r.FIPFixed) {
			return m.fipView(r), nil
		}
		return router.FloatingIP{}, errs.New(errs.Conflict, fmt.Sprintf("floating IP %s is associated with port %s (disassociate it first)", addr, r.FIPPort))
	}
	if err := m.associable(addr); err != nil {
		return router.FloatingIP{}, err
	}
	p, lr, err := m.fipTarget(r, port)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if fixed, err = pickFixed(p, fixed); err != nil {
		return router.FloatingIP{}, err
	}
	name := lr.ExternalIDs[keys.Router]
	defer m.lockRouter(name)()
	ops, distributed, err := m.associateOps(r, p, lr, fixed)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if _, err := m.NB.TransactResults(ctx, fmt.Sprintf("associate floating IP %s with port %s", addr, port), ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return router.FloatingIP{}, errs.New(errs.Conflict, fmt.Sprintf("floating IP %s or router %s changed concurrently: associated, given port forwards or a load balancer's listeners by another request, or the router's ports changed (nothing written; retry)", addr, name))
		}
		return router.FloatingIP{}, err
	}
	m.Log.Info("floating IP associated", "address", addr, "port", port, "fixed_ip", fixed, "router", name, "distributed", distributed)
	return m.GetFIP(addr)
}

// fipTarget finds the port and the router that can carry the floating IP r
// to it, or says which link is missing.
func (m *Manager) fipTarget(r ovn.Reservation, port string) (ovn.Port, *nbdb.LogicalRouter, error) {
	p, err := m.NB.LookupPort(port)
	if err != nil {
		return p, nil, errs.New(errs.NotFound, fmt.Sprintf("port %s not found", port))
	}
	if !p.Managed() || p.Kind == "" {
		return p, nil, errs.New(errs.Invalid, fmt.Sprintf("port %s is not a workload port of QuantumNet's", port))
	}
	ls, err := m.NB.GetSwitch(p.Network)
	if err != nil {
		return p, nil, errs.New(errs.NotFound, fmt.Sprintf("network %s of port %s not found", p.Network, port))
	}
	rname := network.RouterOf(ls)
	if rname == "" {
		return p, nil, errs.New(errs.Invalid, fmt.Sprintf("network %s is not attached to a router (qnetctl router attach ROUTER %s)", p.Network, p.Network))
	}
	lr := m.NB.GetUserRouter(rname)
	if lr == nil || lr.ExternalIDs[keys.GatewayNet] != r.Network || m.gatewayPort(lr) == nil {
		return p, nil, errs.New(errs.Invalid, fmt.Sprintf("router %s has no gateway on %s (qnetctl router set-gateway %s %s)", rname, r.Network, rname, r.Network))
	}
	return p, lr, nil
}

// associable: a floating IP with port forwards, or a load balancer's
// listeners, cannot also be one port's (one-to-one NAT owns all its ports).
func (m *Manager) associable(addr netip.Addr) error {
	if fs := m.forwardsOf(addr); len(fs) > 0 {
		return errs.New(errs.Conflict, fmt.Sprintf("floating IP %s has %d port forwards: one-to-one NAT would own all its ports (delete them first: qnetctl fip forward delete %s PROTO PORT)",
			addr, len(fs), addr))
	}
	if users := m.fipUsers(addr); len(users) > 0 {
		return lbInUse(addr, users, "take their listeners off it first")
	}
	return nil
}

// pickFixed checks the asked address or picks the port's first IPv4.
func pickFixed(p ovn.Port, fixed netip.Addr) (netip.Addr, error) {
	if fixed.IsValid() {
		if !fixed.Is4() || !slices.Contains(p.IPs, fixed) {
			return fixed, errs.New(errs.Invalid, fmt.Sprintf("fixed_ip: %s is not an IPv4 address of port %s", fixed, p.Name))
		}
		return fixed, nil
	}
	for _, a := range p.IPs {
		if a.Is4() {
			return a, nil
		}
	}
	return fixed, errs.New(errs.Invalid, fmt.Sprintf("port %s has no IPv4 address for a floating IP", p.Name))
}

// associateOps: the reservation records the association (guarded by its
// ids as read), the NAT rule joins the router.
func (m *Manager) associateOps(r ovn.Reservation, p ovn.Port, lr *nbdb.LogicalRouter, fixed netip.Addr) ([]ovsdb.Operation, bool, error) {
	name := lr.ExternalIDs[keys.Router]
	before := r.Row().ExternalIDs
	r.FIPPort, r.FIPFixed = p.Name, fixed
	ops := []ovsdb.Operation{ovn.WaitReservationIDsOp(r.UUID, before), ovn.WaitRouterOp(lr.UUID, "ports", lr.Ports)}
	ops = append(ops, ovn.WaitNoForwardsOps(r.IP)...)
	ops = append(ops, ovn.WaitNoLBOnFIPOps(r.IP, "")...)
	add := func(o []ovsdb.Operation, err error) error { ops = append(ops, o...); return err }
	if err := add(m.NB.SetReservationIDsOps(r)); err != nil {
		return nil, false, err
	}
	nat := &nbdb.NAT{UUID: "fipnat", Type: nbdb.NATTypeDNATAndSNAT, ExternalIP: r.IP.String(), LogicalIP: fixed.String(),
		ExternalIDs: map[string]string{keys.Router: name, keys.FIP: r.IP.String(), keys.FIPPort: p.Name}}
	distributed := m.distributed(p, r.Network)
	if distributed {
		mac := router.FloatingMAC(m.MACPrefix, r.IP)
		nat.LogicalPort, nat.ExternalMAC = &p.Name, &mac
	}
	if err := add(m.NB.InsertOps(nat)); err != nil {
		return nil, false, err
	}
	e := ovn.EditRouter(lr.UUID)
	e.AddNAT(nat.UUID)
	return ops, distributed, add(m.NB.RouterEditOps(e))
}

// distributed: the port's chassis (bound, else requested, else creator)
// maps the external network's physnet.
func (m *Manager) distributed(p ovn.Port, extNet string) bool {
	if m.SB == nil || !m.SB.Connected() {
		return false
	}
	_, spec, err := m.netOf(extNet)
	if err != nil {
		return false
	}
	chassis := m.SB.BoundChassis(p.Name)
	if chassis == "" {
		chassis, _, _ = strings.Cut(p.RequestedChassis, ",")
	}
	if chassis == "" {
		chassis = p.Chassis
	}
	return chassis != "" && m.SB.HasPhysnet(chassis, spec.Physnet)
}

// DisassociateFIP takes a floating IP's association away (a no-op when it
// has none).
func (m *Manager) DisassociateFIP(ctx context.Context, addr netip.Addr) (router.FloatingIP, error) {
	defer m.locks.Lock("fip:" + addr.String())()
	r, err := m.fipRow(addr)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if r.FIPPort == "" {
		return m.fipView(r), nil
	}
	ops, err := m.disassociateOps(r, true)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if _, err := m.NB.TransactResults(ctx, "disassociate floating IP "+addr.String(), ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return router.FloatingIP{}, errs.New(errs.Conflict, fmt.Sprintf("floating IP %s changed concurrently (retry)", addr))
		}
		return router.FloatingIP{}, err
	}
	m.Log.Info("floating IP disassociated", "address", addr, "port", r.FIPPort)
	return m.GetFIP(addr)
}

// disassociateOps: the reservation forgets its port, the NAT rules of the
// floating IP go. guard: only over the reservation's ids as read.
func (m *Manager) disassociateOps(r ovn.Reservation, guard bool) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	if guard {
		ops = append(ops, ovn.WaitReservationIDsOp(r.UUID, r.Row().ExternalIDs))
	}
	r.FIPPort, r.FIPFixed = "", netip.Addr{}
	more, err := m.NB.SetReservationIDsOps(r)
	if err != nil {
		return nil, err
	}
	ops = append(ops, more...)
	nat, err := m.fipNATOps(r.IP)
	return append(ops, nat...), err
}

// fipNATOps delete the NAT rules of the floating IP addr from their routers.
func (m *Manager) fipNATOps(addr netip.Addr) ([]ovsdb.Operation, error) {
	nats, err := m.NB.NATsOf(func(n *nbdb.NAT) bool { return n.ExternalIDs[keys.FIP] == addr.String() })
	if err != nil || len(nats) == 0 {
		return nil, err
	}
	uuids := map[string]bool{}
	for _, n := range nats {
		uuids[n.UUID] = true
	}
	lrs, err := ovn.List(m.NB, func(lr *nbdb.LogicalRouter) bool {
		return slices.ContainsFunc(lr.Nat, func(u string) bool { return uuids[u] })
	})
	if err != nil {
		return nil, err
	}
	var ops []ovsdb.Operation
	for _, lr := range lrs {
		e := ovn.EditRouter(lr.UUID)
		for _, u := range lr.Nat {
			if uuids[u] {
				e.DeleteNAT(u)
			}
		}
		o, err := m.NB.RouterEditOps(e)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// DeleteFIP releases a floating IP, disassociating it and deleting its
// port forwards in the same transaction; refused while load balancers'
// listeners are on it.
func (m *Manager) DeleteFIP(ctx context.Context, addr netip.Addr) error {
	defer m.locks.Lock("fip:" + addr.String())()
	r, err := m.fipRow(addr)
	if err != nil {
		return err
	}
	if users := m.fipUsers(addr); len(users) > 0 {
		return lbInUse(addr, users, "take their listeners off it first")
	}
	tx := m.Alloc.Begin(r.Network, "delete floating IP "+addr.String())
	defer tx.Abort()
	err = m.commit(ctx, tx, func() ([]ovsdb.Operation, error) {
		if err := tx.Unreserve(keys.OwnerFIP, addr); err != nil {
			return nil, err
		}
		fwd, err := m.fipForwardsDeleteOps(addr)
		if err != nil {
			return nil, err
		}
		nat, err := m.fipNATOps(addr)
		return append(append(fwd, nat...), ovn.WaitNoLBOnFIPOps(addr, "")...), err
	}, func(err error) error {
		if errors.Is(err, ovn.ErrExists) {
			return errs.New(errs.Conflict, fmt.Sprintf("floating IP %s changed concurrently: a load balancer's listeners were put on it or its port forwards changed (nothing deleted; retry)", addr))
		}
		return err
	})
	if err != nil {
		return err
	}
	m.Log.Info("floating IP deleted", "address", addr, "network", r.Network)
	return nil
}

// PortDeleteOps are the operations that go with the deletion of a port:
// its floating IPs stay allocated, disassociated, and the port forwards
// to it go (daemon/lport adds them to the port's transaction).
func (m *Manager) PortDeleteOps(p ovn.Port) ([]ovsdb.Operation, error) {
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return nil, err
	}
	ops, err := m.portForwardOps(p)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.FIPPort != p.Name {
			continue
		}
		o, err := m.disassociateOps(r, false)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}
