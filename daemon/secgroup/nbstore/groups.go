package nbstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

func find(groups []secgroup.Group, name string) int {
	return slices.IndexFunc(groups, func(g secgroup.Group) bool { return g.Name == name })
}

// Create creates a security group (with rules, possibly none: a group
// without rules isolates its ports). ErrExists if it exists.
func (m *Manager) Create(ctx context.Context, g secgroup.Group) error {
	defer m.locks.Lock(g.Name)()
	if err := secgroup.ValidateNewName(g.Name); err != nil {
		return err
	}
	ng, err := g.Normalize()
	if err != nil {
		return err
	}
	return m.change(ctx, "create security group "+g.Name, func(s *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		if err := m.bastionRemotes(s, ng.Rules); err != nil {
			return nil, err
		}
		if find(gs, ng.Name) >= 0 {
			return nil, fmt.Errorf("security group %q: %w", ng.Name, ovn.ErrExists)
		}
		for _, o := range gs {
			if secgroup.PortGroupName(o.Name) == secgroup.PortGroupName(ng.Name) {
				return nil, fmt.Errorf("%w: name: %q is too like the existing security group %q (OVN names them both %s)",
					secgroup.ErrInvalid, ng.Name, o.Name, secgroup.PortGroupName(o.Name))
			}
		}
		return append(gs, ng), nil
	})
}

// Delete deletes a security group. It is refused (ErrInUse) while ports are
// in it or rules of other groups name it; ErrNotFound if there is none.
func (m *Manager) Delete(ctx context.Context, name string) error {
	defer m.locks.Lock(name)()
	return m.change(ctx, "delete security group "+name, func(s *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		i := find(gs, name)
		if i < 0 {
			return nil, fmt.Errorf("security group %q: %w", name, ovn.ErrNotFound)
		}
		var members []string
		for _, p := range s.ports {
			if slices.Contains(p.Groups, name) {
				members = append(members, p.Name)
			}
		}
		if len(members) > 0 {
			return nil, fmt.Errorf("security group %q has %d port(s) (%s): %w; take them out first (qnetctl port set-security-groups PORT ...)",
				name, len(members), abbreviate(members), ovn.ErrInUse)
		}
		for _, o := range gs {
			for _, r := range o.Rules {
				if o.Name != name && r.RemoteGroup == name {
					return nil, fmt.Errorf("security group %q is the remote of rule %q of group %q: %w", name, r.String(), o.Name, ovn.ErrInUse)
				}
			}
		}
		return slices.Delete(gs, i, i+1), nil
	})
}

func abbreviate(names []string) string {
	slices.Sort(names)
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", ..."
	}
	return strings.Join(names, ", ")
}

// AddRules adds rules to a group; rules it has already are skipped. It
// returns the rules added (normalized).
func (m *Manager) AddRules(ctx context.Context, name string, rules []secgroup.Rule) ([]secgroup.Rule, error) {
	defer m.locks.Lock(name)()
	var added []secgroup.Rule
	err := m.change(ctx, "add rules to security group "+name, func(s *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		added = nil
		i := find(gs, name)
		if i < 0 {
			return nil, fmt.Errorf("security group %q: %w", name, ovn.ErrNotFound)
		}
		g := gs[i]
		have := make(map[string]bool, len(g.Rules))
		for _, r := range g.Rules {
			have[ruleKey(g.Name, r)] = true
		}
		g.Rules = slices.Clone(g.Rules)
		for j, r := range rules {
			nr, err := r.Normalize()
			if err != nil {
				return nil, fmt.Errorf("rules[%d]: %w", j, err)
			}
			if k := ruleKey(g.Name, nr); !have[k] {
				have[k] = true
				g.Rules = append(g.Rules, nr)
				added = append(added, nr)
			}
		}
		if err := m.bastionRemotes(s, added); err != nil {
			return nil, err
		}
		gs[i] = g
		return gs, nil
	})
	return added, err
}

// bastionRemotes refuses rules that name the peers of a bastion that does
// not exist (sg:bastion-NAME), and guards the change on the existence of
// those it names (a bastion deleted meanwhile makes the change retry).
func (m *Manager) bastionRemotes(s *snapshot, rules []secgroup.Rule) error {
	for _, r := range rules {
		b, ok := secgroup.BastionOf(r.RemoteGroup)
		if !ok {
			continue
		}
		if m.NB.BastionAddressSet(b) == nil {
			return errs.New(errs.Invalid, fmt.Sprintf("rule %q: remote_group: sg:%s names the peers of bastion %s, which does not exist (qnetctl bastion list)",
				r.String(), r.RemoteGroup, b))
		}
		s.guards = append(s.guards, ovn.WaitBastionAddressSetOp(b))
	}
	return nil
}

// ruleKey identifies a rule within its group (a remote of the group itself
// is "self").
func ruleKey(group string, r secgroup.Rule) string {
	if r.RemoteGroup == group {
		r.RemoteGroup = secgroup.Self
	}
	return r.ID()
}

// DeleteRules deletes rules from a group, each given by its id or as a rule
// (in any form that normalizes to it). A rule the group does not have is
// ErrNotFound, and nothing is deleted.
func (m *Manager) DeleteRules(ctx context.Context, name string, refs []string) error {
	defer m.locks.Lock(name)()
	return m.change(ctx, "delete rules of security group "+name, func(_ *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		i := find(gs, name)
		if i < 0 {
			return nil, fmt.Errorf("security group %q: %w", name, ovn.ErrNotFound)
		}
		g := gs[i]
		drop := map[string]bool{}
		for _, ref := range refs {
			id := ""
			for _, r := range g.Rules {
				if r.ID() == ref {
					id = ref
				}
			}
			if id == "" {
				r, err := secgroup.ParseRule(ref)
				if err != nil {
					return nil, fmt.Errorf("rule %q is neither a rule id of group %s nor a rule: %w", ref, name, err)
				}
				k := ruleKey(name, r)
				for _, have := range g.Rules {
					if ruleKey(name, have) == k {
						id = have.ID()
					}
				}
			}
			if id == "" {
				return nil, fmt.Errorf("security group %s has no rule %q: %w", name, ref, ovn.ErrNotFound)
			}
			drop[id] = true
		}
		g.Rules = slices.DeleteFunc(slices.Clone(g.Rules), func(r secgroup.Rule) bool { return drop[r.ID()] })
		gs[i] = g
		return gs, nil
	})
}

// SetLogDrops turns the logging of a group's drops on or off (see
// secgroup.Logging); setting what is set already writes nothing.
// ErrNotFound if there is no such group.
func (m *Manager) SetLogDrops(ctx context.Context, name string, on bool) error {
	defer m.locks.Lock(name)()
	return m.change(ctx, "set drop logging of security group "+name, func(_ *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
		i := find(gs, name)
		if i < 0 {
			return nil, fmt.Errorf("security group %q: %w", name, ovn.ErrNotFound)
		}
		gs[i].LogDrops = on
		return gs, nil
	})
}

// Get returns one group.
func (m *Manager) Get(name string) (Info, error) {
	all, err := m.List()
	if err != nil {
		return Info{}, err
	}
	for _, i := range all {
		if i.Name == name {
			return i, nil
		}
	}
	return Info{}, fmt.Errorf("security group %q: %w", name, ovn.ErrNotFound)
}

// List returns every group with its members, sorted by name.
func (m *Manager) List() ([]Info, error) {
	s, err := m.snapshot()
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(s.groups))
	for _, g := range s.groups {
		info := Info{Group: g}
		for _, p := range s.cur.PortGroups {
			if p.Group() == g.Name {
				info.Members = slices.Clone(p.Ports)
				info.ACLs = len(p.ACLs)
			}
		}
		out = append(out, info)
	}
	return out, nil
}
