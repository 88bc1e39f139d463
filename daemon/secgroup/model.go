package secgroup

import (
	"maps"
	"slices"
	"strconv"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Model returns a as a Northbound ACL row (with a.UUID, empty for a new row).
func (a ACL) Model() *nbdb.ACL {
	m := &nbdb.ACL{
		UUID:        a.UUID,
		Direction:   a.Direction,
		Priority:    a.Priority,
		Match:       a.Match,
		Action:      a.Action,
		ExternalIDs: maps.Clone(a.ExternalIDs),
	}
	a.Logging.columns(m)
	return m
}

// ACLFromModel reads a Northbound ACL row; ok is false for a row that is
// not a security-group ACL of QuantumNet (no keys.SG and keys.Rule).
func ACLFromModel(m *nbdb.ACL) (a ACL, ok bool) {
	key := ACLKey(m.ExternalIDs)
	if key == "" {
		return ACL{}, false
	}
	return ACL{
		UUID:        m.UUID,
		Key:         key,
		Direction:   m.Direction,
		Priority:    m.Priority,
		Match:       m.Match,
		Action:      m.Action,
		ExternalIDs: maps.Clone(m.ExternalIDs),
		Logging:     loggingOf(m),
	}, true
}

// Model returns p as a Northbound Port_Group row (with p.UUID): portUUID
// and aclUUID map a port name and an ACL key to the UUID (or named UUID of
// the same transaction) the row must reference.
func (p PortGroup) Model(portUUID, aclUUID func(string) string) *nbdb.PortGroup {
	m := &nbdb.PortGroup{
		UUID:        p.UUID,
		Name:        p.Name,
		Ports:       make([]string, len(p.Ports)),
		ACLs:        make([]string, len(p.ACLs)),
		ExternalIDs: maps.Clone(p.ExternalIDs),
	}
	for i, n := range p.Ports {
		m.Ports[i] = portUUID(n)
	}
	for i, k := range p.ACLs {
		m.ACLs[i] = aclUUID(k)
	}
	return m
}

// PortGroupFromModel reads a Northbound Port_Group row; ok is false for a
// row that is not a security group of QuantumNet (no keys.SG). portName and
// aclKey map the UUIDs the row references to a port name and an ACL key; a
// UUID they do not know is kept as it is, so that Diff sees it as a
// difference (a port or ACL to take out).
func PortGroupFromModel(m *nbdb.PortGroup, portName, aclKey func(uuid string) (string, bool)) (p PortGroup, ok bool) {
	if m.ExternalIDs[keys.SG] == "" {
		return PortGroup{}, false
	}
	p = PortGroup{
		UUID:        m.UUID,
		Name:        m.Name,
		Ports:       make([]string, len(m.Ports)),
		ACLs:        make([]string, len(m.ACLs)),
		ExternalIDs: maps.Clone(m.ExternalIDs),
	}
	for i, u := range m.Ports {
		if n, ok := portName(u); ok {
			u = n
		}
		p.Ports[i] = u
	}
	for i, u := range m.ACLs {
		if k, ok := aclKey(u); ok {
			u = k
		}
		p.ACLs[i] = u
	}
	slices.Sort(p.Ports)
	slices.Sort(p.ACLs)
	return p, true
}

// FromModels builds the current Output from the Northbound rows, for Diff:
// the port groups with a keys.SG and the ACLs with a keys.SG and a keys.Rule
// (other rows are not QuantumNet's security groups, and skipped), with
// their UUIDs. portName maps an LSP UUID to its name.
func FromModels(pgs []*nbdb.PortGroup, acls []*nbdb.ACL, portName func(uuid string) (string, bool)) Output {
	var out Output
	keys := make(map[string]string, len(acls))
	for _, m := range acls {
		if a, ok := ACLFromModel(m); ok {
			keys[m.UUID] = a.Key
			out.ACLs = append(out.ACLs, a)
		}
	}
	aclKey := func(u string) (string, bool) { k, ok := keys[u]; return k, ok }
	for _, m := range pgs {
		if p, ok := PortGroupFromModel(m, portName, aclKey); ok {
			out.PortGroups = append(out.PortGroups, p)
		}
	}
	out.sort()
	return out
}

// GroupOf is the security group a Port_Group or ACL row with these
// external ids belongs to ("" for a row that is no security group's; the
// shared rows say AllName or EgressName).
func GroupOf(externalIDs map[string]string) string { return externalIDs[keys.SG] }

// Group is the security group the port group belongs to (see GroupOf).
func (p PortGroup) Group() string { return GroupOf(p.ExternalIDs) }

// Gen is the generation recorded on the all-members port group (0 if none):
// every change of groups or rules bumps it.
func Gen(externalIDs map[string]string) int {
	n, _ := strconv.Atoi(externalIDs[keys.SGGen])
	return n
}

// SetGen records generation n on the all-members port group of o, if o has
// it.
func (o Output) SetGen(n int) {
	for i := range o.PortGroups {
		if o.PortGroups[i].Name == AllPortGroup {
			o.PortGroups[i].ExternalIDs[keys.SGGen] = strconv.Itoa(n)
		}
	}
}

// AllowsEgressACL reports whether the ACL row m is an egress rule of its
// group that lets traffic out: the translator's Group.AllowsEgress, read
// back from the rows (an egress ACL with a rule that is not a drop).
func AllowsEgressACL(m *nbdb.ACL) bool {
	return m.Direction == nbdb.ACLDirectionFromLport && m.Action != nbdb.ACLActionDrop && m.ExternalIDs[keys.RuleSpec] != ""
}
