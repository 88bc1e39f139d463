package nbstore

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// A load balancer's listeners may also be on a floating IP (keys.LBFIP):
// FIP:PORT vips on the same row, which is on the router whose gateway is on
// the floating IP's external network; ovn-northd answers ARP for a router
// load balancer's VIP on the gateway port whose subnet holds it, and the
// gateway chassis balances the connections from outside.

// fipUsable checks that the floating IP addr can carry l's listeners: it
// exists (an IPAM reservation owned keys.OwnerFIP), its external network
// is the gateway network of the router l's network is attached to, and no
// port, port forward or other load balancer uses it.
func (m *Manager) fipUsable(l *lb.LoadBalancer, addr netip.Addr, t *topo) error {
	if !addr.Is4() || !l.VIP.Is4() {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: fip %s: floating IPs are IPv4, for a load balancer with an IPv4 VIP", addr))
	}
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return err
	}
	var found bool
	var fipNet, fipPort string
	for _, r := range rs {
		if r.IP == addr {
			found, fipNet, fipPort = true, r.Network, r.FIPPort
		}
	}
	if !found {
		return errs.New(errs.NotFound, fmt.Sprintf("lb: fip %s: floating IP not found (qnetctl fip create)", addr))
	}
	r := t.routerOf[l.Network]
	if t.userRouter[r] == "" {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: fip %s: network %s is not attached to a router (qnetctl router attach ROUTER %s)", addr, l.Network, l.Network))
	}
	if gw := t.gatewayNet[r]; gw != fipNet {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: fip %s is on network %s, but router %s of network %s has its gateway on %q", addr, fipNet, t.userRouter[r], l.Network, gw))
	}
	nats, err := m.NB.NATsOf(func(n *nbdb.NAT) bool { return n.ExternalIDs[keys.FIP] == addr.String() })
	if err != nil {
		return err
	}
	if fipPort != "" || len(nats) > 0 {
		return errs.New(errs.InUse, fmt.Sprintf("lb: fip %s is associated with port %s: disassociate it first", addr, fipPort))
	}
	if fw, err := m.NB.ForwardRows(addr); err != nil || len(fw) > 0 {
		return errs.New(errs.InUse, fmt.Sprintf("lb: fip %s has port forwards: delete them first (qnetctl fip forward delete)", addr))
	}
	if users := m.FIPUsers(addr); slices.ContainsFunc(users, func(u string) bool { return u != l.Name }) {
		return errs.New(errs.InUse, fmt.Sprintf("lb: fip %s is used by load balancer %s", addr, users[0]))
	}
	return nil
}

// fipGuardOps are the guards of the transaction that puts name's listeners
// on the floating IP addr, which fipUsable found free in this daemon's
// cache: they fail it if another daemon took addr meanwhile (associated it,
// gave it port forwards or another load balancer's listeners) or deleted it.
func (m *Manager) fipGuardOps(addr netip.Addr, name string) ([]ovsdb.Operation, error) {
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(rs, func(r ovn.Reservation) bool { return r.IP == addr })
	if i < 0 {
		return nil, errs.New(errs.NotFound, fmt.Sprintf("lb: fip %s: floating IP not found (qnetctl fip create)", addr))
	}
	return ovn.WaitFIPFreeOps(addr, rs[i].UUID, ovn.LBRowName(name)), nil
}

// fipTaken is the refusal after fipGuardOps failed a transaction: once this
// daemon's cache shows who took the floating IP, fipUsable's refusal naming
// it; until then (a second at most), a conflict. Nothing was written.
func (m *Manager) fipTaken(ctx context.Context, l *lb.LoadBalancer, addr netip.Addr) error {
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline) && ctx.Err() == nil; time.Sleep(5 * time.Millisecond) {
		t, err := m.topology()
		if err != nil {
			break
		}
		if err := m.fipUsable(l, addr, t); err != nil {
			return err
		}
	}
	return errs.New(errs.Conflict, fmt.Sprintf("lb: fip %s changed concurrently: associated, given port forwards or another load balancer's listeners by another request (nothing written; retry)", addr))
}

// FIPUsers are the names of the load balancers whose listeners are on the
// floating IP addr (sorted; O(load balancers)). The floating-IP side
// refuses to delete or associate a floating IP that has users.
func (m *Manager) FIPUsers(addr netip.Addr) []string {
	rows, _ := m.NB.LBs()
	var out []string
	for _, r := range rows {
		if r.ExternalIDs[keys.LBFIP] == addr.String() && addr.IsValid() {
			out = append(out, r.ExternalIDs[keys.LB])
		}
	}
	slices.Sort(out)
	return out
}

// fipGone reports whether the floating IP addr no longer exists (its
// reservation deleted behind the load balancer's back): its listeners are
// then taken off it, so that a later owner of the address is not shadowed.
// Unknown (no cache): false.
func (m *Manager) fipGone(addr netip.Addr) bool {
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return false
	}
	return !slices.ContainsFunc(rs, func(r ovn.Reservation) bool { return r.IP == addr })
}
