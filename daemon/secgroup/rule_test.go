package secgroup

import (
	"errors"
	"strings"
	"testing"
)

func TestRuleValidateFieldErrors(t *testing.T) {
	base := func(mod func(*Rule)) Rule {
		r := Rule{Direction: Ingress, Ethertype: IPv4, Protocol: ProtoTCP, PortMin: 80}
		mod(&r)
		return r
	}
	cases := []struct {
		name  string
		rule  Rule
		field string
		msg   string // a part of the message
	}{
		{"direction missing", base(func(r *Rule) { r.Direction = "" }), "direction", "required"},
		{"direction unknown", base(func(r *Rule) { r.Direction = "inbound" }), "direction", `"inbound"`},
		{"ethertype missing", base(func(r *Rule) { r.Ethertype = "" }), "ethertype", "required"},
		{"ethertype unknown", base(func(r *Rule) { r.Ethertype = "IPX" }), "ethertype", `"IPX"`},
		{"protocol unknown", base(func(r *Rule) { r.Protocol = "gre"; r.PortMin = 0 }), "protocol", "unknown protocol"},
		{"protocol number too big", base(func(r *Rule) { r.Protocol = "256"; r.PortMin = 0 }), "protocol", "out of range"},
		{"protocol number negative", base(func(r *Rule) { r.Protocol = "-1"; r.PortMin = 0 }), "protocol", "unknown protocol"},
		{"icmp on IPv6", base(func(r *Rule) { r.Ethertype = IPv6; r.Protocol = "icmp"; r.PortMin = 0 }), "protocol", "use icmpv6"},
		{"icmpv6 on IPv4", base(func(r *Rule) { r.Protocol = "icmpv6"; r.PortMin = 0 }), "protocol", "needs ethertype IPv6"},
		{"protocol 1 on IPv6", base(func(r *Rule) { r.Ethertype = IPv6; r.Protocol = "1"; r.PortMin = 0 }), "protocol", "use icmpv6"},
		{"ports on icmp", base(func(r *Rule) { r.Protocol = "icmp" }), "port_min", "only apply to tcp, udp and sctp"},
		{"ports on any", base(func(r *Rule) { r.Protocol = "" }), "port_min", "not protocol any"},
		{"ports on a number", base(func(r *Rule) { r.Protocol = "47" }), "port_min", "not protocol 47"},
		{"port_max on icmp", base(func(r *Rule) { r.Protocol = "icmp"; r.PortMin = 0; r.PortMax = 9 }), "port_max", "only apply"},
		{"port_max without port_min", base(func(r *Rule) { r.PortMin = 0; r.PortMax = 90 }), "port_min", "required with port_max"},
		{"port_min too big", base(func(r *Rule) { r.PortMin = 65536 }), "port_min", "out of range"},
		{"port_min negative", base(func(r *Rule) { r.PortMin = -1 }), "port_min", "out of range"},
		{"port_max too big", base(func(r *Rule) { r.PortMax = 70000 }), "port_max", "out of range"},
		{"port range reversed", base(func(r *Rule) { r.PortMin, r.PortMax = 8080, 8000 }), "port_max", "reversed"},
		{"icmp type on tcp", base(func(r *Rule) { r.ICMPType = Int(8) }), "icmp_type", "only applies to icmp and icmpv6, not protocol tcp"},
		{"icmp code on udp", base(func(r *Rule) { r.Protocol = "udp"; r.ICMPCode = Int(0) }), "icmp_code", "not protocol udp"},
		{"icmp code without type", base(func(r *Rule) { r.Protocol = "icmp"; r.PortMin = 0; r.ICMPCode = Int(0) }), "icmp_code", "needs icmp_type"},
		{"icmp type too big", base(func(r *Rule) { r.Protocol = "icmp"; r.PortMin = 0; r.ICMPType = Int(256) }), "icmp_type", "out of range"},
		{"icmp code negative", base(func(r *Rule) { r.Protocol = "icmp"; r.PortMin = 0; r.ICMPType = Int(3); r.ICMPCode = Int(-1) }), "icmp_code", "out of range"},
		{"bad CIDR", base(func(r *Rule) { r.RemoteCIDR = "10.0.0.0/33" }), "remote_cidr", "not a CIDR"},
		{"CIDR garbage", base(func(r *Rule) { r.RemoteCIDR = "web" }), "remote_cidr", "not a CIDR"},
		{"CIDR with zone", base(func(r *Rule) { r.Ethertype = IPv6; r.RemoteCIDR = "fe80::1%eth0" }), "remote_cidr", "not a CIDR"},
		{"CIDR v6 on IPv4", base(func(r *Rule) { r.RemoteCIDR = "2001:db8::/32" }), "remote_cidr", "is IPv6 but the rule's ethertype is IPv4"},
		{"CIDR v4 on IPv6", base(func(r *Rule) { r.Ethertype = IPv6; r.RemoteCIDR = "10.0.0.0/8" }), "remote_cidr", "is IPv4 but the rule's ethertype is IPv6"},
		{"CIDR 4in6", base(func(r *Rule) { r.Ethertype = IPv6; r.RemoteCIDR = "::ffff:10.0.0.0/104" }), "remote_cidr", "IPv4-mapped"},
		{"both remotes", base(func(r *Rule) { r.RemoteCIDR = "10.0.0.0/8"; r.RemoteGroup = "web" }), "remote_group", "exclusive"},
		{"bad remote group", base(func(r *Rule) { r.RemoteGroup = "Web!" }), "remote_group", "not a valid security group name"},
		{"reserved remote group", base(func(r *Rule) { r.RemoteGroup = "all" }), "remote_group", "reserved"},
		{"action unknown", base(func(r *Rule) { r.Action = "reject" }), "action", `"reject"`},
		{"deny in user tier", base(func(r *Rule) { r.Action = Deny }), "action", "only allowed in the admin tier"},
		{"deny in default tier", base(func(r *Rule) { r.Action = Deny; r.Tier = "" }), "action", "admin tier"},
		{"tier unknown", base(func(r *Rule) { r.Tier = "root" }), "tier", `"root"`},
		{"stateless deny", base(func(r *Rule) { r.Action = Deny; r.Tier = TierAdmin; r.Stateless = true }), "stateless", "only allow rules"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.rule.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate(%+v) = %v, want a *FieldError on %s", c.rule, err, c.field)
			}
			if fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("Validate = %q, want field %s and a message with %q", err, c.field, c.msg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("errors.Is(%v, ErrInvalid) = false", err)
			}
			if !strings.HasPrefix(err.Error(), c.field+": ") {
				t.Fatalf("error %q does not start with its field", err)
			}
		})
	}
}

func TestRuleNormalize(t *testing.T) {
	cases := []struct {
		name string
		in   Rule
		want string // String of the normal form
	}{
		{"defaults", Rule{Direction: "INGRESS", Ethertype: "ipv4"}, "ingress ipv4 any"},
		{"protocol case and default action", Rule{Direction: Egress, Ethertype: IPv6, Protocol: "UDP", PortMin: 53}, "egress ipv6 udp 53"},
		{"number to name", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "6", PortMin: 22, PortMax: 22}, "ingress ipv4 tcp 22"},
		{"132 is sctp", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "132", PortMin: 9}, "ingress ipv4 sctp 9"},
		{"58 is icmpv6", Rule{Direction: Ingress, Ethertype: IPv6, Protocol: "58"}, "ingress ipv6 icmpv6"},
		{"icmp6 alias", Rule{Direction: Ingress, Ethertype: IPv6, Protocol: "ipv6-icmp", ICMPType: Int(128)}, "ingress ipv6 icmpv6 type 128"},
		{"other number", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "047"}, "ingress ipv4 proto 47"},
		{"protocol 0", Rule{Direction: Ingress, Ethertype: IPv6, Protocol: "0"}, "ingress ipv6 proto 0"},
		{"whole port range is any port", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 1, PortMax: 65535}, "ingress ipv4 tcp"},
		{"range", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 8000, PortMax: 8080}, "ingress ipv4 tcp 8000-8080"},
		{"CIDR masked", Rule{Direction: Ingress, Ethertype: IPv4, RemoteCIDR: "10.1.2.3/8"}, "ingress ipv4 any from 10.0.0.0/8"},
		{"address is a host prefix", Rule{Direction: Egress, Ethertype: IPv6, RemoteCIDR: "2001:DB8::1"}, "egress ipv6 any to 2001:db8::1/128"},
		{"anywhere is no remote", Rule{Direction: Ingress, Ethertype: IPv4, RemoteCIDR: "0.0.0.0/0"}, "ingress ipv4 any"},
		{"anywhere v6", Rule{Direction: Ingress, Ethertype: IPv6, RemoteCIDR: "::/0", Protocol: "tcp"}, "ingress ipv6 tcp"},
		{"icmp type and code", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "icmp", ICMPType: Int(3), ICMPCode: Int(4)}, "ingress ipv4 icmp type 3 code 4"},
		{"remote group", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 5432, RemoteGroup: "app"}, "ingress ipv4 tcp 5432 from sg:app"},
		{"self", Rule{Direction: Ingress, Ethertype: IPv6, RemoteGroup: Self}, "ingress ipv6 any from sg:self"},
		{"stateless", Rule{Direction: Egress, Ethertype: IPv4, Protocol: "udp", Stateless: true}, "egress ipv4 udp stateless"},
		{"admin deny", Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 22, Action: "DENY", Tier: "Admin"}, "admin deny ingress ipv4 tcp 22"},
		{"admin allow", Rule{Direction: Ingress, Ethertype: IPv4, Action: Allow, Tier: TierAdmin, RemoteCIDR: "192.0.2.0/24"}, "admin ingress ipv4 any from 192.0.2.0/24"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := c.in.Normalize()
			if err != nil {
				t.Fatalf("Normalize: %v", err)
			}
			if got := n.String(); got != c.want {
				t.Fatalf("String = %q, want %q", got, c.want)
			}
			if n.Action == "" || n.Tier == "" {
				t.Fatalf("defaults not filled in: %+v", n)
			}
			again, err := n.Normalize()
			if err != nil || again.String() != n.String() || again.ID() != n.ID() {
				t.Fatalf("Normalize is not idempotent: %+v, %v", again, err)
			}
			if c.in.ID() != n.ID() {
				t.Fatalf("ID of the rule as written %s != ID of its normal form %s", c.in.ID(), n.ID())
			}
		})
	}
}

func TestRuleNormalizeDoesNotAlias(t *testing.T) {
	typ := 8
	r := Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "icmp", ICMPType: &typ}
	n, err := r.Normalize()
	if err != nil {
		t.Fatal(err)
	}
	typ = 0
	if *n.ICMPType != 8 {
		t.Fatalf("the normal form shares the caller's ICMPType")
	}
}

func TestRuleID(t *testing.T) {
	a := Rule{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80}
	b := Rule{Direction: "ingress", Ethertype: "ipv4", Protocol: "6", PortMin: 80, PortMax: 80, Action: Allow, Tier: TierUser}
	if a.ID() != b.ID() {
		t.Fatalf("two spellings of one rule have ids %s and %s", a.ID(), b.ID())
	}
	if len(a.ID()) != 16 {
		t.Fatalf("id %q is not 16 hex digits", a.ID())
	}
	// The id is part of the Northbound state: changing it re-creates every
	// ACL. This pins it.
	if got, want := a.ID(), "628557fc6088504a"; got != want {
		t.Fatalf("ID(%s) = %s, want %s: the canonical text or the hash changed", a, got, want)
	}
	variants := []Rule{
		{Direction: Egress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80},
		{Direction: Ingress, Ethertype: IPv6, Protocol: "tcp", PortMin: 80},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "udp", PortMin: 80},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 81},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80, PortMax: 81},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80, RemoteCIDR: "10.0.0.0/8"},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80, RemoteGroup: "web"},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80, Stateless: true},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80, Tier: TierAdmin},
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80, Tier: TierAdmin, Action: Deny},
	}
	seen := map[string]string{a.ID(): a.String()}
	for _, v := range variants {
		if prev, dup := seen[v.ID()]; dup {
			t.Errorf("%s and %s share id %s", prev, v, v.ID())
		}
		seen[v.ID()] = v.String()
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"a", "web", "web-1", "db_main", "0", "a1234567890123456789012345678901"} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("ValidateName(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-web", "web-", "_a", "Web", "a b", "a.b", "a12345678901234567890123456789012", "all", "self", "wéb"} {
		err := ValidateName(bad)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "name" {
			t.Errorf("ValidateName(%q) = %v, want a name error", bad, err)
		}
	}
}

func TestGroupValidate(t *testing.T) {
	ok := Group{Name: "web", Description: "front ends", Rules: []Rule{
		{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 80},
		{Direction: Ingress, Ethertype: IPv4, RemoteGroup: Self},
	}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	cases := []struct {
		name  string
		g     Group
		field string
		msg   string
	}{
		{"bad name", Group{Name: "Web"}, "name", "not a valid"},
		{"reserved name", Group{Name: "all"}, "name", "reserved"},
		{"long description", Group{Name: "web", Description: strings.Repeat("x", 256)}, "description", "more than 255"},
		{"control characters", Group{Name: "web", Description: "a\nb"}, "description", "control"},
		{"bad rule", Group{Name: "web", Rules: []Rule{ok.Rules[0], {Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 9, PortMax: 1}}}, "port_max", "reversed"},
		{"duplicate rule", Group{Name: "web", Rules: []Rule{ok.Rules[0], {Direction: "ingress", Ethertype: "IPv4", Protocol: "6", PortMin: 80, PortMax: 80}}}, "rules", "duplicates rules[0]"},
		{"self and own name", Group{Name: "web", Rules: []Rule{
			{Direction: Ingress, Ethertype: IPv4, RemoteGroup: Self},
			{Direction: Ingress, Ethertype: IPv4, RemoteGroup: "web"},
		}}, "rules", "duplicates rules[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.g.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Msg, c.msg) {
				t.Fatalf("Validate = %v, want field %s with %q", err, c.field, c.msg)
			}
			if strings.HasPrefix(c.name, "bad rule") && !strings.Contains(err.Error(), "rules[1]") {
				t.Fatalf("error %q does not say which rule", err)
			}
		})
	}
}
