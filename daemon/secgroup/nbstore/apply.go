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
	g := 0
	if s.all != nil {
		g = secgroup.Gen(s.all.ExternalIDs)
	}
	desired.SetGen(g)
	add, del, upd := secgroup.Diff(s.cur, desired)
	if add.Empty() && del.Empty() && upd.Empty() {
		return nil
	}
	desired.SetGen(g + 1)
	add, del, upd = secgroup.Diff(s.cur, desired)
	ops, err := m.ops(s, add, del, upd)
	if err != nil {
		return err
	}
	guard := ovn.WaitPortGroupAsSeenOp(secgroup.AllPortGroup, s.all)
	t0 := time.Now()
	if _, err := m.NB.TransactResults(ctx, what, append([]ovsdb.Operation{guard}, ops...)); err != nil {
		return err
	}
	m.Log.Info(what, "port_groups_added", len(add.PortGroups), "port_groups_deleted", len(del.PortGroups),
		"port_groups_changed", len(upd.PortGroups), "acls_added", len(add.ACLs), "acls_deleted", len(del.ACLs),
		"acls_changed", len(upd.ACLs), "ops", len(ops), "took", time.Since(t0))
	return nil
}

// ops turns a Diff into operations: ACLs first (named UUIDs for new ones),
// then the port groups that refer to them.
func (m *Manager) ops(s *snapshot, add, del, upd secgroup.Output) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	aclRef := make(map[string]string, len(s.cur.ACLs)+len(add.ACLs))
	for _, a := range s.cur.ACLs {
		aclRef[a.Key] = a.UUID
	}
	for i, a := range add.ACLs {
		row := a.Model()
		row.UUID = "acl" + strconv.Itoa(i)
		aclRef[a.Key] = row.UUID
		o, err := m.NB.InsertACLOps(row)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	for _, a := range upd.ACLs {
		o, err := m.NB.UpdateACLOps(a.Model())
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	var missing error
	port := func(n string) string {
		u, ok := s.portUUID[n]
		if !ok {
			missing = fmt.Errorf("logical port %s: %w", n, errRetry)
		}
		return u
	}
	acl := func(k string) string { return aclRef[k] }
	for _, p := range add.PortGroups {
		o, err := m.NB.InsertPortGroupOps(p.Model(port, acl))
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	cur := make(map[string]secgroup.PortGroup, len(s.cur.PortGroups))
	for _, p := range s.cur.PortGroups {
		cur[p.Name] = p
	}
	for _, p := range upd.PortGroups {
		c := cur[p.Name]
		addP, delP := secgroup.Delta(c.Ports, p.Ports)
		addA, delA := secgroup.Delta(c.ACLs, p.ACLs)
		for i, n := range addP {
			addP[i] = port(n)
		}
		for i, n := range delP {
			if u, ok := s.portUUID[n]; ok {
				delP[i] = u // else n is the UUID of a port gone meanwhile
			}
		}
		for i, k := range addA {
			addA[i] = acl(k)
		}
		for i, k := range delA {
			delA[i] = acl(k)
		}
		o, err := m.NB.MutatePortGroupOps(p.UUID, addP, delP, addA, delA)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
		if !maps.Equal(c.ExternalIDs, p.ExternalIDs) {
			if o, err = m.NB.SetPortGroupExternalIDsOps(p.UUID, p.ExternalIDs); err != nil {
				return nil, err
			}
			ops = append(ops, o...)
		}
	}
	for _, p := range del.PortGroups {
		var members []string
		for _, n := range p.Ports {
			if u, ok := s.portUUID[n]; ok {
				members = append(members, u)
			} else {
				members = append(members, n)
			}
		}
		// Only as empty as it was seen: a port joining meanwhile aborts.
		o, err := m.NB.DeleteEmptiedPortGroupOps(p.UUID, members)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, missing
}

// Sync rewrites the rows from the groups and memberships in Northbound (at
// start, and when networks, whose gateways the plumbing ACLs name, change).
func (m *Manager) Sync(ctx context.Context) error {
	return m.change(ctx, "sync security groups", func(_ *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		return gs, nil
	})
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
			if err := m.Sync(ctx); err != nil && ctx.Err() == nil {
				m.Log.Warn("security groups: periodic sync failed", "err", err)
			}
		}
	}
}
