// Package sg keeps QuantumNet's security groups in Northbound, their only
// store: it reads the groups back from their Port_Group and ACL rows, lets
// the translator (daemon/secgroup) compute the rows wanted after a change,
// and writes the difference in one transaction. A port's groups are the
// KeySecurityGroups of its Logical_Switch_Port, and its Port_Group
// memberships change with it, in the same transaction.
//
// Concurrency between daemons: a change of groups or rules waits on the
// generation (KeySGGen) of the all-members port group it read and bumps it,
// so two concurrent changes cannot both commit on the same view (the loser
// retries on the new one). Port memberships are mutations of single
// elements, which commute with everything else; deleting a group waits on
// its (empty) member list.
package sg

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Manager changes security groups and port memberships in Northbound.
type Manager struct {
	NB  *ovn.NB
	Log *slog.Logger
}

// Info is a security group as shown to users.
type Info struct {
	secgroup.Group
	Members []string // logical port names, sorted
	ACLs    int      // ACL rows of the group
}

// snapshot is what a change is computed from.
type snapshot struct {
	cur      secgroup.Output
	groups   []secgroup.Group
	ports    []secgroup.Port
	portUUID map[string]string // LSP name -> UUID
	portName map[string]string // LSP UUID -> name
	services []netip.Addr
	all      *nbdb.PortGroup // the all-members port group, nil if none
}

// snapshot reads the rows a change is computed from. The cache applies one
// transaction's tables one by one: a port group may already name an ACL or
// a port the cache does not have yet. Such a read is taken again (briefly),
// or a change computed from it would take that ACL or port out.
func (m *Manager) snapshot() (*snapshot, error) {
	for i := 0; ; i++ {
		s, consistent, err := m.read()
		if err != nil || consistent || i >= 40 {
			return s, err // a reference that stays unknown is not ours: the change takes it out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *Manager) read() (*snapshot, bool, error) {
	if err := m.NB.Ready(); err != nil {
		return nil, false, err
	}
	lsps, err := m.NB.PortsShallow()
	if err != nil {
		return nil, false, err
	}
	s := &snapshot{portUUID: make(map[string]string, len(lsps)), portName: make(map[string]string, len(lsps))}
	for _, p := range lsps {
		s.portUUID[p.Name], s.portName[p.UUID] = p.UUID, p.Name
	}
	pgs, err := m.NB.PortGroups(keys.SG)
	if err != nil {
		return nil, false, err
	}
	acls, err := m.NB.ACLs(keys.SG)
	if err != nil {
		return nil, false, err
	}
	s.cur = secgroup.FromModels(pgs, acls, func(u string) (string, bool) { n, ok := s.portName[u]; return n, ok })
	if s.groups, err = secgroup.Groups(s.cur); err != nil {
		return nil, false, fmt.Errorf("reading the security groups from Northbound: %w", err)
	}
	for _, pg := range pgs {
		if pg.Name == secgroup.AllPortGroup {
			s.all = pg
		}
	}
	known := make(map[string]bool, len(s.groups))
	for _, g := range s.groups {
		known[g.Name] = true
	}
	for _, p := range lsps {
		var gs []string
		for _, g := range PortGroupsOf(p) {
			if known[g] {
				gs = append(gs, g)
			} else {
				m.Log.Warn("port names a security group that does not exist; ignored", "port", p.Name, "security_group", g)
			}
		}
		if len(gs) > 0 {
			s.ports = append(s.ports, secgroup.Port{Name: p.Name, Groups: gs})
		}
	}
	switches, err := m.NB.ListSwitches()
	if err != nil {
		return nil, false, err
	}
	for i := range switches {
		spec, err := network.FromSwitch(&switches[i])
		if err != nil {
			continue
		}
		// The network's own services: its gateways (DHCP, OVN native DNS),
		// its resolver and the DNS servers it names.
		res := netsvc.ResolversOf(&switches[i])
		for _, a := range append([]netip.Addr{spec.Gateway4, spec.Gateway6, res.V4, res.V6}, spec.DNSServers...) {
			if a.IsValid() {
				s.services = append(s.services, a)
			}
		}
	}
	return s, consistent(pgs, acls, s.portName), nil
}

// consistent: every ACL and port the security groups' port groups name is
// in the cache.
func consistent(pgs []*nbdb.PortGroup, acls []*nbdb.ACL, portName map[string]string) bool {
	known := make(map[string]bool, len(acls))
	for _, a := range acls {
		known[a.UUID] = true
	}
	for _, pg := range pgs {
		for _, u := range pg.ACLs {
			if !known[u] {
				return false
			}
		}
		for _, u := range pg.Ports {
			if _, ok := portName[u]; !ok {
				return false
			}
		}
	}
	return true
}

// PortGroupsOf returns the security groups of a logical port.
func PortGroupsOf(p *nbdb.LogicalSwitchPort) []string {
	return splitGroups(p.ExternalIDs[keys.SecurityGroups])
}

func splitGroups(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g = strings.TrimSpace(g); g != "" {
			out = append(out, g)
		}
	}
	return out
}

// NormalizeGroups validates a port's list of security groups and returns it
// sorted, without duplicates.
func NormalizeGroups(groups []string) ([]string, error) {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		g = strings.TrimSpace(g)
		if err := secgroup.ValidateName(g); err != nil {
			return nil, fmt.Errorf("security_groups: %w", err)
		}
		out = append(out, g)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func gen(ids map[string]string) int {
	n, _ := strconv.Atoi(ids[keys.SGGen])
	return n
}

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
		g = gen(s.all.ExternalIDs)
	}
	setGen := func(n int) {
		for i := range desired.PortGroups {
			if desired.PortGroups[i].Name == secgroup.AllPortGroup {
				desired.PortGroups[i].ExternalIDs[keys.SGGen] = strconv.Itoa(n)
			}
		}
	}
	setGen(g)
	add, del, upd := secgroup.Diff(s.cur, desired)
	if add.Empty() && del.Empty() && upd.Empty() {
		return nil
	}
	setGen(g + 1)
	add, del, upd = secgroup.Diff(s.cur, desired)
	ops, err := m.ops(s, add, del, upd)
	if err != nil {
		return err
	}
	guard := ovs.WaitNoRow(nbdb.PortGroupTable, "name", secgroup.AllPortGroup)
	if s.all != nil {
		guard = ovn.WaitPortGroupExternalIDsOp(s.all.UUID, s.all.ExternalIDs)
	}
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
		ops = append(ops, ovn.WaitPortGroupPortsOp(p.UUID, members))
		o, err := m.NB.DeletePortGroupOps(p.UUID)
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

func find(groups []secgroup.Group, name string) int {
	return slices.IndexFunc(groups, func(g secgroup.Group) bool { return g.Name == name })
}

// Create creates a security group (with rules, possibly none: a group
// without rules isolates its ports). ErrExists if it exists.
func (m *Manager) Create(ctx context.Context, g secgroup.Group) error {
	ng, err := g.Normalize()
	if err != nil {
		return err
	}
	return m.change(ctx, "create security group "+g.Name, func(_ *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
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
	var added []secgroup.Rule
	err := m.change(ctx, "add rules to security group "+name, func(_ *snapshot, gs []secgroup.Group) ([]secgroup.Group, error) {
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
		gs[i] = g
		return gs, nil
	})
	return added, err
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
			if p.ExternalIDs[keys.SG] == g.Name {
				info.Members = slices.Clone(p.Ports)
				info.ACLs = len(p.ACLs)
			}
		}
		out = append(out, info)
	}
	return out, nil
}

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
	var ops []ovsdb.Operation
	for _, pg := range pgs {
		o, err := m.NB.MutatePortGroupOps(pg.UUID, []string{lsp.UUID}, nil, nil, nil)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// pgsOf returns the port groups of groups, and the all-members one last.
func (m *Manager) pgsOf(groups []string) ([]*nbdb.PortGroup, error) {
	pgs, err := m.NB.PortGroups(keys.SG)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]*nbdb.PortGroup, len(pgs))
	for _, pg := range pgs {
		byName[pg.ExternalIDs[keys.SG]] = pg
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
		if a.Direction == nbdb.ACLDirectionFromLport && a.Action != nbdb.ACLActionDrop && a.ExternalIDs[keys.RuleSpec] != "" {
			allows[a.ExternalIDs[keys.SG]] = true
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
	groups, err := NormalizeGroups(groups)
	if err != nil {
		return nil, err
	}
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
	if lsp.ExternalIDs[keys.Network] == "" {
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
	ids := maps.Clone(lsp.ExternalIDs)
	if len(groups) > 0 {
		ids[keys.SecurityGroups] = strings.Join(groups, ",")
	} else {
		delete(ids, keys.SecurityGroups)
	}
	if !maps.Equal(ids, lsp.ExternalIDs) {
		lsp.ExternalIDs = ids
		o, err := m.NB.UpdatePortOps(lsp, &lsp.ExternalIDs)
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
