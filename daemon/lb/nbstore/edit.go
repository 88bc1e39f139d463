package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Edits: each reads the record, changes it and rewrites the row (the
// derived columns and references too) in one transaction guarded by the
// record it read, so concurrent daemons never lose a change: the loser
// reads the winner's record and applies its change again. A change that
// needs a probe source reserved or released on another network carries
// that IPAM change in the same transaction.

// edit locks name, reads it, applies change (nil: none, a sync) and
// writes the result, then the source changes left (one per transaction).
func (m *Manager) edit(ctx context.Context, name, what string, change func(*lb.LoadBalancer, *topo) error) (lb.LoadBalancer, error) {
	if err := lb.ValidateName(name); err != nil {
		return lb.LoadBalancer{}, err
	}
	defer m.locks.Lock(name)()
	l, _, err := m.write(ctx, name, what, change, nil)
	if err != nil {
		return l, err
	}
	if change != nil {
		m.Log.Info("load balancer changed", "lb", name, "change", what)
	}
	m.health(&l)
	return l, nil
}

// write is edit's loop, under the lock: wrote reports a transaction. t,
// if not nil, is a topology read for the first attempt (a sweep shares
// one between load balancers); later attempts read their own.
func (m *Manager) write(ctx context.Context, name, what string, change func(*lb.LoadBalancer, *topo) error, t *topo) (l lb.LoadBalancer, wrote bool, err error) {
	for attempt := 0; ; attempt++ {
		row, cur, err := m.get(name)
		if err != nil {
			return cur, wrote, err
		}
		l = cur
		if t == nil {
			if t, err = m.topology(); err != nil {
				return l, wrote, err
			}
		}
		if change != nil {
			if err := change(&l, t); err != nil {
				return l, wrote, err
			}
		}
		if gone := m.fill(&l, t); len(gone) > 0 {
			l.Members = slices.DeleteFunc(l.Members, func(mb lb.Member) bool { return slices.Contains(gone, mb.Port) })
		}
		if l.FIP.IsValid() && m.fipGone(l.FIP) {
			l.FIP = netip.Addr{}
		}
		sc := nextSource(&l)
		w, h := want(&l, t), m.have(row, t)
		if sc == (sourceChange{}) && maps.Equal(row.ExternalIDs, l.IDs()) && w.equal(h) {
			return l, wrote, nil
		}
		var guard []ovsdb.Operation // l's listeners go onto a floating IP
		if l.FIP.IsValid() && l.FIP != cur.FIP {
			if guard, err = m.fipGuardOps(l.FIP, name); err != nil {
				return l, wrote, err
			}
		}
		err = m.apply(ctx, row, &l, sc, guard, what+" of load balancer "+name, t)
		t = nil
		if errors.Is(err, ovn.ErrExists) && attempt < 20 {
			time.Sleep(10 * time.Millisecond) // another daemon's change won: read it again
			continue
		}
		if err != nil && guard != nil && errors.Is(err, ovn.ErrExists) {
			return l, wrote, m.fipTaken(ctx, &l, l.FIP)
		}
		if err != nil {
			return l, wrote, err
		}
		wrote, change = true, nil
		m.waitCache(ctx, name, l.IDs())
		if sc == (sourceChange{}) {
			return l, wrote, nil
		}
	}
}

// apply writes l over row in one transaction guarded by row's record and
// guard, with the source change sc (if any) on its network's IPAM.
func (m *Manager) apply(ctx context.Context, row *nbdb.LoadBalancer, l *lb.LoadBalancer, sc sourceChange, guard []ovsdb.Operation, what string, t *topo) error {
	rowOps := func() ([]ovsdb.Operation, error) {
		ops, err := m.writeOps(row, l, want(l, t), m.have(row, t))
		return append(append([]ovsdb.Operation{ovn.WaitLBExternalIDsOp(row.UUID, row.ExternalIDs)}, guard...), ops...), err
	}
	if sc.Network == "" {
		ops, err := rowOps()
		if err != nil {
			return err
		}
		_, err = m.NB.TransactResults(ctx, what, ops)
		return err
	}
	base := maps.Clone(l.Sources)
	tx := m.Alloc.Begin(sc.Network, what)
	defer tx.Abort()
	return m.commit(ctx, tx, func() ([]ovsdb.Operation, error) {
		l.Sources = maps.Clone(base)
		if l.Sources == nil {
			l.Sources = map[string]netip.Addr{}
		}
		if sc.Release {
			if err := tx.Unreserve(lb.Owner(l.Name), l.Sources[sc.Network]); err != nil && !errors.Is(err, errs.NotFound) {
				return nil, err
			}
			if err := tx.Hold(); err != nil {
				return nil, err
			}
			delete(l.Sources, sc.Network)
		} else {
			a, err := tx.Reserve(lb.Owner(l.Name), netip.Addr{}, l.VIP.Is6())
			if err != nil {
				return nil, fmt.Errorf("lb: health probes' source address on network %s: %w", sc.Network, err)
			}
			l.Sources[sc.Network] = a
		}
		return rowOps()
	})
}

// AddListener adds a listener.
func (m *Manager) AddListener(ctx context.Context, name string, x lb.Listener) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "add listener", func(l *lb.LoadBalancer, _ *topo) error {
		if err := lb.ValidateListener(x, l.Listeners); err != nil {
			return err
		}
		l.Listeners = append(l.Listeners, x)
		l.SortListeners()
		return nil
	})
}

// DeleteListener deletes the listener on port.
func (m *Manager) DeleteListener(ctx context.Context, name string, port int) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "delete listener", func(l *lb.LoadBalancer, _ *topo) error {
		for i, x := range l.Listeners {
			if x.Port == port {
				l.Listeners = slices.Delete(l.Listeners, i, i+1)
				return nil
			}
		}
		return errs.New(errs.NotFound, fmt.Sprintf("lb: %s has no listener on port %d", name, port))
	})
}

// SetHealthCheck sets (h nil: clears) the health check.
func (m *Manager) SetHealthCheck(ctx context.Context, name string, h *lb.HealthCheck) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "set health check", func(l *lb.LoadBalancer, _ *topo) error {
		if h != nil {
			if err := m.healthCheckOK(h, l); err != nil {
				return err
			}
		}
		l.HealthCheck = h
		return nil
	})
}

// Update changes the floating IP (fip nil: unchanged; zero: none) and the
// session affinity (affinity nil: unchanged; 0: none).
func (m *Manager) Update(ctx context.Context, name string, fip *netip.Addr, affinity *int) (lb.LoadBalancer, error) {
	if affinity != nil {
		if err := lb.ValidateAffinity(*affinity); err != nil {
			return lb.LoadBalancer{}, err
		}
	}
	return m.edit(ctx, name, "update", func(l *lb.LoadBalancer, t *topo) error {
		if affinity != nil {
			l.Affinity = *affinity
		}
		if fip != nil && *fip != l.FIP {
			if fip.IsValid() {
				if err := m.fipUsable(l, *fip, t); err != nil {
					return err
				}
			}
			l.FIP = *fip
		}
		return nil
	})
}
