package nbstore

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Port forwards of a floating IP (router.Forward) are OVN load balancers:
// one Load_Balancer row per floating IP and protocol (ovn.ForwardRowName)
// with a VIP FIP:PORT -> TARGET-ADDRESS:TPORT per forward, on the router
// whose gateway is on the floating IP's network and to which the targets'
// networks are attached. A floating IP with forwards is not associated
// (one-to-one NAT owns all its ports) and no load balancer's listeners are
// on it. The forwards follow their targets (forward_sync.go): an address
// change rewrites the VIP, the target's deletion removes the forward (in
// the port's own transaction), a gateway change detaches or re-attaches
// the row.

// ForwardRequest asks for a port forward.
type ForwardRequest struct {
	Address       netip.Addr // the floating IP
	Protocol      string     // tcp (default) | udp
	Port          uint32
	Target        string // logical port
	TargetPort    uint32
	TargetAddress netip.Addr // optional: which of the target's addresses
}

// fipUsers are the load balancers whose listeners are on the floating IP.
func (m *Manager) fipUsers(addr netip.Addr) []string {
	if m.FIPUsers == nil {
		return nil
	}
	users := slices.Clone(m.FIPUsers(addr))
	slices.Sort(users)
	return users
}

// lbInUse is the refusal while load balancers use a floating IP.
func lbInUse(addr netip.Addr, users []string, what string) error {
	return errs.New(errs.InUse, fmt.Sprintf("floating IP %s is used by load balancers %s: %s", addr, strings.Join(users, ", "), what))
}

// takenMeanwhile is the refusal when the transaction's guards found that
// another daemon changed the floating IP, associated it or put a load
// balancer on it after this one read it: nothing was written.
func takenMeanwhile(addr netip.Addr) error {
	return errs.New(errs.Conflict, fmt.Sprintf("floating IP %s changed concurrently: associated, given port forwards or a load balancer's listeners by another request (nothing written; retry to see which)", addr))
}

// parseForward validates a request's fields.
func parseForward(req ForwardRequest) (router.Forward, error) {
	proto, err := router.ParseProtocol(req.Protocol)
	if err != nil {
		return router.Forward{}, err
	}
	port, err := router.ParsePortNumber("port", req.Port)
	if err != nil {
		return router.Forward{}, err
	}
	tport, err := router.ParsePortNumber("target_port", req.TargetPort)
	if err != nil {
		return router.Forward{}, err
	}
	if req.Target == "" {
		return router.Forward{}, errs.New(errs.Invalid, "target: required (the logical port the forward goes to)")
	}
	if req.TargetAddress.IsValid() && !req.TargetAddress.Is4() {
		return router.Forward{}, errs.New(errs.Invalid, fmt.Sprintf("target_address: %s is not an IPv4 address (floating IPs are IPv4)", req.TargetAddress))
	}
	return router.Forward{Protocol: proto, Port: port, Target: req.Target, TargetPort: tport, Pinned: req.TargetAddress}, nil
}

// AddForward adds a port forward to a floating IP (the same forward again
// is a no-op).
func (m *Manager) AddForward(ctx context.Context, req ForwardRequest) (router.FloatingIP, error) {
	f, err := parseForward(req)
	if err != nil {
		return router.FloatingIP{}, err
	}
	addr := req.Address
	defer m.locks.Lock("fip:" + addr.String())()
	r, err := m.fipRow(addr)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if r.FIPPort != "" {
		return router.FloatingIP{}, errs.New(errs.Conflict, fmt.Sprintf("floating IP %s is associated with port %s: one-to-one NAT owns all its ports (disassociate it first)", addr, r.FIPPort))
	}
	if users := m.fipUsers(addr); len(users) > 0 {
		return router.FloatingIP{}, lbInUse(addr, users, "its ports are theirs")
	}
	ops, err := m.addForwardOps(r, f)
	if err != nil || ops == nil {
		if errors.Is(err, errSame) {
			return m.GetFIP(addr)
		}
		return router.FloatingIP{}, err
	}
	what := fmt.Sprintf("add %s forward %s:%d to %s:%d", f.Protocol, addr, f.Port, f.Target, f.TargetPort)
	if _, err := m.NB.TransactResults(ctx, what, ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return router.FloatingIP{}, takenMeanwhile(addr)
		}
		return router.FloatingIP{}, err
	}
	m.Log.Info("port forward added", "address", addr, "protocol", f.Protocol, "port", f.Port, "target", f.Target, "target_port", f.TargetPort)
	return m.GetFIP(addr)
}

var errSame = errors.New("the same forward exists")

// addForwardOps checks the target and the existing forwards and builds the
// row's insert or update (errSame: nothing to do).
func (m *Manager) addForwardOps(r ovn.Reservation, f router.Forward) ([]ovsdb.Operation, error) {
	p, lr, err := m.fipTarget(r, f.Target)
	if err != nil {
		return nil, err
	}
	a, ok := router.TargetAddress(p.IPs, f.Pinned)
	if !ok {
		if f.Pinned.IsValid() {
			return nil, errs.New(errs.Invalid, fmt.Sprintf("target_address: %s is not an address of port %s", f.Pinned, p.Name))
		}
		return nil, errs.New(errs.Invalid, fmt.Sprintf("port %s has no IPv4 address to forward to", p.Name))
	}
	f.Address = a
	rows, err := m.NB.ForwardRows(r.IP)
	if err != nil {
		return nil, err
	}
	if err := m.sameRouter(r.IP, rows, lr); err != nil {
		return nil, err
	}
	// The reservation as read (no association meanwhile) and no load
	// balancer's listeners: another daemon may have taken it.
	ops := append([]ovsdb.Operation{ovn.WaitReservationIDsOp(r.UUID, r.Row().ExternalIDs)}, ovn.WaitNoLBOnFIPOps(r.IP, "")...)
	row := rowOf(rows, ovn.ForwardRowName(r.IP, f.Protocol))
	if row == nil {
		proto := nbdb.LoadBalancerProtocol(f.Protocol)
		lb := &nbdb.LoadBalancer{UUID: "fwd", Name: ovn.ForwardRowName(r.IP, f.Protocol), Protocol: &proto,
			Vips:        router.ForwardVIPs(r.IP, []router.Forward{f}),
			ExternalIDs: map[string]string{keys.Forward: r.IP.String(), keys.ForwardRules: router.FormatRules([]router.Forward{f})}}
		more, err := m.NB.InsertForwardOps(lb, lr.UUID)
		return append(ops, more...), err
	}
	fs, err := m.resolvedRules(row)
	if err != nil {
		return nil, err
	}
	if i := slices.IndexFunc(fs, func(g router.Forward) bool { return g.Port == f.Port }); i >= 0 {
		if g := fs[i]; g.Target == f.Target && g.TargetPort == f.TargetPort && g.Pinned == f.Pinned {
			return nil, errSame
		}
		return nil, errs.New(errs.Conflict, fmt.Sprintf("floating IP %s already forwards %s port %d to %s port %d (delete it first)",
			r.IP, f.Protocol, f.Port, fs[i].Target, fs[i].TargetPort))
	}
	fs = append(fs, f)
	more, err := m.writeForwardOps(row, fs, lr)
	return append(ops, more...), err
}

// sameRouter: all forwards of a floating IP go through one router.
func (m *Manager) sameRouter(addr netip.Addr, rows []nbdb.LoadBalancer, lr *nbdb.LogicalRouter) error {
	for _, row := range rows {
		lrs, _ := m.NB.RoutersWithLB(row.UUID)
		for _, o := range lrs {
			if o.UUID != lr.UUID {
				return errs.New(errs.Invalid, fmt.Sprintf("the forwards of floating IP %s go through router %s, not router %s: a target must be on a network attached to %s",
					addr, o.ExternalIDs[keys.Router], lr.ExternalIDs[keys.Router], o.ExternalIDs[keys.Router]))
			}
		}
	}
	return nil
}

func rowOf(rows []nbdb.LoadBalancer, name string) *nbdb.LoadBalancer {
	for i := range rows {
		if rows[i].Name == name {
			return &rows[i]
		}
	}
	return nil
}

// resolvedRules parses a row's record, with each forward's address as its VIP has it.
func (m *Manager) resolvedRules(row *nbdb.LoadBalancer) ([]router.Forward, error) {
	fs, err := router.ParseRules(string(*row.Protocol), row.ExternalIDs[keys.ForwardRules])
	if err != nil {
		return nil, err
	}
	fip, _ := netip.ParseAddr(row.ExternalIDs[keys.Forward])
	for i := range fs {
		if b, err := netip.ParseAddrPort(row.Vips[netip.AddrPortFrom(fip, fs[i].Port).String()]); err == nil {
			fs[i].Address = b.Addr()
		}
	}
	return fs, nil
}

// writeForwardOps rewrites a row to the forwards fs (none: deletes it),
// on the router lr (nil: on none), guarded by its ids as read.
func (m *Manager) writeForwardOps(row *nbdb.LoadBalancer, fs []router.Forward, lr *nbdb.LogicalRouter) ([]ovsdb.Operation, error) {
	if len(fs) == 0 {
		return m.NB.DeleteForwardOps(row.UUID, row.ExternalIDs)
	}
	fip, _ := netip.ParseAddr(row.ExternalIDs[keys.Forward])
	next := *row
	next.ExternalIDs = map[string]string{keys.Forward: fip.String(), keys.ForwardRules: router.FormatRules(fs)}
	next.Vips = router.ForwardVIPs(fip, fs)
	var ops []ovsdb.Operation
	add := func(o []ovsdb.Operation, err error) error { ops = append(ops, o...); return err }
	if err := add(m.NB.SetForwardOps(&next, row.ExternalIDs)); err != nil {
		return nil, err
	}
	lrs, err := m.NB.RoutersWithLB(row.UUID)
	if err != nil {
		return nil, err
	}
	on := false
	for _, o := range lrs {
		if lr != nil && o.UUID == lr.UUID {
			on = true
			continue
		}
		if err := add(m.NB.RouterLBOps(o.UUID, row.UUID, false)); err != nil {
			return nil, err
		}
	}
	if lr != nil && !on {
		if err := add(m.NB.RouterLBOps(lr.UUID, row.UUID, true)); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

// DeleteForward deletes the forward of a floating IP's protocol and port
// (a no-op when there is none); the last one takes the row with it.
func (m *Manager) DeleteForward(ctx context.Context, addr netip.Addr, protocol string, port uint32) (router.FloatingIP, error) {
	proto, err := router.ParseProtocol(protocol)
	if err != nil {
		return router.FloatingIP{}, err
	}
	pn, err := router.ParsePortNumber("port", port)
	if err != nil {
		return router.FloatingIP{}, err
	}
	defer m.locks.Lock("fip:" + addr.String())()
	if _, err := m.fipRow(addr); err != nil {
		return router.FloatingIP{}, err
	}
	rows, err := m.NB.ForwardRows(addr)
	if err != nil {
		return router.FloatingIP{}, err
	}
	row := rowOf(rows, ovn.ForwardRowName(addr, proto))
	if row == nil {
		return m.GetFIP(addr)
	}
	fs, err := m.resolvedRules(row)
	if err != nil {
		return router.FloatingIP{}, err
	}
	i := slices.IndexFunc(fs, func(f router.Forward) bool { return f.Port == pn })
	if i < 0 {
		return m.GetFIP(addr)
	}
	fs = slices.Delete(fs, i, i+1)
	lrs, _ := m.NB.RoutersWithLB(row.UUID)
	var lr *nbdb.LogicalRouter
	if len(lrs) > 0 {
		lr = &lrs[0]
	}
	ops, err := m.writeForwardOps(row, fs, lr)
	if err != nil {
		return router.FloatingIP{}, err
	}
	if _, err := m.NB.TransactResults(ctx, fmt.Sprintf("delete %s forward %s:%d", proto, addr, pn), ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return router.FloatingIP{}, errs.New(errs.Conflict, fmt.Sprintf("floating IP %s changed concurrently (retry)", addr))
		}
		return router.FloatingIP{}, err
	}
	m.Log.Info("port forward deleted", "address", addr, "protocol", proto, "port", pn)
	return m.GetFIP(addr)
}

// forwardsOf are the forwards of a floating IP, by protocol and port.
func (m *Manager) forwardsOf(addr netip.Addr) []router.Forward {
	rows, _ := m.forwardRows(addr)
	var out []router.Forward
	for _, r := range rows {
		out = append(out, r.fs...)
	}
	router.SortForwards(out)
	return out
}

// forwardRow is a forward row with its floating IP and its forwards.
type forwardRow struct {
	row *nbdb.LoadBalancer
	fip netip.Addr
	fs  []router.Forward // resolvedRules
}

// forwardRows are the forward rows of a floating IP (the zero address:
// of every one); a row whose record does not parse is logged and skipped.
func (m *Manager) forwardRows(addr netip.Addr) ([]forwardRow, error) {
	rows, err := m.NB.ForwardRows(addr)
	var out []forwardRow
	for i := range rows {
		fs, err := m.resolvedRules(&rows[i])
		if err != nil {
			m.Log.Warn("port forwards: unreadable record", "row", rows[i].Name, "err", err)
			continue
		}
		fip, _ := netip.ParseAddr(rows[i].ExternalIDs[keys.Forward])
		out = append(out, forwardRow{row: &rows[i], fip: fip, fs: fs})
	}
	return out, err
}

// fipForwardsDeleteOps delete every forward row of a floating IP, guarded.
func (m *Manager) fipForwardsDeleteOps(addr netip.Addr) ([]ovsdb.Operation, error) {
	rows, err := m.NB.ForwardRows(addr)
	if err != nil {
		return nil, err
	}
	var ops []ovsdb.Operation
	for _, row := range rows {
		o, err := m.NB.DeleteForwardOps(row.UUID, row.ExternalIDs)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}
