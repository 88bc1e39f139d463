package secgroup

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Priorities (see the package doc).
const (
	PriorityPlumbing   = 3000
	PriorityAdminAllow = 2500
	PriorityAdminDeny  = 2000
	PriorityUser       = 1500
	PriorityDefault    = 1000
	// PriorityEgressDrop drops the egress of restricted ports, above the
	// default egress allow.
	PriorityEgressDrop = 1001
	// PriorityLogDrop is the logged copy of the default drops for the
	// members of a group that logs its drops, above both default drops.
	PriorityLogDrop = 1002
)

// ErrUnknownGroup is returned by Translate for a rule whose remote group, or
// a port whose group, is not among the input groups.
var ErrUnknownGroup = errs.New(errs.Invalid, "unknown security group")

// Port is a logical switch port and the security groups it is in.
type Port struct {
	Name   string   // the Logical_Switch_Port name
	Groups []string // its security groups; none: the network default (allow all)
}

// Input is everything Translate needs.
type Input struct {
	Groups []Group
	Ports  []Port
	// Services are the networks' own service addresses (gateways, DNS
	// servers, the DHCPv4 server id) that DHCP and DNS may always reach.
	Services []netip.Addr
}

// Output is the wanted Northbound state of the security groups, sorted:
// port groups by name, ACLs by key.
type Output struct {
	PortGroups []PortGroup
	ACLs       []ACL
}

// PortGroup is a Port_Group row.
type PortGroup struct {
	UUID        string // of the current row (FromModels, Diff); empty from Translate
	Name        string
	Ports       []string // Logical_Switch_Port names, sorted
	ACLs        []string // ACL keys, sorted
	ExternalIDs map[string]string
}

// ACL is an ACL row; Key identifies it ("GROUP/RULE", from its keys.SG and
// keys.Rule).
type ACL struct {
	UUID        string // of the current row (FromModels, Diff); empty from Translate
	Key         string
	Direction   string // nbdb.ACLDirectionToLport (ingress) or FromLport (egress)
	Priority    int
	Match       string
	Action      string // nbdb.ACLAction*
	ExternalIDs map[string]string
	Logging     // zero: not logged
}

// ACLKey is the key of the ACL with these external ids ("" if it has none).
func ACLKey(externalIDs map[string]string) string {
	g, r := externalIDs[keys.SG], externalIDs[keys.Rule]
	if g == "" || r == "" {
		return ""
	}
	return g + "/" + r
}

// Translate turns security groups and their member ports into the Port_Group
// and ACL rows that enforce them. It fails on an invalid group, two groups
// whose names map to one port group, an unknown group (a rule's remote or a
// port's), or an invalid port or service address.
func Translate(in Input) (Output, error) {
	groups, err := normalizeGroups(in.Groups)
	if err != nil {
		return Output{}, err
	}
	m, err := memberships(in.Ports, groups)
	if err != nil {
		return Output{}, err
	}

	var out Output
	shared, err := sharedACLs(in.Services)
	if err != nil {
		return Output{}, err
	}
	out.PortGroups = append(out.PortGroups, portGroup(AllPortGroup, AllName, "", m.all, shared))
	out.ACLs = append(out.ACLs, shared...)
	drop := ACL{
		Key: EgressName + "/default-egress-drop", Direction: nbdb.ACLDirectionFromLport, Priority: PriorityEgressDrop,
		Match: "inport == @" + EgressPortGroup + " && ip", Action: nbdb.ACLActionDrop,
		ExternalIDs: map[string]string{keys.SG: EgressName, keys.Rule: "default-egress-drop"},
	}
	out.PortGroups = append(out.PortGroups, portGroup(EgressPortGroup, EgressName, "", m.restricted, []ACL{drop}))
	out.ACLs = append(out.ACLs, drop)

	for _, g := range groups {
		acls, err := groupACLs(g, groups)
		if err != nil {
			return Output{}, err
		}
		acls = append(acls, logDropACLs(g)...)
		pg := portGroup(PortGroupName(g.Name), g.Name, g.Description, m.members[g.Name], acls)
		if g.LogDrops {
			pg.ExternalIDs[keys.SGLogDrops] = "true"
		}
		out.PortGroups = append(out.PortGroups, pg)
		out.ACLs = append(out.ACLs, acls...)
	}
	out.sort()
	return out, nil
}

// normalizeGroups normalizes the groups, by name, and refuses a name
// given twice or two names that map to one port group.
func normalizeGroups(in []Group) (map[string]Group, error) {
	groups := make(map[string]Group, len(in))
	pgOwner := make(map[string]string, len(in))
	for _, g := range in {
		ng, err := g.Normalize()
		if err != nil {
			return nil, err
		}
		if _, dup := groups[ng.Name]; dup {
			return nil, fmt.Errorf("%w: security group %s given twice", ErrInvalid, ng.Name)
		}
		pg := PortGroupName(ng.Name)
		if other, dup := pgOwner[pg]; dup {
			return nil, fmt.Errorf("%w: security groups %s and %s both map to OVN port group %s", ErrInvalid, other, ng.Name, pg)
		}
		groups[ng.Name], pgOwner[pg] = ng, ng.Name
	}
	return groups, nil
}

// membership is which ports are in which groups.
type membership struct {
	members    map[string][]string // group name -> its ports
	all        []string            // the ports in any group
	restricted []string            // the ports none of whose groups allows egress
}

// memberships reads the ports' groups, refusing a port without a name, a
// port given twice and an unknown group.
func memberships(ports []Port, groups map[string]Group) (membership, error) {
	m := membership{members: make(map[string][]string, len(groups))}
	seen := make(map[string]bool, len(ports))
	for _, p := range ports {
		if p.Name == "" {
			return membership{}, fmt.Errorf("%w: a port without a name", ErrInvalid)
		}
		if seen[p.Name] {
			return membership{}, fmt.Errorf("%w: port %s given twice", ErrInvalid, p.Name)
		}
		seen[p.Name] = true
		member, open := false, false
		for i, g := range p.Groups {
			if _, ok := groups[g]; !ok {
				return membership{}, fmt.Errorf("port %s: %w %q", p.Name, ErrUnknownGroup, g)
			}
			if slices.Contains(p.Groups[:i], g) {
				continue
			}
			m.members[g] = append(m.members[g], p.Name)
			member = true
			open = open || !groups[g].AllowsEgress()
		}
		if member {
			m.all = append(m.all, p.Name)
		}
		if member && !open {
			m.restricted = append(m.restricted, p.Name)
		}
	}
	return m, nil
}

// groupACLs are the ACLs of g's rules; a remote group must be among groups.
func groupACLs(g Group, groups map[string]Group) ([]ACL, error) {
	pg := PortGroupName(g.Name)
	acls := make([]ACL, 0, len(g.Rules))
	for _, r := range g.Rules {
		remote := "" // the address set of the remote group
		b, isBastion := BastionOf(r.RemoteGroup)
		switch {
		case r.RemoteGroup == "":
		case r.RemoteGroup == Self:
			remote = addressSet(pg, r.Ethertype)
		case isBastion:
			// Not checked here: a bastion deleted meanwhile has no
			// peers, and the rule then matches nothing.
			remote = BastionAddressSet(b)
		default:
			if _, ok := groups[r.RemoteGroup]; !ok {
				return nil, fmt.Errorf("security group %s: rule %q: remote_group: %w %q", g.Name, r.String(), ErrUnknownGroup, r.RemoteGroup)
			}
			remote = addressSet(PortGroupName(r.RemoteGroup), r.Ethertype)
		}
		a := ruleACL(g.Name, pg, remote, r)
		if g.LogDrops && a.Action == nbdb.ACLActionDrop {
			a.Logging = dropLogging(g.Name, a.ExternalIDs[keys.Rule])
		}
		acls = append(acls, a)
	}
	return acls, nil
}

func (o *Output) sort() {
	slices.SortFunc(o.PortGroups, func(a, b PortGroup) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.UUID, b.UUID))
	})
	slices.SortFunc(o.ACLs, func(a, b ACL) int {
		return cmp.Or(strings.Compare(a.Key, b.Key), strings.Compare(a.UUID, b.UUID))
	})
}

func portGroup(name, group, description string, ports []string, acls []ACL) PortGroup {
	pg := PortGroup{
		Name:        name,
		Ports:       slices.Sorted(slices.Values(ports)),
		ACLs:        make([]string, len(acls)),
		ExternalIDs: map[string]string{keys.SG: group},
	}
	if pg.Ports == nil {
		pg.Ports = []string{}
	}
	if description != "" {
		pg.ExternalIDs[keys.SGDescription] = description
	}
	for i, a := range acls {
		pg.ACLs[i] = a.Key
	}
	slices.Sort(pg.ACLs)
	return pg
}

// ruleACL is the ACL of normalized rule r of group on port group pg;
// remote is the address set of its remote group (or bastion), if any.
func ruleACL(group, pg, remote string, r Rule) ACL {
	text := r.String()
	id := textID(text) // r is normalized: r.ID() without normalizing again
	a := ACL{
		Key:   group + "/" + id,
		Match: ruleMatch(pg, remote, r),
		ExternalIDs: map[string]string{
			keys.SG:       group,
			keys.Rule:     id,
			keys.RuleSpec: text,
		},
		Direction: nbdb.ACLDirectionToLport,
	}
	if r.Direction == Egress {
		a.Direction = nbdb.ACLDirectionFromLport
	}
	switch {
	case r.Action == Deny:
		a.Action, a.Priority = nbdb.ACLActionDrop, PriorityAdminDeny
	case r.Stateless:
		a.Action = nbdb.ACLActionAllowStateless
	default:
		a.Action = nbdb.ACLActionAllowRelated
	}
	if r.Action == Allow {
		a.Priority = PriorityUser
		if r.Tier == TierAdmin {
			a.Priority = PriorityAdminAllow
		}
	}
	return a
}

// ruleMatch is the OVN match of normalized rule r on port group pg.
func ruleMatch(pg, remote string, r Rule) string {
	ip, peer, port := "ip4", "src", "outport"
	if r.Ethertype == IPv6 {
		ip = "ip6"
	}
	if r.Direction == Egress {
		peer, port = "dst", "inport"
	}
	m := []string{port + " == @" + pg, ip}
	switch {
	case r.RemoteCIDR != "":
		m = append(m, ip+"."+peer+" == "+r.RemoteCIDR)
	case remote != "":
		m = append(m, ip+"."+peer+" == $"+remote)
	}
	switch p := r.Protocol; p {
	case ProtoAny:
	case ProtoTCP, ProtoUDP, ProtoSCTP:
		m = append(m, p)
		switch {
		case r.PortMin == 0:
		case r.PortMin == r.PortMax:
			m = append(m, p+".dst == "+strconv.Itoa(r.PortMin))
		default:
			m = append(m, p+".dst >= "+strconv.Itoa(r.PortMin), p+".dst <= "+strconv.Itoa(r.PortMax))
		}
	case ProtoICMP, ProtoICMPv6:
		icmp := "icmp4"
		if p == ProtoICMPv6 {
			icmp = "icmp6"
		}
		m = append(m, icmp)
		if r.ICMPType != nil {
			m = append(m, icmp+".type == "+strconv.Itoa(*r.ICMPType))
		}
		if r.ICMPCode != nil {
			m = append(m, icmp+".code == "+strconv.Itoa(*r.ICMPCode))
		}
	default: // a protocol number
		m = append(m, "ip.proto == "+p)
	}
	return strings.Join(m, " && ")
}

// sharedACLs are the plumbing and default ACLs of qn_sg_all.
func sharedACLs(services []netip.Addr) ([]ACL, error) {
	var v4, v6 []netip.Addr
	for _, a := range services {
		if !a.IsValid() || a.Zone() != "" {
			return nil, fmt.Errorf("%w: service address %q", ErrInvalid, a.String())
		}
		a = a.Unmap()
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	in, out := nbdb.ACLDirectionToLport, nbdb.ACLDirectionFromLport
	inPG, outPG := "outport == @"+AllPortGroup, "inport == @"+AllPortGroup
	acls := []ACL{
		shared("arp-ingress", in, PriorityPlumbing, nbdb.ACLActionAllow, inPG+" && arp"),
		shared("arp-egress", out, PriorityPlumbing, nbdb.ACLActionAllow, outPG+" && arp"),
		shared("nd-ingress", in, PriorityPlumbing, nbdb.ACLActionAllow, inPG+" && (nd || nd_ra || nd_rs)"),
		shared("nd-egress", out, PriorityPlumbing, nbdb.ACLActionAllow, outPG+" && (nd || nd_ra || nd_rs)"),
		// DHCP requests go to broadcast (v4) or ff02::1:2 (v6).
		shared("dhcp4-egress", out, PriorityPlumbing, nbdb.ACLActionAllowRelated,
			outPG+" && ip4 && udp && udp.src == 68 && udp.dst == 67"),
		shared("dhcp6-egress", out, PriorityPlumbing, nbdb.ACLActionAllowRelated,
			outPG+" && ip6 && udp && udp.src == 546 && udp.dst == 547"),
		// DHCPv6 servers answer from their link-local address.
		shared("dhcp6-ingress", in, PriorityPlumbing, nbdb.ACLActionAllowRelated,
			inPG+" && ip6 && ip6.src == fe80::/10 && udp && udp.src == 547 && udp.dst == 546"),
		shared("default-ingress", in, PriorityDefault, nbdb.ACLActionDrop, inPG+" && ip"),
		shared("default-egress", out, PriorityDefault, nbdb.ACLActionAllowRelated, outPG+" && ip"),
	}
	if len(v4) > 0 {
		set := addrSet(v4)
		acls = append(acls,
			// DHCPv4 servers answer from their server id, a service address.
			shared("dhcp4-ingress", in, PriorityPlumbing, nbdb.ACLActionAllowRelated,
				inPG+" && ip4 && ip4.src == "+set+" && udp && udp.src == 67 && udp.dst == 68"),
			shared("dns4-egress", out, PriorityPlumbing, nbdb.ACLActionAllowRelated,
				outPG+" && ip4 && ip4.dst == "+set+" && (udp.dst == 53 || tcp.dst == 53)"),
			shared("dns4-ingress", in, PriorityPlumbing, nbdb.ACLActionAllowRelated,
				inPG+" && ip4 && ip4.src == "+set+" && (udp.src == 53 || tcp.src == 53)"))
	}
	if len(v6) > 0 {
		set := addrSet(v6)
		acls = append(acls,
			shared("dns6-egress", out, PriorityPlumbing, nbdb.ACLActionAllowRelated,
				outPG+" && ip6 && ip6.dst == "+set+" && (udp.dst == 53 || tcp.dst == 53)"),
			shared("dns6-ingress", in, PriorityPlumbing, nbdb.ACLActionAllowRelated,
				inPG+" && ip6 && ip6.src == "+set+" && (udp.src == 53 || tcp.src == 53)"))
	}
	return acls, nil
}

func shared(id, dir string, prio int, action, match string) ACL {
	return ACL{
		Key:         AllName + "/" + id,
		Direction:   dir,
		Priority:    prio,
		Match:       match,
		Action:      action,
		ExternalIDs: map[string]string{keys.SG: AllName, keys.Rule: id},
	}
}

// addrSet writes addresses as an OVN constant: one address, or a set of
// them in braces, sorted and without duplicates.
func addrSet(addrs []netip.Addr) string {
	addrs = slices.Clone(addrs)
	slices.SortFunc(addrs, netip.Addr.Compare)
	addrs = slices.Compact(addrs)
	if len(addrs) == 1 {
		return addrs[0].String()
	}
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = a.String()
	}
	return "{" + strings.Join(s, ", ") + "}"
}
