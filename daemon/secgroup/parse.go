package secgroup

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// ParseRule parses one rule in the syntax of the package doc, e.g.
// "ingress tcp 80-443 from 10.0.0.0/8", and returns it normalized. Errors
// wrap ErrInvalid; a valid syntax with an invalid value returns the
// *FieldError of Rule.Validate.
func ParseRule(spec string) (Rule, error) {
	r, err := parseRule(spec)
	if err != nil {
		return Rule{}, fmt.Errorf("rule %q: %w", spec, err)
	}
	return r, nil
}

func syntaxErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

func parseRule(spec string) (Rule, error) {
	var r Rule
	var words []string
	var sawTier, sawAction, sawState bool
	once := func(saw *bool, w string) error {
		if *saw {
			return syntaxErr("%q: tier, action or statefulness given twice", w)
		}
		*saw = true
		return nil
	}
	// The modifiers may appear anywhere: take them out first.
	for _, w := range strings.Fields(strings.ToLower(spec)) {
		var err error
		switch w {
		case "admin", "user":
			err = once(&sawTier, w)
			r.Tier = Tier(w)
		case "allow", "deny":
			err = once(&sawAction, w)
			r.Action = Action(w)
		case "stateless", "stateful":
			err = once(&sawState, w)
			r.Stateless = w == "stateless"
		default:
			words = append(words, w)
		}
		if err != nil {
			return Rule{}, err
		}
	}
	next := func() string {
		if len(words) == 0 {
			return ""
		}
		w := words[0]
		words = words[1:]
		return w
	}
	peek := func() string {
		if len(words) == 0 {
			return ""
		}
		return words[0]
	}

	switch d := next(); d {
	case "ingress", "egress":
		r.Direction = Direction(d)
	case "":
		return Rule{}, syntaxErr("empty rule: want ingress or egress first")
	default:
		return Rule{}, syntaxErr("%q: want ingress or egress first", d)
	}

	switch peek() {
	case "ipv4":
		r.Ethertype = IPv4
		next()
	case "ipv6":
		r.Ethertype = IPv6
		next()
	}

	// The protocol: a name, or "proto" and a name or number. A bare number
	// is refused: "ingress 22" is too likely meant as a port.
	switch w := peek(); {
	case w == "proto":
		next()
		p := next()
		if p == "" {
			return Rule{}, syntaxErr("proto needs a protocol name or number")
		}
		if _, err := normalizeProtocol(p); err != nil {
			return Rule{}, err
		}
		r.Protocol = p
	case w != "" && w[0] >= '0' && w[0] <= '9':
		return Rule{}, syntaxErr("%q: a bare number is ambiguous: write \"tcp %s\" for a port, \"proto %s\" for an IP protocol number", w, w, w)
	case w != "" && w != "from" && w != "to" && w != "type" && w != "code":
		if _, err := normalizeProtocol(w); err != nil {
			return Rule{}, syntaxErr("%q: want a protocol (tcp, udp, sctp, icmp, icmpv6, any, proto N), from or to", w)
		}
		r.Protocol = next()
	}
	proto, _ := normalizeProtocol(r.Protocol)

	if w := peek(); w != "" && w[0] >= '0' && w[0] <= '9' {
		if !hasPorts(proto) {
			return Rule{}, fieldErr("port_min", "ports only apply to tcp, udp and sctp, not protocol %s", proto)
		}
		lo, hi, err := parsePorts(next())
		if err != nil {
			return Rule{}, err
		}
		r.PortMin, r.PortMax = lo, hi
	}

	if peek() == "type" {
		next()
		v, err := parseByte("icmp_type", next())
		if err != nil {
			return Rule{}, err
		}
		r.ICMPType = &v
		if peek() == "code" {
			next()
			c, err := parseByte("icmp_code", next())
			if err != nil {
				return Rule{}, err
			}
			r.ICMPCode = &c
		}
	} else if peek() == "code" {
		return Rule{}, fieldErr("icmp_code", "needs icmp_type (write type T code C)")
	}

	if w := peek(); w == "from" || w == "to" {
		next()
		if w == "from" && r.Direction == Egress {
			return Rule{}, syntaxErr("egress rules name their remote with \"to\", not \"from\"")
		}
		if w == "to" && r.Direction == Ingress {
			return Rule{}, syntaxErr("ingress rules name their remote with \"from\", not \"to\"")
		}
		remote := next()
		switch {
		case remote == "":
			return Rule{}, syntaxErr("%q needs a remote: a CIDR, sg:NAME or any", w)
		case remote == "any":
		case strings.HasPrefix(remote, "sg:"):
			r.RemoteGroup = strings.TrimPrefix(remote, "sg:")
			if r.RemoteGroup == "" {
				return Rule{}, fieldErr("remote_group", "sg: needs a group name")
			}
		default:
			r.RemoteCIDR = remote
		}
	}
	if w := peek(); w != "" {
		return Rule{}, syntaxErr("unexpected %q", w)
	}

	if r.Ethertype == "" {
		r.Ethertype = inferFamily(proto, r.RemoteCIDR)
	}
	return r.Normalize()
}

// inferFamily is the family of a rule that names none: that of its remote
// CIDR, IPv6 for icmpv6, else IPv4.
func inferFamily(proto, cidr string) Ethertype {
	if p, err := ParseCIDR(cidr); err == nil {
		if p.Addr().Is4() {
			return IPv4
		}
		return IPv6
	}
	if a, err := netip.ParsePrefix(cidr); err == nil && a.Addr().Is6() {
		return IPv6
	}
	if proto == ProtoICMPv6 {
		return IPv6
	}
	return IPv4
}

// parsePorts parses "P" or "P-Q".
func parsePorts(s string) (lo, hi int, err error) {
	a, b, isRange := strings.Cut(s, "-")
	if lo, err = strconv.Atoi(a); err != nil {
		return 0, 0, fieldErr("port_min", "%q is not a port or a port range P-Q", s)
	}
	if lo < 1 || lo > 65535 {
		return 0, 0, fieldErr("port_min", "%d is out of range 1-65535", lo)
	}
	if !isRange {
		return lo, lo, nil
	}
	if hi, err = strconv.Atoi(b); err != nil {
		return 0, 0, fieldErr("port_max", "%q is not a port or a port range P-Q", s)
	}
	if hi < 1 || hi > 65535 {
		return 0, 0, fieldErr("port_max", "%d is out of range 1-65535", hi)
	}
	return lo, hi, nil
}

func parseByte(field, s string) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, fieldErr(field, "%q is not a number 0-255", s)
	}
	return v, nil
}
