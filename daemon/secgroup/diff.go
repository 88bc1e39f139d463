package secgroup

import (
	"maps"
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// Diff compares the current rows with the desired ones, keyed by port group
// name and ACL key, and returns the rows to insert, to delete (as they are
// now, with their UUIDs) and to update (as they should be, with the UUID of
// the current row). Each result is sorted like an Output. A row is updated
// when any column differs (UUIDs aside); port and ACL lists compare as
// sets. A second current ACL with the key of another (a leftover) is
// deleted. Use Delta to turn an update of a port group's ports or ACLs into
// mutations. ACL is not a root table: an ACL is deleted by taking it out of
// its port group's acls (or deleting the group), and ovsdb-server
// garbage-collects it; every ACL in toDelete goes with such a change in
// toUpdate or toDelete.
func Diff(current, desired Output) (toAdd, toDelete, toUpdate Output) {
	curPG := make(map[string]PortGroup, len(current.PortGroups))
	for _, p := range current.PortGroups {
		if _, dup := curPG[p.Name]; dup {
			toDelete.PortGroups = append(toDelete.PortGroups, p)
			continue
		}
		curPG[p.Name] = p
	}
	desPG := make(map[string]bool, len(desired.PortGroups))
	for _, p := range desired.PortGroups {
		desPG[p.Name] = true
		c, ok := curPG[p.Name]
		switch {
		case !ok:
			toAdd.PortGroups = append(toAdd.PortGroups, p)
		case !samePortGroup(c, p):
			p.UUID = c.UUID
			toUpdate.PortGroups = append(toUpdate.PortGroups, p)
		}
	}
	for _, p := range curPG {
		if !desPG[p.Name] {
			toDelete.PortGroups = append(toDelete.PortGroups, p)
		}
	}

	curACL := make(map[string]ACL, len(current.ACLs))
	for _, a := range current.ACLs {
		if _, dup := curACL[a.Key]; dup {
			toDelete.ACLs = append(toDelete.ACLs, a)
			continue
		}
		curACL[a.Key] = a
	}
	desACL := make(map[string]bool, len(desired.ACLs))
	for _, a := range desired.ACLs {
		desACL[a.Key] = true
		c, ok := curACL[a.Key]
		switch {
		case !ok:
			toAdd.ACLs = append(toAdd.ACLs, a)
		case !sameACL(c, a):
			a.UUID = c.UUID
			toUpdate.ACLs = append(toUpdate.ACLs, a)
		}
	}
	for _, a := range curACL {
		if !desACL[a.Key] {
			toDelete.ACLs = append(toDelete.ACLs, a)
		}
	}
	toAdd.sort()
	toDelete.sort()
	toUpdate.sort()
	return toAdd, toDelete, toUpdate
}

// Empty reports whether o has no rows (a Diff result with nothing to do).
func (o Output) Empty() bool { return len(o.PortGroups) == 0 && len(o.ACLs) == 0 }

func samePortGroup(a, b PortGroup) bool {
	return sameSet(a.Ports, b.Ports) && sameSet(a.ACLs, b.ACLs) && maps.Equal(a.ExternalIDs, b.ExternalIDs)
}

func sameACL(a, b ACL) bool {
	return a.Direction == b.Direction && a.Priority == b.Priority && a.Match == b.Match &&
		a.Action == b.Action && maps.Equal(a.ExternalIDs, b.ExternalIDs) && a.Logging == b.Logging
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	if slices.Equal(a, b) {
		return true
	}
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

// Delta returns what to insert into and delete from the set current to make
// it desired (sorted): the mutations of a Port_Group's ports or acls, so
// that adding one port to a group of thousands writes one element.
func Delta(current, desired []string) (add, del []string) {
	cur := make(map[string]bool, len(current))
	for _, s := range current {
		cur[s] = true
	}
	des := make(map[string]bool, len(desired))
	for _, s := range desired {
		des[s] = true
		if !cur[s] {
			add = append(add, s)
		}
	}
	for _, s := range current {
		if !des[s] {
			del = append(del, s)
		}
	}
	slices.Sort(add)
	slices.Sort(del)
	return slices.Compact(add), slices.Compact(del)
}

// Groups rebuilds the security groups from their rows (Northbound is the
// only store): one per port group with a keys.SG other than AllName and
// EgressName, with
// its description and, from the keys.RuleSpec of its ACLs, its rules (sorted
// by rule id). It fails on an ACL whose rule does not parse.
func Groups(o Output) ([]Group, error) {
	groups, bad := GroupsLenient(o)
	if len(bad) > 0 {
		return nil, bad[0].Err
	}
	return groups, nil
}

// Unparsed is a group with a rule this version cannot parse (written by
// hand, or by a newer version).
type Unparsed struct {
	Group string
	Rule  string // the rule-spec
	Err   error
}

// GroupsLenient is Groups that leaves out, and reports, the rules that do
// not parse instead of failing for all groups; their groups are returned
// with the rest of their rules (see Freeze).
func GroupsLenient(o Output) ([]Group, []Unparsed) {
	var groups []Group
	idx := map[string]int{}
	for _, p := range o.PortGroups {
		name := p.ExternalIDs[keys.SG]
		if name == "" || name == AllName || name == EgressName {
			continue
		}
		idx[name] = len(groups)
		groups = append(groups, Group{Name: name, Description: p.ExternalIDs[keys.SGDescription],
			LogDrops: p.ExternalIDs[keys.SGLogDrops] == "true"})
	}
	acls := slices.Clone(o.ACLs)
	slices.SortFunc(acls, func(a, b ACL) int { return strings.Compare(a.Key, b.Key) })
	var bad []Unparsed
	for _, a := range acls {
		name := a.ExternalIDs[keys.SG]
		i, ok := idx[name]
		if !ok || isLogDropACL(a) {
			continue
		}
		r, err := ParseRule(a.ExternalIDs[keys.RuleSpec])
		if err != nil {
			bad = append(bad, Unparsed{Group: name, Rule: a.ExternalIDs[keys.RuleSpec], Err: err})
			continue
		}
		groups[i].Rules = append(groups[i].Rules, r)
	}
	slices.SortFunc(groups, func(a, b Group) int { return strings.Compare(a.Name, b.Name) })
	return groups, bad
}

// Freeze keeps the rows of the groups named in frozen as they are in
// current: their port groups and ACLs in desired are replaced by the
// current ones, so that a Diff leaves them alone (a group with a rule this
// version cannot parse is neither rewritten nor deleted).
func Freeze(desired *Output, current Output, frozen map[string]bool) {
	if len(frozen) == 0 {
		return
	}
	desired.PortGroups = slices.DeleteFunc(desired.PortGroups, func(p PortGroup) bool { return frozen[p.ExternalIDs[keys.SG]] })
	desired.ACLs = slices.DeleteFunc(desired.ACLs, func(a ACL) bool { return frozen[a.ExternalIDs[keys.SG]] })
	for _, p := range current.PortGroups {
		if frozen[p.ExternalIDs[keys.SG]] {
			p.UUID = ""
			desired.PortGroups = append(desired.PortGroups, p)
		}
	}
	for _, a := range current.ACLs {
		if frozen[a.ExternalIDs[keys.SG]] {
			a.UUID = ""
			desired.ACLs = append(desired.ACLs, a)
		}
	}
	desired.sort()
}
