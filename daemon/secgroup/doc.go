// Package secgroup is the security-group model of QuantumNet: groups and
// rules, their validation, a compact rule syntax for the CLI, presets, and
// the translation of groups into the OVN Northbound rows that enforce them
// (Port_Group and ACL), plus the diff between the rows that exist and the
// rows wanted. Nothing here does I/O: the daemon reads the current rows,
// calls Translate and Diff, and writes the difference in one transaction.
//
// # Semantics
//
// These are the defaults of the public clouds:
//
//   - A port with at least one security group drops every inbound (ingress)
//     IP packet that no rule of its groups allows. A group without rules
//     therefore isolates its ports. The rules of all a port's groups add up
//     (a union of allows).
//   - Egress is allowed, unless every one of the port's groups has an egress
//     allow rule: then the port may send only what those rules allow. A
//     group without egress rules stands for "all egress allowed" (as the
//     default egress rule of a cloud's group does), and a union with
//     "everything" is everything. Restricted ports are the members of the
//     port group qn_sg_egress_restricted, whose one ACL drops their egress.
//   - A port without security groups follows the network's default, which
//     is: allow everything. Such a port is in no port group, so no ACL of
//     QuantumNet matches its traffic (OVN's own default is allow).
//   - Replies to allowed connections are always allowed: stateful rules
//     (the default) and the default egress allow are allow-related
//     (conntrack), so the return traffic of a connection they admitted
//     passes whatever the rules of the other direction say.
//   - ARP, IPv6 neighbour discovery, DHCP (udp 67/68, DHCPv6 546/547) and DNS
//     to and from the network's own services (its gateways and DNS servers,
//     Input.Services) are never blocked by rules of either tier. DHCP
//     requests may go anywhere (they are broadcast); DHCPv4 answers are
//     allowed from the services (OVN's DHCP server id is the gateway),
//     DHCPv6 answers from link-local addresses (where DHCPv6 servers answer
//     from). Without service addresses of a family, DNS of that family (and
//     for IPv4, DHCP answers) is left to the rules; OVN's own DHCP and DNS
//     answers still pass, as ovn-northd allows them above every ACL.
//   - A stateless rule (allow-stateless) is not tracked by conntrack: its
//     replies are not replies of an allowed connection, and pass only where
//     the other direction lets them by itself (ingress: a rule; egress: not
//     restricted, or a rule), as in OpenStack's stateless groups. OVN skips conntrack for packets a stateless ACL
//     matches whatever stateful ACL also matches them, but a higher
//     priority drop still drops them.
//
// # Tiers and actions
//
// A rule is in the user tier (the default) or the admin tier. User rules
// can only allow. Admin rules can allow or deny: an admin deny overrides any
// user rule, and an admin allow overrides admin denies (it is how an
// operator writes an exception, "deny tcp 22 from anywhere but the bastion")
// and, like any allow, the default drop. A deny also cuts the established
// connections it matches (OVN marks their conntrack entries blocked).
//
// # Priorities
//
// One priority per band; the bands leave room for finer schemes later:
//
//	3000       plumbing on qn_sg_all: ARP, ND, DHCP, DNS to/from the services
//	2001-2999  admin allow (2500)
//	2000       admin deny (drop)
//	1001-1999  user rules (1500), stateful or stateless
//	1002       logged copies of the default drops, for a group that
//	           logs its drops (see Logging)
//	1001       restricted egress: from-lport "inport ==
//	           @qn_sg_egress_restricted && ip" drop
//	1000       defaults on qn_sg_all: to-lport "outport == @qn_sg_all && ip"
//	           drop, from-lport "inport == @qn_sg_all && ip" allow-related
//
// Related and established traffic needs no ACL: OVN allows it at a
// priority above every ACL once an allow-related ACL committed the
// connection.
//
// # Rows
//
// Every security group is one Port_Group named PortGroupName(name)
// ("qn_sg_" + name, '-' replaced by '_', since OVN names are
// [a-zA-Z_.][a-zA-Z_.0-9]*) whose ports are its members and whose ACLs are
// its rules, one ACL per rule, matching on "outport == @qn_sg_NAME"
// (ingress, to-lport) or "inport == @qn_sg_NAME" (egress, from-lport). The
// number of ACL rows is the number of rules (plus 15 shared rows at most),
// never ports x rules. One more port group, qn_sg_all, holds every port that
// has any security group and carries the plumbing and default ACLs; and
// qn_sg_egress_restricted the ports whose egress is restricted.
//
// A rule whose remote is another group (or "self", the group itself)
// matches the group's addresses through the address sets OVN derives from
// every port group by itself: $qn_sg_NAME_ip4 and $qn_sg_NAME_ip6, the
// addresses of the member ports' Logical_Switch_Port.addresses. QuantumNet
// must therefore never create a Northbound Address_Set named like that:
// ovn-northd would fail every Southbound commit on the duplicate name,
// which stops it for the whole deployment.
//
// A rule whose remote is sg:bastion-NAME matches the peers' tunnel
// addresses through the Address_Set the bastion's store keeps,
// $qn_bastion_NAME (BastionAddressSet). No group may be named bastion-NAME
// (ValidateNewName). The store refuses such a rule while the bastion does
// not exist, and the bastion's deletion while a rule names it; a rule left
// naming a bastion that is gone matches nothing (it has no peers).
//
// Every row carries external_ids: keys.SG (the group; "all" for qn_sg_all),
// on ACLs keys.Rule (a stable id: a hash of the rule's canonical text, so the
// same rule always yields the same row and adding a rule adds exactly one
// ACL) and keys.RuleSpec (the rule in the CLI syntax, from which Groups
// rebuilds the groups: Northbound is the only store), and on port groups
// keys.SGDescription.
//
// # Rule syntax
//
// ParseRule reads one rule; Rule.String writes the canonical form:
//
//	[admin|user] [allow|deny] DIRECTION [FAMILY] [PROTOCOL [PORTS | type T [code C]]]
//	    [from|to REMOTE] [stateful|stateless]
//
//	DIRECTION  ingress | egress
//	FAMILY     ipv4 | ipv6 (default: the family of REMOTE, ipv6 for icmpv6,
//	           else ipv4)
//	PROTOCOL   tcp | udp | sctp | icmp | icmpv6 | any | proto N (N: an IP
//	           protocol number 0-255; a bare number is refused as too likely
//	           a port); default any
//	PORTS      P or P-Q, tcp/udp/sctp only (1-65535)
//	T, C       0-255, icmp/icmpv6 only; code needs a type
//	REMOTE     a CIDR or an address, sg:NAME (a group's members), sg:self,
//	           sg:bastion-NAME (the peers of WireGuard bastion NAME; IPv4
//	           rules only), or any; "from" for ingress, "to" for egress
//
// The tier, action and statefulness keywords may appear anywhere. Keywords
// are case-insensitive. Examples:
//
//	ingress tcp 80-443 from 10.0.0.0/8
//	egress udp 53 to 0.0.0.0/0
//	ingress icmp type 8 from sg:web stateless
//	ingress ipv6 tcp 22 from 2001:db8::/32
//	admin deny ingress tcp 22
//
// The canonical form names the family and the protocol, and drops what is
// implied (an allow, the user tier, stateful, a remote of 0.0.0.0/0).
package secgroup
