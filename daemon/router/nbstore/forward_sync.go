package nbstore

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Forwards follow their targets: SyncForwards rewrites each row to what
// its record and the targets are now. A forward whose target port is gone
// is removed (the port's deletion takes its VIP out in its own
// transaction, the sync then drops it from the record); a target without the address the
// forward goes to keeps its forward without a VIP until it has one again;
// a row goes on the router that carries its floating IP for its targets
// (none while that router has no gateway on the floating IP's network),
// and goes away with its last forward or its floating IP.

// SyncForwards brings every port-forward row up to date; a row changed by
// another daemon meanwhile is left to the next round.
func (m *Manager) SyncForwards(ctx context.Context) error {
	if !m.NB.Connected() {
		return nil
	}
	rows, err := m.NB.ForwardRows(netip.Addr{})
	if err != nil {
		return err
	}
	var errl []error
	for _, row := range rows {
		fip, _ := netip.ParseAddr(row.ExternalIDs[keys.Forward])
		if err := m.syncForward(ctx, fip, row.Name); err != nil && !errors.Is(err, ovn.ErrExists) {
			errl = append(errl, err)
		}
	}
	return errors.Join(errl...)
}

func (m *Manager) syncForward(ctx context.Context, fip netip.Addr, name string) error {
	defer m.locks.Lock("fip:" + fip.String())()
	rows, err := m.NB.ForwardRows(fip)
	if err != nil {
		return err
	}
	row := rowOf(rows, name)
	if row == nil {
		return nil
	}
	var ops []ovsdb.Operation
	r, err := m.fipRow(fip)
	switch {
	case errors.Is(err, errs.NotFound):
		ops, err = m.NB.DeleteForwardOps(row.UUID, row.ExternalIDs)
	case err != nil:
		return err
	default:
		ops, err = m.resyncOps(r, row)
	}
	if err != nil || len(ops) == 0 {
		return err
	}
	if _, err := m.NB.TransactResults(ctx, "sync port forwards "+name, ops); err != nil {
		return err
	}
	m.Log.Info("port forwards followed their targets", "row", name)
	return nil
}

// resyncOps are the operations that bring row to its targets as they are
// now (none if it is).
func (m *Manager) resyncOps(r ovn.Reservation, row *nbdb.LoadBalancer) ([]ovsdb.Operation, error) {
	fs, err := m.resolvedRules(row)
	if err != nil {
		m.Log.Warn("port forwards: unreadable record, left as it is", "row", row.Name, "err", err)
		return nil, nil
	}
	var lr *nbdb.LogicalRouter
	kept := fs[:0:0]
	for _, f := range fs {
		p, err := m.NB.LookupPort(f.Target)
		if err != nil {
			continue // the target is gone: so is its forward
		}
		f.Address, _ = router.TargetAddress(p.IPs, f.Pinned)
		if !slices.Contains(p.IPs, f.Address) {
			f.Address = netip.Addr{}
		}
		if _, via, err := m.fipTarget(r, f.Target); err == nil && lr == nil {
			lr = via
		}
		kept = append(kept, f)
	}
	lrs, err := m.NB.RoutersWithLB(row.UUID)
	if err != nil {
		return nil, err
	}
	same := len(kept) == len(fs) && router.FormatRules(kept) == row.ExternalIDs[keys.ForwardRules] &&
		maps.Equal(router.ForwardVIPs(r.IP, kept), row.Vips) &&
		((lr == nil && len(lrs) == 0) || (lr != nil && len(lrs) == 1 && lrs[0].UUID == lr.UUID))
	if same {
		return nil, nil
	}
	return m.writeForwardOps(row, kept, lr)
}

// portForwardOps take the VIPs of the forwards to the port p out of
// their rows (for the port's deletion, in its transaction): by mutation,
// so that no concurrent edit of a forward on another daemon can fail the
// port's deletion, nor be overwritten by it. The records still name p
// until the sync, which the port's deletion kicks, drops them.
func (m *Manager) portForwardOps(p ovn.Port) ([]ovsdb.Operation, error) {
	rows, err := m.forwardRows(netip.Addr{})
	if err != nil {
		return nil, err
	}
	var ops []ovsdb.Operation
	for _, r := range rows {
		var vips []string
		for _, f := range r.fs {
			if f.Target == p.Name {
				vips = append(vips, netip.AddrPortFrom(r.fip, f.Port).String())
			}
		}
		o, err := m.NB.ForwardVIPsDeleteOps(r.row.UUID, vips)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// forwardTables are the Northbound tables whose changes can move a
// forward: its target, its network's router attachment, the router's
// gateway, the row itself.
var forwardTables = map[string]bool{
	nbdb.LogicalSwitchPortTable: true, nbdb.LogicalSwitchTable: true, nbdb.LogicalRouterTable: true,
	nbdb.LogicalRouterPortTable: true, nbdb.LoadBalancerTable: true, nbdb.DHCPOptionsTable: true,
}

// watchForwards kicks when a change may move a forward (a sync without
// forwards costs one cache query).
func (m *Manager) watchForwards(kick chan<- struct{}) {
	m.NB.Subscribe(func(table string, _, _ model.Model) {
		if !forwardTables[table] {
			return
		}
		select {
		case kick <- struct{}{}:
		default:
		}
	})
}
