package nbstore

import (
	"context"
	"errors"

	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// SyncFIPs keeps each associated floating IP distributed exactly when its
// port's chassis maps the physnet (a port that moved to a chassis without
// it goes centralized, and back), one guarded update per rule.
func (m *Manager) SyncFIPs(ctx context.Context) error {
	if m.SB == nil || !m.NB.Connected() || !m.SB.Connected() {
		return nil
	}
	rs, err := m.NB.ReservationsOf(keys.OwnerFIP)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range rs {
		if r.FIPPort == "" {
			continue
		}
		if err := m.syncFIP(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) syncFIP(ctx context.Context, r ovn.Reservation) error {
	defer m.locks.Lock("fip:" + r.IP.String())()
	p, err := m.NB.LookupPort(r.FIPPort)
	if err != nil {
		return nil // the port's deletion disassociates it
	}
	nats, err := m.NB.NATsOf(func(n *nbdb.NAT) bool { return n.ExternalIDs[keys.FIP] == r.IP.String() })
	if err != nil || len(nats) != 1 {
		return err
	}
	n := nats[0]
	want := m.distributed(p, r.Network)
	if want == (n.LogicalPort != nil) {
		return nil
	}
	n.LogicalPort, n.ExternalMAC = nil, nil
	if want {
		mac := router.FloatingMAC(m.MACPrefix, r.IP)
		n.LogicalPort, n.ExternalMAC = &p.Name, &mac
	}
	ops, err := m.NB.UpdateOps(&n, &n.LogicalPort, &n.ExternalMAC)
	if err != nil {
		return err
	}
	if _, err := m.NB.TransactResults(ctx, "floating IP "+r.IP.String()+" placement", ops); err != nil {
		return err
	}
	m.Log.Info("floating IP placement changed", "address", r.IP, "port", p.Name, "distributed", want)
	return nil
}
