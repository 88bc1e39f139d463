package secgroup

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// MaxDescription is the longest group description, in bytes.
const MaxDescription = 255

// AllName is the group name of the shared rows (port group qn_sg_all, its
// plumbing and default ACLs) in their keys.SG; no group may be named so.
const AllName = "all"

// EgressName is the group name of the rows that restrict egress (port group
// qn_sg_egress_restricted and its drop ACL); no group may be named so.
const EgressName = "egress-restricted"

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)

// Group is a security group: a name, a description and its rules (in no
// particular order: rules only add up).
type Group struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Rules       []Rule `json:"rules,omitempty"`
	// LogDrops: the packets the group drops are logged (see LogACL).
	LogDrops bool `json:"log_drops,omitempty"`
}

// ValidateName checks a security group name: 1-32 characters, lower-case
// letters, digits, '-' and '_', starting and ending with a letter or digit,
// and not one of the reserved names "all" and "self".
func ValidateName(name string) error {
	if !nameRE.MatchString(name) {
		return fieldErr("name", "%q is not a valid security group name (1-32 of a-z, 0-9, '-', '_', starting and ending with a letter or digit)", name)
	}
	for _, r := range []string{AllName, Self, EgressName} {
		if PortGroupName(name) == PortGroupName(r) {
			return fieldErr("name", "%q is reserved", name)
		}
	}
	return nil
}

// ValidateNewName checks the name of a group to create: ValidateName, and
// not bastion-NAME, which rules use for a bastion's peers (BastionPrefix).
func ValidateNewName(name string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, BastionPrefix) {
		return fieldErr("name", "%q is reserved: sg:%s names the peers of WireGuard bastion %s", name, name, strings.TrimPrefix(name, BastionPrefix))
	}
	return nil
}

// Validate reports the first invalid field of g, or a duplicate rule.
func (g Group) Validate() error {
	_, err := g.Normalize()
	return err
}

// Normalize validates g and returns it with every rule normalized. Two
// rules that mean the same (same canonical form, "sg:NAME" of the group
// itself counting as "sg:self") are an error.
func (g Group) Normalize() (Group, error) {
	if err := ValidateName(g.Name); err != nil {
		return Group{}, err
	}
	if len(g.Description) > MaxDescription {
		return Group{}, fieldErr("description", "%d bytes, more than %d", len(g.Description), MaxDescription)
	}
	if strings.IndexFunc(g.Description, unicode.IsControl) >= 0 {
		return Group{}, fieldErr("description", "contains control characters")
	}
	n := Group{Name: g.Name, Description: g.Description, Rules: make([]Rule, 0, len(g.Rules)), LogDrops: g.LogDrops}
	seen := make(map[string]int, len(g.Rules))
	for i, r := range g.Rules {
		nr, err := r.Normalize()
		if err != nil {
			return Group{}, fmt.Errorf("security group %s: rules[%d]: %w", g.Name, i, err)
		}
		key := nr
		if key.RemoteGroup == g.Name {
			key.RemoteGroup = Self
		}
		id := key.String()
		if j, dup := seen[id]; dup {
			return Group{}, fmt.Errorf("security group %s: rules[%d]: %w", g.Name, i,
				fieldErr("rules", "%q duplicates rules[%d]", nr.String(), j))
		}
		seen[id] = i
		n.Rules = append(n.Rules, nr)
	}
	return n, nil
}

// PortGroupName is the OVN Port_Group of group name: "qn_sg_" + name with
// '-' replaced by '_' (OVN names are [a-zA-Z_.][a-zA-Z_.0-9]*). OVN derives
// the address sets PortGroupName(name)+"_ip4" and "_ip6" from it. Two
// names that differ only by '-' and '_' share it; Translate refuses them.
func PortGroupName(name string) string {
	return "qn_sg_" + strings.ReplaceAll(name, "-", "_")
}

// AllPortGroup is the port group of every port that has a security group.
const AllPortGroup = "qn_sg_all"

// EgressPortGroup is the port group of the ports whose egress is
// restricted: every one of their groups has an egress allow rule.
const EgressPortGroup = "qn_sg_egress_restricted"

// AllowsEgress reports whether g has an egress allow rule: a port all of
// whose groups have one may send only what these rules allow (a group
// without egress rules allows all egress, as in the clouds).
func (g Group) AllowsEgress() bool {
	for _, r := range g.Rules {
		if r.Direction == Egress && r.Action != Deny {
			return true
		}
	}
	return false
}

// addressSet is the name of the address set OVN derives from port group pg.
func addressSet(pg string, fam Ethertype) string {
	if fam == IPv6 {
		return pg + "_ip6"
	}
	return pg + "_ip4"
}

// NormalizeGroups validates a port's list of security groups and returns it
// sorted, without duplicates.
func NormalizeGroups(groups []string) ([]string, error) {
	out := make([]string, 0, len(groups))
	for _, g := range groups {
		g = strings.TrimSpace(g)
		if err := ValidateName(g); err != nil {
			return nil, fmt.Errorf("security_groups: %w", err)
		}
		out = append(out, g)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
