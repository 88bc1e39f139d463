package secgroup

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRule(t *testing.T) {
	cases := []struct {
		spec string
		want Rule // normalized
		text string
	}{
		{"ingress tcp 80-443 from 10.0.0.0/8",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoTCP, PortMin: 80, PortMax: 443, RemoteCIDR: "10.0.0.0/8", Action: Allow, Tier: TierUser},
			"ingress ipv4 tcp 80-443 from 10.0.0.0/8"},
		{"egress udp 53 to 0.0.0.0/0",
			Rule{Direction: Egress, Ethertype: IPv4, Protocol: ProtoUDP, PortMin: 53, PortMax: 53, Action: Allow, Tier: TierUser},
			"egress ipv4 udp 53"},
		{"ingress icmp type 8 from sg:web stateless",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoICMP, ICMPType: Int(8), RemoteGroup: "web", Stateless: true, Action: Allow, Tier: TierUser},
			"ingress ipv4 icmp type 8 from sg:web stateless"},
		{"ingress tcp 22 from 2001:db8::/32",
			Rule{Direction: Ingress, Ethertype: IPv6, Protocol: ProtoTCP, PortMin: 22, PortMax: 22, RemoteCIDR: "2001:db8::/32", Action: Allow, Tier: TierUser},
			"ingress ipv6 tcp 22 from 2001:db8::/32"},
		{"ingress icmpv6 type 1 code 4",
			Rule{Direction: Ingress, Ethertype: IPv6, Protocol: ProtoICMPv6, ICMPType: Int(1), ICMPCode: Int(4), Action: Allow, Tier: TierUser},
			"ingress ipv6 icmpv6 type 1 code 4"},
		{"admin deny ingress tcp 22",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoTCP, PortMin: 22, PortMax: 22, Action: Deny, Tier: TierAdmin},
			"admin deny ingress ipv4 tcp 22"},
		{"ingress tcp 22 deny admin",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoTCP, PortMin: 22, PortMax: 22, Action: Deny, Tier: TierAdmin},
			"admin deny ingress ipv4 tcp 22"},
		{"  Ingress   IPv6   from  SG:Self ",
			Rule{Direction: Ingress, Ethertype: IPv6, Protocol: ProtoAny, RemoteGroup: Self, Action: Allow, Tier: TierUser},
			"ingress ipv6 any from sg:self"},
		{"egress",
			Rule{Direction: Egress, Ethertype: IPv4, Protocol: ProtoAny, Action: Allow, Tier: TierUser},
			"egress ipv4 any"},
		{"ingress tcp 22 from SG:Bastion-B1", // a bastion's peers
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoTCP, PortMin: 22, PortMax: 22, RemoteGroup: "bastion-b1", Action: Allow, Tier: TierUser},
			"ingress ipv4 tcp 22 from sg:bastion-b1"},
		{"admin deny ingress from sg:bastion-ops-2",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoAny, RemoteGroup: "bastion-ops-2", Action: Deny, Tier: TierAdmin},
			"admin deny ingress ipv4 any from sg:bastion-ops-2"},
		{"egress to any",
			Rule{Direction: Egress, Ethertype: IPv4, Protocol: ProtoAny, Action: Allow, Tier: TierUser},
			"egress ipv4 any"},
		{"ingress proto 47 from 192.0.2.1",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "47", RemoteCIDR: "192.0.2.1/32", Action: Allow, Tier: TierUser},
			"ingress ipv4 proto 47 from 192.0.2.1/32"},
		{"ingress proto 6 443",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoTCP, PortMin: 443, PortMax: 443, Action: Allow, Tier: TierUser},
			"ingress ipv4 tcp 443"},
		{"ingress sctp 3868-3870 user allow stateful",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoSCTP, PortMin: 3868, PortMax: 3870, Action: Allow, Tier: TierUser},
			"ingress ipv4 sctp 3868-3870"},
		{"egress icmpv6", // the family follows the protocol
			Rule{Direction: Egress, Ethertype: IPv6, Protocol: ProtoICMPv6, Action: Allow, Tier: TierUser},
			"egress ipv6 icmpv6"},
		{"admin ingress any from 198.51.100.0/24",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoAny, RemoteCIDR: "198.51.100.0/24", Action: Allow, Tier: TierAdmin},
			"admin ingress ipv4 any from 198.51.100.0/24"},
		{"ingress udp 1-65535",
			Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoUDP, Action: Allow, Tier: TierUser},
			"ingress ipv4 udp"},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			r, err := ParseRule(c.spec)
			if err != nil {
				t.Fatalf("ParseRule: %v", err)
			}
			if r.String() != c.want.String() || r.ID() != c.want.ID() || !equalRules(r, c.want) {
				t.Fatalf("ParseRule = %+v\nwant          %+v", r, c.want)
			}
			if got := r.String(); got != c.text {
				t.Fatalf("String = %q, want %q", got, c.text)
			}
			back, err := ParseRule(r.String())
			if err != nil || !equalRules(back, r) {
				t.Fatalf("ParseRule(String()) = %+v, %v; want %+v", back, err, r)
			}
		})
	}
}

func equalRules(a, b Rule) bool {
	ptr := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	return a.Direction == b.Direction && a.Ethertype == b.Ethertype && a.Protocol == b.Protocol &&
		a.PortMin == b.PortMin && a.PortMax == b.PortMax &&
		ptr(a.ICMPType) == ptr(b.ICMPType) && ptr(a.ICMPCode) == ptr(b.ICMPCode) &&
		a.RemoteCIDR == b.RemoteCIDR && a.RemoteGroup == b.RemoteGroup &&
		a.Stateless == b.Stateless && a.Action == b.Action && a.Tier == b.Tier
}

func TestParseRuleErrors(t *testing.T) {
	cases := []struct {
		spec  string
		field string // "" for a syntax error
		msg   string
	}{
		{"", "", "empty rule"},
		{"inbound tcp 80", "", "want ingress or egress first"},
		{"tcp 80 ingress", "", "want ingress or egress first"},
		{"ingress 22", "", "a bare number is ambiguous"},
		{"ingress gre", "", "want a protocol"},
		{"ingress proto", "", "proto needs"},
		{"ingress proto 300", "protocol", "out of range"},
		{"ingress proto gre", "protocol", "unknown protocol"},
		{"ingress tcp 80 443", "", `unexpected "443"`},
		{"ingress icmp 8", "port_min", "only apply to tcp, udp and sctp"},
		{"ingress tcp x", "", `unexpected "x"`},
		{"ingress tcp 80-", "port_max", "not a port"},
		{"ingress tcp 90-80", "port_max", "reversed"},
		{"ingress tcp 0", "port_min", "out of range"},
		{"ingress tcp 80-0", "port_max", "out of range"},
		{"ingress tcp 70000", "port_min", "out of range"},
		{"ingress tcp type 8", "icmp_type", "not protocol tcp"},
		{"ingress icmp code 0", "icmp_code", "needs icmp_type"},
		{"ingress icmp type x", "icmp_type", "not a number"},
		{"ingress icmp type 8 code", "icmp_code", "not a number"},
		{"ingress icmp type 300", "icmp_type", "out of range"},
		{"ingress ipv6 icmp", "protocol", "use icmpv6"},
		{"ingress ipv4 icmpv6", "protocol", "needs ethertype IPv6"},
		{"ingress tcp 22 from", "", "needs a remote"},
		{"ingress tcp 22 to 10.0.0.0/8", "", `with "from"`},
		{"egress tcp 22 from 10.0.0.0/8", "", `with "to"`},
		{"ingress tcp 22 from 10.0.0.0/40", "remote_cidr", "not a CIDR"},
		{"ingress ipv4 tcp 22 from 2001:db8::/32", "remote_cidr", "is IPv6"},
		{"ingress ipv6 tcp 22 from 10.0.0.0/8", "remote_cidr", "is IPv4"},
		{"ingress tcp 22 from sg:", "remote_group", "needs a group name"},
		{"ingress tcp 22 from sg:Bad_", "remote_group", "not a valid"},
		{"ingress tcp 22 from sg:bastion-", "remote_group", "sg:bastion-: after \"bastion-\" comes a bastion's name: name is required"},
		{"ingress tcp 22 from sg:bastion-b_1", "remote_group", `name "b_1" is invalid`},
		{"ingress tcp 22 from sg:bastion-twelvechars1", "remote_group", `name "twelvechars1" is invalid: use 1-11`},
		{"ingress tcp 22 from sg:bastion--b1", "remote_group", `name "-b1" is invalid`},
		{"ingress ipv6 tcp 22 from sg:bastion-b1", "remote_group", "IPv4 tunnel addresses only"},
		{"egress icmpv6 to sg:bastion-b1", "remote_group", "IPv4 tunnel addresses only"},
		{"deny ingress tcp 22", "action", "admin tier"},
		{"admin user ingress", "", "given twice"},
		{"allow deny ingress", "", "given twice"},
		{"admin deny ingress tcp 22 stateless", "stateless", "only allow rules"},
		{"ingress tcp 22 from 10.0.0.0/8 extra", "", `unexpected "extra"`},
	}
	for _, c := range cases {
		t.Run(c.spec, func(t *testing.T) {
			_, err := ParseRule(c.spec)
			if err == nil {
				t.Fatalf("ParseRule(%q) succeeded", c.spec)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q, want one with %q", err, c.msg)
			}
			var fe *FieldError
			if c.field != "" && (!errors.As(err, &fe) || fe.Field != c.field) {
				t.Fatalf("error %q, want a field error on %s", err, c.field)
			}
		})
	}
}

// Every valid rule survives String and ParseRule unchanged.
func TestParseRuleRoundTrip(t *testing.T) {
	var rules []Rule
	for _, dir := range []Direction{Ingress, Egress} {
		for _, fam := range []Ethertype{IPv4, IPv6} {
			remotes := []Rule{{}, {RemoteGroup: "app"}, {RemoteGroup: Self}, {RemoteCIDR: "10.20.0.0/16"}, {RemoteCIDR: "192.0.2.7"}}
			if fam == IPv6 {
				remotes = []Rule{{}, {RemoteGroup: "app"}, {RemoteCIDR: "2001:db8:1::/48"}, {RemoteCIDR: "fd00::7"}}
			}
			icmp := ProtoICMP
			if fam == IPv6 {
				icmp = ProtoICMPv6
			}
			protos := []Rule{
				{}, {Protocol: "tcp"}, {Protocol: "udp", PortMin: 53}, {Protocol: "sctp", PortMin: 100, PortMax: 200},
				{Protocol: icmp}, {Protocol: icmp, ICMPType: Int(3)}, {Protocol: icmp, ICMPType: Int(3), ICMPCode: Int(1)},
				{Protocol: "47"}, {Protocol: "0"}, {Protocol: "255"},
			}
			for _, rem := range remotes {
				for _, p := range protos {
					for _, mode := range []Rule{{}, {Stateless: true}, {Tier: TierAdmin}, {Tier: TierAdmin, Action: Deny}, {Tier: TierAdmin, Stateless: true}} {
						rules = append(rules, Rule{
							Direction: dir, Ethertype: fam, Protocol: p.Protocol, PortMin: p.PortMin, PortMax: p.PortMax,
							ICMPType: p.ICMPType, ICMPCode: p.ICMPCode, RemoteCIDR: rem.RemoteCIDR, RemoteGroup: rem.RemoteGroup,
							Stateless: mode.Stateless, Action: mode.Action, Tier: mode.Tier,
						})
					}
				}
			}
		}
	}
	ids := map[string]string{}
	for _, r := range rules {
		n, err := r.Normalize()
		if err != nil {
			t.Fatalf("Normalize(%+v): %v", r, err)
		}
		back, err := ParseRule(n.String())
		if err != nil {
			t.Fatalf("ParseRule(%q): %v", n.String(), err)
		}
		if !equalRules(back, n) {
			t.Fatalf("ParseRule(%q) = %+v, want %+v", n.String(), back, n)
		}
		if prev, dup := ids[n.ID()]; dup && prev != n.String() {
			t.Fatalf("%q and %q share id %s", prev, n.String(), n.ID())
		}
		ids[n.ID()] = n.String()
	}
	if len(ids) < 700 {
		t.Fatalf("only %d distinct rules round-tripped", len(ids))
	}
}
