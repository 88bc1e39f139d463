package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/sbdb"
)

// A gateway's HA_Chassis_Group qn-ha-<router> has one HA_Chassis per
// chassis that maps the external network's physnet (Southbound
// Chassis.other_config:ovn-bridge-mappings). ovn-northd schedules the
// gateway port on the highest-priority live member, and ovn-controller
// runs BFD between the members to fail over. The group records its physnet
// (keys.Physnet) so that the Runner keeps it current.

// haGroupRow is a new gateway's group with its chassis (named UUIDs).
func (m *Manager) haGroupRow(name, physnet string) (*nbdb.HAChassisGroup, []*nbdb.HAChassis) {
	g := &nbdb.HAChassisGroup{UUID: "hagroup", Name: ovn.HAGroupName(name), ExternalIDs: map[string]string{keys.Router: name, keys.Physnet: physnet}}
	var want []string
	if m.SB != nil {
		want = m.SB.ChassisWithPhysnet(physnet)
	}
	prios := router.Priorities(nil, want)
	var hcs []*nbdb.HAChassis
	for i, c := range slices.Sorted(maps.Keys(prios)) {
		hcs = append(hcs, &nbdb.HAChassis{UUID: fmt.Sprintf("hac%d", i), ChassisName: c, Priority: prios[c],
			ExternalIDs: map[string]string{keys.Router: name}})
	}
	return g, hcs
}

// SyncHA brings every gateway's HA group up to date with the Southbound
// chassis: a chassis that maps the physnet joins (below the members, so it
// never takes an active gateway over); a member leaves only when its
// chassis is registered and no longer maps the physnet (a dead
// ovn-controller's chassis stays: BFD handles it). Each group's change is
// guarded by its members as read: daemons doing the same at once do not
// fight, the loser finds the work done.
func (m *Manager) SyncHA(ctx context.Context) error {
	if m.SB == nil || !m.NB.Connected() || !m.SB.Connected() {
		return nil
	}
	groups, err := m.NB.HAGroups()
	if err != nil {
		return err
	}
	var errs []error
	for _, g := range groups {
		if err := m.syncGroup(ctx, g.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) syncGroup(ctx context.Context, groupName string) error {
	g, hcs := m.NB.GetHAGroup(groupName)
	if g == nil {
		return nil
	}
	physnet, name := g.ExternalIDs[keys.Physnet], g.ExternalIDs[keys.Router]
	want := m.SB.ChassisWithPhysnet(physnet)
	cur := map[string]int{}
	var remove []string
	for _, h := range hcs {
		if _, err := m.SB.GetChassis(h.ChassisName); err == nil && !slices.Contains(want, h.ChassisName) {
			remove = append(remove, h.UUID)
			continue
		}
		cur[h.ChassisName] = h.Priority
	}
	prios := router.Priorities(cur, want)
	var add []*nbdb.HAChassis
	for i, c := range slices.Sorted(maps.Keys(prios)) {
		if _, ok := cur[c]; !ok {
			add = append(add, &nbdb.HAChassis{UUID: fmt.Sprintf("hac%d", i), ChassisName: c, Priority: prios[c],
				ExternalIDs: map[string]string{keys.Router: name}})
		}
	}
	if len(add) == 0 && len(remove) == 0 {
		return nil
	}
	ops, err := m.NB.SetHAGroupChassisOps(g.UUID, g.HaChassis, add, remove, nil)
	if err != nil {
		return err
	}
	if _, err := m.NB.TransactResults(ctx, "gateway chassis of router "+name, ops); err != nil {
		if errors.Is(err, ovn.ErrExists) {
			return nil // another daemon changed it meanwhile: the next event looks again
		}
		return err
	}
	m.Log.Info("gateway chassis updated", "router", name, "added", len(add), "removed", len(remove))
	return nil
}

// Runner keeps the HA groups current, and the floating IPs distributed
// where their ports' chassis map the physnet: at once when a Southbound
// chassis appears or changes, and every Interval. It keeps port forwards
// following their targets: at once when a Northbound row they depend on
// changes, and every Interval.
type Runner struct {
	M        *Manager
	Interval time.Duration
}

// Run runs until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	kick, fwd := make(chan struct{}, 1), make(chan struct{}, 1)
	if r.M.SB != nil {
		r.M.SB.Subscribe(func(table string, _, _ model.Model) {
			if table != sbdb.ChassisTable {
				return
			}
			select {
			case kick <- struct{}{}:
			default:
			}
		})
	}
	r.M.watchForwards(fwd)
	iv := r.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	all := true
	for {
		if all {
			if err := r.M.SyncHA(ctx); err != nil {
				r.M.Log.Warn("gateway chassis: sync failed, will retry", "err", err)
			}
			if err := r.M.SyncFIPs(ctx); err != nil {
				r.M.Log.Warn("floating IPs: placement sync failed, will retry", "err", err)
			}
		}
		if err := r.M.SyncForwards(ctx); err != nil {
			r.M.Log.Warn("port forwards: sync failed, will retry", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-kick:
			all = true
			time.Sleep(100 * time.Millisecond) // let a burst of chassis changes settle
		case <-fwd:
			all = false
		case <-t.C:
			all = true
		}
	}
}
