package nbstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// PortGroupsOf returns the security groups of a logical port.
func PortGroupsOf(p *nbdb.LogicalSwitchPort) []string { return ovn.PortOf(p).SecurityGroups }

// PortOps returns the operations that put a new logical port (lsp.UUID is
// its named UUID in the same transaction) into the port groups of the
// security groups its KeySecurityGroups names: a port is never on the
// network unprotected. An unknown group is an error naming it.
func (m *Manager) PortOps(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	groups := PortGroupsOf(lsp)
	if len(groups) == 0 {
		return nil, nil
	}
	pgs, err := m.pgsOf(groups)
	if err != nil {
		return nil, err
	}
	if eg, err := m.restrictedPG(groups); err != nil {
		return nil, err
	} else if eg != nil {
		pgs = append(pgs, eg)
	}
	uuids := make([]string, len(pgs))
	for i, pg := range pgs {
		uuids[i] = pg.UUID
	}
	return m.NB.JoinPortGroupsOps(lsp.UUID, uuids)
}

// pgsOf returns the port groups of groups, and the all-members one last.
func (m *Manager) pgsOf(groups []string) ([]*nbdb.PortGroup, error) {
	pgs, err := m.NB.PortGroups(keys.SG)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*nbdb.PortGroup, len(pgs))
	for _, pg := range pgs {
		byName[secgroup.GroupOf(pg.ExternalIDs)] = pg
	}
	out := make([]*nbdb.PortGroup, 0, len(groups)+1)
	for _, g := range groups {
		pg, ok := byName[g]
		if !ok || g == secgroup.AllName {
			return nil, fmt.Errorf("%w: security_groups: %w %q (create it with: qnetctl sg create %s)", secgroup.ErrInvalid, secgroup.ErrUnknownGroup, g, g)
		}
		out = append(out, pg)
	}
	all, ok := byName[secgroup.AllName]
	if !ok {
		return nil, fmt.Errorf("port group %s: %w", secgroup.AllPortGroup, ovn.ErrNotFound)
	}
	return append(out, all), nil
}

// restrictedPG returns the restricted-egress port group if a port in
// groups belongs in it (each of them has an egress allow rule), else nil.
// This is the translator's rule (secgroup.Group.AllowsEgress), read from
// the ACLs: an egress ACL of a group that is not a drop.
func (m *Manager) restrictedPG(groups []string) (*nbdb.PortGroup, error) {
	acls, err := m.NB.ACLs(keys.SG)
	if err != nil {
		return nil, err
	}
	allows := map[string]bool{}
	for _, a := range acls {
		if secgroup.AllowsEgressACL(a) {
			allows[secgroup.GroupOf(a.ExternalIDs)] = true
		}
	}
	for _, g := range groups {
		if !allows[g] {
			return nil, nil
		}
	}
	pg, err := m.NB.GetPortGroup(secgroup.EgressPortGroup)
	if err != nil {
		return nil, fmt.Errorf("port group %s: %w", secgroup.EgressPortGroup, err)
	}
	return pg, nil
}

// SetPortGroups sets the security groups of a live port (none: the
// network's default), in one transaction with its memberships. It returns
// the groups as set.
func (m *Manager) SetPortGroups(ctx context.Context, port string, groups []string) ([]string, error) {
	groups, err := secgroup.NormalizeGroups(groups)
	if err != nil {
		return nil, err
	}
	defer m.locks.Lock("port/" + port)()
	for attempt := 0; ; attempt++ {
		err = m.setPortGroups(ctx, port, groups)
		if !errors.As(err, new(*ovs.WaitError)) || attempt >= 50 {
			break
		}
		time.Sleep(time.Duration(5+attempt*5) * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	return groups, nil
}

func (m *Manager) setPortGroups(ctx context.Context, port string, groups []string) error {
	if err := m.NB.Ready(); err != nil {
		return err
	}
	lsp, err := m.NB.GetPort(port)
	if err != nil {
		return fmt.Errorf("port %q: %w", port, err)
	}
	view := ovn.PortOf(lsp)
	if !view.Managed() {
		return fmt.Errorf("logical port %s: %w", port, ovn.ErrNotManaged)
	}
	pgs, err := m.NB.PortGroups(keys.SG)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	if len(groups) > 0 {
		in, err := m.pgsOf(groups)
		if err != nil {
			return err
		}
		for _, pg := range in {
			want[pg.UUID] = true
		}
		eg, err := m.restrictedPG(groups)
		if err != nil {
			return err
		}
		if eg != nil {
			want[eg.UUID] = true
		}
	}
	// Guard: two concurrent changes of one port must not mix memberships.
	ops := []ovsdb.Operation{ovn.WaitPortExternalIDsOp(lsp.UUID, lsp.ExternalIDs)}
	for _, pg := range pgs {
		var add, del []string
		switch has := slices.Contains(pg.Ports, lsp.UUID); {
		case want[pg.UUID] && !has:
			add = []string{lsp.UUID}
		case !want[pg.UUID] && has:
			del = []string{lsp.UUID}
		default:
			continue
		}
		o, err := m.NB.MutatePortGroupOps(pg.UUID, add, del, nil, nil)
		if err != nil {
			return err
		}
		ops = append(ops, o...)
	}
	if !slices.Equal(view.SecurityGroups, groups) {
		o, err := m.NB.SetPortKeysOps(view, ovn.PortChange{IDs: map[string]string{keys.SecurityGroups: ovn.JoinGroups(groups)}})
		if err != nil {
			return err
		}
		ops = append(ops, o...)
	}
	if len(ops) == 1 {
		return nil
	}
	if _, err := m.NB.TransactResults(ctx, "set security groups of port "+port, ops); err != nil {
		return err
	}
	m.Log.Info("port security groups set", "port", port, "security_groups", groups)
	return nil
}

// SetPortGroupsRow is SetPortGroups, returning the port's row as it is
// then (for a reply).
func (m *Manager) SetPortGroupsRow(ctx context.Context, port string, groups []string) (*nbdb.LogicalSwitchPort, error) {
	if _, err := m.SetPortGroups(ctx, port, groups); err != nil {
		return nil, err
	}
	lsp, err := m.NB.GetPort(port)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", port, err)
	}
	return lsp, nil
}
