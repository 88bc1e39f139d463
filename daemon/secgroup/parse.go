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

// ruleParser holds the words of a rule not yet read and the rule read
// so far; each step reads one part of the syntax.
type ruleParser struct {
	words []string
	r     Rule
}

func (p *ruleParser) next() string {
	if len(p.words) == 0 {
		return ""
	}
	w := p.words[0]
	p.words = p.words[1:]
	return w
}

func (p *ruleParser) peek() string {
	if len(p.words) == 0 {
		return ""
	}
	return p.words[0]
}

func parseRule(spec string) (Rule, error) {
	p := &ruleParser{}
	// The modifiers may appear anywhere: take them out first.
	if err := p.modifiers(spec); err != nil {
		return Rule{}, err
	}
	if err := p.direction(); err != nil {
		return Rule{}, err
	}
	p.family()
	if err := p.protocol(); err != nil {
		return Rule{}, err
	}
	proto, _ := normalizeProtocol(p.r.Protocol)
	if err := p.ports(proto); err != nil {
		return Rule{}, err
	}
	if err := p.icmp(); err != nil {
		return Rule{}, err
	}
	if err := p.remote(); err != nil {
		return Rule{}, err
	}
	if w := p.peek(); w != "" {
		return Rule{}, syntaxErr("unexpected %q", w)
	}

	r := p.r
	if r.Ethertype == "" {
		r.Ethertype = inferFamily(proto, r.RemoteCIDR)
	}
	return r.Normalize()
}

// modifiers sets the tier, action and statefulness named anywhere in spec
// and keeps the other words, in order, for the next steps.
func (p *ruleParser) modifiers(spec string) error {
	var sawTier, sawAction, sawState bool
	once := func(saw *bool, w string) error {
		if *saw {
			return syntaxErr("%q: tier, action or statefulness given twice", w)
		}
		*saw = true
		return nil
	}
	for _, w := range strings.Fields(strings.ToLower(spec)) {
		var err error
		switch w {
		case "admin", "user":
			err = once(&sawTier, w)
			p.r.Tier = Tier(w)
		case "allow", "deny":
			err = once(&sawAction, w)
			p.r.Action = Action(w)
		case "stateless", "stateful":
			err = once(&sawState, w)
			p.r.Stateless = w == "stateless"
		default:
			p.words = append(p.words, w)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// direction reads the first word: ingress or egress.
func (p *ruleParser) direction() error {
	switch d := p.next(); d {
	case "ingress", "egress":
		p.r.Direction = Direction(d)
	case "":
		return syntaxErr("empty rule: want ingress or egress first")
	default:
		return syntaxErr("%q: want ingress or egress first", d)
	}
	return nil
}

// family reads an optional ipv4 or ipv6.
func (p *ruleParser) family() {
	switch p.peek() {
	case "ipv4":
		p.r.Ethertype = IPv4
		p.next()
	case "ipv6":
		p.r.Ethertype = IPv6
		p.next()
	}
}

// protocol reads the protocol: a name, or "proto" and a name or number. A
// bare number is refused: "ingress 22" is too likely meant as a port.
func (p *ruleParser) protocol() error {
	switch w := p.peek(); {
	case w == "proto":
		p.next()
		name := p.next()
		if name == "" {
			return syntaxErr("proto needs a protocol name or number")
		}
		if _, err := normalizeProtocol(name); err != nil {
			return err
		}
		p.r.Protocol = name
	case w != "" && w[0] >= '0' && w[0] <= '9':
		return syntaxErr("%q: a bare number is ambiguous: write \"tcp %s\" for a port, \"proto %s\" for an IP protocol number", w, w, w)
	case w != "" && w != "from" && w != "to" && w != "type" && w != "code":
		if _, err := normalizeProtocol(w); err != nil {
			return syntaxErr("%q: want a protocol (tcp, udp, sctp, icmp, icmpv6, any, proto N), from or to", w)
		}
		p.r.Protocol = p.next()
	}
	return nil
}

// ports reads an optional port or port range of the (normalized) proto.
func (p *ruleParser) ports(proto string) error {
	if w := p.peek(); w != "" && w[0] >= '0' && w[0] <= '9' {
		if !hasPorts(proto) {
			return fieldErr("port_min", "ports only apply to tcp, udp and sctp, not protocol %s", proto)
		}
		lo, hi, err := parsePorts(p.next())
		if err != nil {
			return err
		}
		p.r.PortMin, p.r.PortMax = lo, hi
	}
	return nil
}

// icmp reads an optional "type T", and "code C" after it.
func (p *ruleParser) icmp() error {
	if p.peek() == "type" {
		p.next()
		v, err := parseByte("icmp_type", p.next())
		if err != nil {
			return err
		}
		p.r.ICMPType = &v
		if p.peek() == "code" {
			p.next()
			c, err := parseByte("icmp_code", p.next())
			if err != nil {
				return err
			}
			p.r.ICMPCode = &c
		}
	} else if p.peek() == "code" {
		return fieldErr("icmp_code", "needs icmp_type (write type T code C)")
	}
	return nil
}

// remote reads an optional "from" (ingress) or "to" (egress) and the
// remote: a CIDR, sg:NAME or any.
func (p *ruleParser) remote() error {
	w := p.peek()
	if w != "from" && w != "to" {
		return nil
	}
	p.next()
	if w == "from" && p.r.Direction == Egress {
		return syntaxErr("egress rules name their remote with \"to\", not \"from\"")
	}
	if w == "to" && p.r.Direction == Ingress {
		return syntaxErr("ingress rules name their remote with \"from\", not \"to\"")
	}
	remote := p.next()
	switch {
	case remote == "":
		return syntaxErr("%q needs a remote: a CIDR, sg:NAME or any", w)
	case remote == "any":
	case strings.HasPrefix(remote, "sg:"):
		p.r.RemoteGroup = strings.TrimPrefix(remote, "sg:")
		if p.r.RemoteGroup == "" {
			return fieldErr("remote_group", "sg: needs a group name")
		}
	default:
		p.r.RemoteCIDR = remote
	}
	return nil
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
