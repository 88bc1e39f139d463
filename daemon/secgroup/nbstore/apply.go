package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// errRetry: the view changed under the change, compute it again.
var errRetry = errors.New("retry")

// change applies edit to the groups and writes the result. edit gets the
// current groups (normalized, sorted by name) and returns them changed; it
// may return errRetry-free validation errors, which abort the change.
func (m *Manager) change(ctx context.Context, what string, edit func(s *snapshot, groups []secgroup.Group) ([]secgroup.Group, error)) error {
	for attempt := 0; ; attempt++ {
		s, err := m.snapshot()
		if err != nil {
			return err
		}
		m.setProblems(s.problems)
		groups, err := edit(s, slices.Clone(s.groups))
		if err != nil {
			return err
		}
		err = m.write(ctx, what, s, groups)
		if !errors.Is(err, errRetry) && !errors.As(err, new(*ovs.WaitError)) {
			return err
		}
		if attempt >= 50 {
			return fmt.Errorf("%s: gave up after %d concurrent changes: %w", what, attempt, err)
		}
		time.Sleep(time.Duration(5+attempt*5) * time.Millisecond)
	}
}

// write translates groups and commits the difference from s, guarded by
// the generation s saw.
func (m *Manager) write(ctx context.Context, what string, s *snapshot, groups []secgroup.Group) error {
	var desired secgroup.Output
	if len(groups) > 0 {
		var err error
		if desired, err = secgroup.Translate(secgroup.Input{Groups: groups, Ports: s.ports, Services: s.services}); err != nil {
			return err
		}
	}
	secgroup.Freeze(&desired, s.cur, s.frozen)
	g := 0
	if s.all != nil {
		g = secgroup.Gen(s.all.ExternalIDs)
	}
	desired.SetGen(g)
	add, del, upd := secgroup.Diff(s.cur, desired)
	meterOps, err := m.meterOps(s, desired.Logs())
	if err != nil {
		return err
	}
	if add.Empty() && del.Empty() && upd.Empty() && len(meterOps) == 0 {
		return nil
	}
	desired.SetGen(g + 1)
	add, del, upd = secgroup.Diff(s.cur, desired)
	ops, err := m.ops(s, add, del, upd)
	if err != nil {
		return err
	}
	ops = append(ops, meterOps...)
	guards := append([]ovsdb.Operation{ovn.WaitPortGroupAsSeenOp(secgroup.AllPortGroup, s.all)}, s.guards...)
	t0 := time.Now()
	if _, err := m.NB.TransactResults(ctx, what, append(guards, ops...)); err != nil {
		return err
	}
	m.Log.Info(what, "port_groups_added", len(add.PortGroups), "port_groups_deleted", len(del.PortGroups),
		"port_groups_changed", len(upd.PortGroups), "acls_added", len(add.ACLs), "acls_deleted", len(del.ACLs),
		"acls_changed", len(upd.ACLs), "ops", len(ops), "took", time.Since(t0))
	return nil
}

// meterOps creates the log meter when an ACL is logged and there is none,
// and deletes it when no ACL is logged any more (it is QuantumNet's: it
// carries keys.SG); a meter of that name that is not QuantumNet's is left
// alone and used.
func (m *Manager) meterOps(s *snapshot, logs bool) ([]ovsdb.Operation, error) {
	switch {
	case logs && s.meter == nil:
		return m.NB.InsertMeterOps(ovn.MeterSpec{Name: secgroup.LogMeter, Unit: nbdb.MeterUnitPktps,
			Rate: secgroup.LogMeterRate, Burst: secgroup.LogMeterBurst,
			ExternalIDs: map[string]string{keys.SG: secgroup.AllName}})
	case !logs && s.meter != nil && s.meter.ExternalIDs[keys.SG] == secgroup.AllName:
		return m.NB.DeleteMeterOps(s.meter.UUID)
	}
	return nil, nil
}

// ops turns a Diff into operations: ACLs first (named UUIDs for new ones),
// then the port groups that refer to them.
func (m *Manager) ops(s *snapshot, add, del, upd secgroup.Output) ([]ovsdb.Operation, error) {
	d := &diffOps{nb: m.NB, s: s, aclRef: make(map[string]string, len(s.cur.ACLs)+len(add.ACLs))}
	for _, a := range s.cur.ACLs {
		d.aclRef[a.Key] = a.UUID
	}
	for _, step := range []func() error{
		func() error { return d.acls(add.ACLs, upd.ACLs) },
		func() error { return d.insertPortGroups(add.PortGroups) },
		func() error { return d.updatePortGroups(upd.PortGroups) },
		func() error { return d.deletePortGroups(del.PortGroups) },
	} {
		if err := step(); err != nil {
			return nil, err
		}
	}
	return d.ops, d.missing
}

// diffOps are the operations of one Diff, built by pkg/ovn.
type diffOps struct {
	nb      *ovn.NB
	s       *snapshot
	aclRef  map[string]string // ACL key -> UUID or named UUID
	ops     []ovsdb.Operation
	missing error // a port the snapshot does not know (errRetry)
}

func (d *diffOps) add(o []ovsdb.Operation, err error) error {
	d.ops = append(d.ops, o...)
	return err
}

// port is the UUID of the port called n; a port the snapshot does not know
// makes the change retry.
func (d *diffOps) port(n string) string {
	u, ok := d.s.portUUID[n]
	if !ok {
		d.missing = fmt.Errorf("logical port %s: %w", n, errRetry)
	}
	return u
}

// portOrUUID is the UUID of the port called n, or n (the UUID of a port
// gone meanwhile).
func (d *diffOps) portOrUUID(n string) string {
	if u, ok := d.s.portUUID[n]; ok {
		return u
	}
	return n
}

func (d *diffOps) acl(k string) string { return d.aclRef[k] }

func (d *diffOps) acls(add, upd []secgroup.ACL) error {
	for i, a := range add {
		row := a.Model()
		row.UUID = "acl" + strconv.Itoa(i)
		d.aclRef[a.Key] = row.UUID
		if err := d.add(d.nb.InsertACLOps(row)); err != nil {
			return err
		}
	}
	for _, a := range upd {
		if err := d.add(d.nb.UpdateACLOps(a.Model())); err != nil {
			return err
		}
	}
	return nil
}

func (d *diffOps) insertPortGroups(add []secgroup.PortGroup) error {
	for _, p := range add {
		if err := d.add(d.nb.InsertPortGroupOps(p.Model(d.port, d.acl))); err != nil {
			return err
		}
	}
	return nil
}

// updatePortGroups: mutations of single elements of ports and acls, and
// the external ids when they changed.
func (d *diffOps) updatePortGroups(upd []secgroup.PortGroup) error {
	cur := make(map[string]secgroup.PortGroup, len(d.s.cur.PortGroups))
	for _, p := range d.s.cur.PortGroups {
		cur[p.Name] = p
	}
	for _, p := range upd {
		c := cur[p.Name]
		addP, delP := secgroup.Delta(c.Ports, p.Ports)
		addA, delA := secgroup.Delta(c.ACLs, p.ACLs)
		for i, n := range addP {
			addP[i] = d.port(n)
		}
		for i, n := range delP {
			delP[i] = d.portOrUUID(n)
		}
		for i, k := range addA {
			addA[i] = d.acl(k)
		}
		for i, k := range delA {
			delA[i] = d.acl(k)
		}
		if err := d.add(d.nb.MutatePortGroupOps(p.UUID, addP, delP, addA, delA)); err != nil {
			return err
		}
		if !maps.Equal(c.ExternalIDs, p.ExternalIDs) {
			if err := d.add(d.nb.SetPortGroupExternalIDsOps(p.UUID, p.ExternalIDs)); err != nil {
				return err
			}
		}
	}
	return nil
}

func (d *diffOps) deletePortGroups(del []secgroup.PortGroup) error {
	for _, p := range del {
		members := make([]string, 0, len(p.Ports))
		for _, n := range p.Ports {
			members = append(members, d.portOrUUID(n))
		}
		// Only as empty as it was seen: a port joining meanwhile aborts.
		if err := d.add(d.nb.DeleteEmptiedPortGroupOps(p.UUID, members)); err != nil {
			return err
		}
	}
	return nil
}

// Sync rewrites the rows from the groups and memberships in Northbound (at
// start, and when networks, whose gateways the plumbing ACLs name, change).
func (m *Manager) Sync(ctx context.Context) error {
	err := m.change(ctx, "sync security groups", func(_ *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		return gs, nil
	})
	if m.Observer != nil {
		m.Observer.SecurityGroupSync(err)
	}
	return err
}

// Run syncs every interval until ctx ends: it repairs what a race between
// daemons can leave (a port created while its group gained its first
// egress rule), and writes nothing when all is as it should be.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if !m.NB.Connected() {
				continue
			}
			// A deadline per pass: a stalled connection ends the pass
			// (the next one retries) instead of stopping the loop.
			sctx, cancel := context.WithTimeout(ctx, interval)
			if err := m.Sync(sctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("security groups: periodic sync failed", "err", err)
			}
			cancel()
		}
	}
}
