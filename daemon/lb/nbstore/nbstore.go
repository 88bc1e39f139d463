// Package nbstore is the Northbound store of package lb: its Manager
// creates and deletes load balancers (the VIP and the health probes'
// source address IPAM reservations owned "lb:<name>" on the network, the Load_Balancer row attached to the
// network's switch and to the router holding the network's gateway port),
// edits listeners, members and health checks by rewriting the row from
// its record, and reads member health from Southbound Service_Monitor.
// Every change of one load balancer goes through one per-name lock.
package nbstore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/daemon/network"
	ipamstore "github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Manager owns load balancers in Northbound.
type Manager struct {
	NB    *ovn.NB
	SB    *ovn.SB // member health (Service_Monitor); nil: unknown
	Alloc *ipamstore.Store
	Log   *slog.Logger
	// MonitorMAC is NB_Global options:svc_monitor_mac, set when a health
	// check is written and none is set (ovn-northd picks one otherwise).
	MonitorMAC string

	locks keylock.Map
}

var errNotConnected = errs.New(errs.Unavailable, "not connected to OVN Northbound")

func (m *Manager) netOf(name string) (*nbdb.LogicalSwitch, network.Spec, error) {
	if err := network.ValidateName(name); err != nil {
		return nil, network.Spec{}, err
	}
	ls, err := m.NB.GetSwitch(name)
	if err != nil {
		return nil, network.Spec{}, errs.New(errs.NotFound, fmt.Sprintf("lb: network %s not found", name))
	}
	spec, err := network.FromSwitch(ls)
	return ls, spec, err
}

// Create creates the load balancer l (Name, Network, VIP, Protocol, and
// optionally FIP and Affinity): the VIP and the probes' source reserved on
// the network, the row attached to the switches of the networks routed to
// it and to the router holding the network's gateway port.
func (m *Manager) Create(ctx context.Context, l lb.LoadBalancer) (lb.LoadBalancer, error) {
	if err := m.checkNew(&l); err != nil {
		return l, err
	}
	defer m.locks.Lock(l.Name)()
	if !m.NB.Connected() {
		return l, errNotConnected
	}
	_, spec, err := m.netOf(l.Network)
	if err != nil {
		return l, err
	}
	if err := lb.ValidateVIP(l.VIP, validPrefixes(spec.Subnet4, spec.Subnet6), []netip.Addr{spec.Gateway4, spec.Gateway6}); err != nil {
		return l, err
	}
	if m.NB.GetLB(l.Name) != nil {
		return l, errs.New(errs.Conflict, fmt.Sprintf("lb: load balancer %s already exists", l.Name))
	}
	t, err := m.topology()
	if err != nil {
		return l, err
	}
	if l.FIP.IsValid() {
		if err := m.fipUsable(&l, l.FIP, t); err != nil {
			return l, err
		}
	}
	tx := m.Alloc.Begin(l.Network, "create load balancer "+l.Name)
	defer tx.Abort()
	err = m.commit(ctx, tx, func() ([]ovsdb.Operation, error) {
		if _, err := tx.Reserve(lb.Owner(l.Name), l.VIP, false); err != nil {
			return nil, vipTaken(l.VIP, err)
		}
		src, err := tx.Reserve(lb.Owner(l.Name), netip.Addr{}, l.VIP.Is6())
		if err != nil {
			return nil, fmt.Errorf("lb: health probes' source address: %w", err)
		}
		l.Source = src
		row := &nbdb.LoadBalancer{UUID: "lb", Name: ovn.LBRowName(l.Name), Protocol: &l.Protocol, ExternalIDs: l.IDs(),
			Vips: map[string]string{}, Options: l.Options()}
		var ops []ovsdb.Operation
		if l.FIP.IsValid() {
			if ops, err = m.fipGuardOps(l.FIP, l.Name); err != nil {
				return nil, err
			}
		}
		ins, err := m.NB.InsertOps(row)
		if err != nil {
			return nil, err
		}
		att, err := m.NB.LBAttachOps("lb", t.attachment(l.Network), ovn.LBAttachment{})
		return append(append(ops, ins...), att...), err
	})
	if err != nil {
		if l.FIP.IsValid() && errors.Is(err, ovn.ErrExists) {
			return l, m.fipTaken(ctx, &l, l.FIP)
		}
		return l, err
	}
	m.Log.Info("load balancer created", "lb", l.Name, "network", l.Network, "vip", l.VIP, "fip", l.FIP)
	m.waitCache(ctx, l.Name, l.IDs())
	return l, nil
}

// checkNew validates the fields of a new load balancer.
func (m *Manager) checkNew(l *lb.LoadBalancer) error {
	if err := lb.ValidateName(l.Name); err != nil {
		return err
	}
	proto, err := lb.ValidateProtocol(l.Protocol)
	if err != nil {
		return err
	}
	l.Protocol = proto
	return lb.ValidateAffinity(l.Affinity)
}

func validPrefixes(ps ...netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		if p.IsValid() {
			out = append(out, p)
		}
	}
	return out
}

// healthCheckOK validates h for l (lb.ValidateHealthCheck).
func (m *Manager) healthCheckOK(h *lb.HealthCheck, l *lb.LoadBalancer) error {
	return lb.ValidateHealthCheck(h, l.Protocol)
}

// waitCache waits (a little) until the cached row of name has ids, so
// that the next request reads what this one wrote.
func (m *Manager) waitCache(ctx context.Context, name string, ids map[string]string) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if row := m.NB.GetLB(name); row != nil && maps.Equal(row.ExternalIDs, ids) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func vipTaken(vip netip.Addr, err error) error {
	if errors.Is(err, errs.Conflict) {
		return errs.New(errs.Conflict, fmt.Sprintf("lb: vip %s is in use: %v", vip, err))
	}
	return fmt.Errorf("lb: vip %s: %w", vip, err)
}

// commit runs tx until it commits or fails; own builds the change's own
// operations on every attempt.
func (m *Manager) commit(ctx context.Context, tx *ipamstore.Tx, own func() ([]ovsdb.Operation, error)) error {
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
		if err != nil || !retry {
			return err
		}
	}
}

// Delete deletes the load balancer and releases its VIP and probe
// sources; the switch and router references are weak and go with the
// row, its health checks are garbage-collected. The sources on other
// networks go first, each with the record updated (a crash in between
// leaks nothing: the record still names what is left).
func (m *Manager) Delete(ctx context.Context, name string) error {
	if err := lb.ValidateName(name); err != nil {
		return err
	}
	defer m.locks.Lock(name)()
	_, _, err := m.write(ctx, name, "delete load balancer "+name, func(l *lb.LoadBalancer, _ *topo) error {
		l.Members = nil // every source on another network is released
		return nil
	}, nil)
	if err != nil {
		return err
	}
	row, l, err := m.get(name)
	if err != nil {
		return err
	}
	tx := m.Alloc.Begin(l.Network, "delete load balancer "+name)
	defer tx.Abort()
	err = m.commit(ctx, tx, func() ([]ovsdb.Operation, error) {
		for _, a := range []netip.Addr{l.VIP, l.Source} {
			if !a.IsValid() {
				continue
			}
			if err := tx.Unreserve(lb.Owner(name), a); err != nil && !errors.Is(err, errs.NotFound) {
				return nil, err
			}
		}
		if err := tx.Hold(); err != nil {
			return nil, err
		}
		ops, err := m.NB.DeleteOps(&nbdb.LoadBalancer{UUID: row.UUID})
		return append([]ovsdb.Operation{ovn.WaitLBExternalIDsOp(row.UUID, row.ExternalIDs)}, ops...), err
	})
	if err != nil {
		return err
	}
	m.Log.Info("load balancer deleted", "lb", name)
	return nil
}

// get reads the row and record of the load balancer name.
func (m *Manager) get(name string) (*nbdb.LoadBalancer, lb.LoadBalancer, error) {
	if !m.NB.Connected() {
		return nil, lb.LoadBalancer{}, errNotConnected
	}
	row := m.NB.GetLB(name)
	if row == nil {
		return nil, lb.LoadBalancer{}, errs.New(errs.NotFound, fmt.Sprintf("lb: load balancer %s not found", name))
	}
	proto := "tcp"
	if row.Protocol != nil {
		proto = *row.Protocol
	}
	l, err := lb.FromIDs(row.ExternalIDs, proto)
	return row, l, err
}

// Get returns the load balancer name with its members' health.
func (m *Manager) Get(name string) (lb.LoadBalancer, error) {
	if err := lb.ValidateName(name); err != nil {
		return lb.LoadBalancer{}, err
	}
	_, l, err := m.get(name)
	if err != nil {
		return l, err
	}
	if t, err := m.topology(); err == nil {
		m.fill(&l, t)
	}
	m.health(&l)
	return l, nil
}

// List returns every load balancer, sorted by name.
func (m *Manager) List() ([]lb.LoadBalancer, error) {
	return m.list(func(*nbdb.LoadBalancer) bool { return true })
}

// list returns the load balancers whose rows match pred, filled and with
// their members' health, sorted by name (one topology read for all).
func (m *Manager) list(pred func(*nbdb.LoadBalancer) bool) ([]lb.LoadBalancer, error) {
	if !m.NB.Connected() {
		return nil, errNotConnected
	}
	rows, err := m.NB.LBs()
	if err != nil {
		return nil, err
	}
	t, err := m.topology()
	if err != nil {
		return nil, err
	}
	out := make([]lb.LoadBalancer, 0, len(rows))
	for i := range rows {
		r := &rows[i]
		if !pred(r) {
			continue
		}
		proto := "tcp"
		if r.Protocol != nil {
			proto = *r.Protocol
		}
		l, err := lb.FromIDs(r.ExternalIDs, proto)
		if err != nil {
			m.Log.Warn("load balancer record unreadable", "row", r.Name, "err", err)
			continue
		}
		m.fill(&l, t)
		m.health(&l)
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b lb.LoadBalancer) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// NetworkInUse refuses the deletion of a network load balancers use
// (errs.InUse naming them).
func (m *Manager) NetworkInUse(netName string) error {
	rows, _ := m.NB.LBs()
	var names []string
	for _, r := range rows {
		if r.ExternalIDs[keys.Network] == netName {
			names = append(names, r.ExternalIDs[keys.LB])
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return errs.New(errs.InUse, fmt.Sprintf("network %s has load balancers %s: delete them first (qnetctl lb delete NAME)", netName, strings.Join(names, ", ")))
}
