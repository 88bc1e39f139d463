package secgroup

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// ErrInvalid is wrapped by every validation error (a *FieldError for a rule
// or group field, or a syntax error of ParseRule).
var ErrInvalid = errs.New(errs.Invalid, "invalid security group")

// FieldError is a validation error that names the rule or group field at
// fault, with the field's JSON name ("port_max", "remote_cidr", ...).
type FieldError struct {
	Field string
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Unwrap() error { return ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Direction is the direction of traffic a rule applies to, seen from the
// port: ingress is what the port receives, egress what it sends.
type Direction string

// Directions.
const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Ethertype is the IP family of a rule.
type Ethertype string

// Ethertypes.
const (
	IPv4 Ethertype = "IPv4"
	IPv6 Ethertype = "IPv6"
)

// Action is what a rule does with the traffic it matches.
type Action string

// Actions. Deny is only allowed in the admin tier.
const (
	Allow Action = "allow"
	Deny  Action = "deny"
)

// Tier is the rule's tier: admin rules take precedence over user rules.
type Tier string

// Tiers.
const (
	TierUser  Tier = "user"
	TierAdmin Tier = "admin"
)

// Protocol names (Rule.Protocol also takes an IP protocol number, 0-255).
const (
	ProtoAny    = "any"
	ProtoTCP    = "tcp"
	ProtoUDP    = "udp"
	ProtoSCTP   = "sctp"
	ProtoICMP   = "icmp"   // ICMP for IPv4
	ProtoICMPv6 = "icmpv6" // ICMP for IPv6
)

// Self as Rule.RemoteGroup means the rule's own group (see Preset "internal").
const Self = "self"

// BastionPrefix: Rule.RemoteGroup "bastion-NAME" (sg:bastion-NAME) is the
// peers of WireGuard bastion NAME: their tunnel addresses, which
// Northbound keeps in the bastion's Address_Set. No security group may be
// named so (ValidateNewName).
const BastionPrefix = "bastion-"

// BastionOf returns the bastion a remote group names, if it names one.
func BastionOf(remoteGroup string) (string, bool) {
	return strings.CutPrefix(remoteGroup, BastionPrefix)
}

// BastionAddressSet is the Address_Set of bastion name's peers
// (ovn.BastionAddressSetName: OVN names take '_', not '-').
func BastionAddressSet(name string) string {
	return strings.ReplaceAll(keys.BastionASPrefix+name, "-", "_")
}

// protoNumbers maps the IP protocol numbers that have a name to it, so that
// "6" and "tcp" are the same rule.
var protoNumbers = map[int]string{1: ProtoICMP, 6: ProtoTCP, 17: ProtoUDP, 58: ProtoICMPv6, 132: ProtoSCTP}

// protoAliases are other spellings of the protocol names.
var protoAliases = map[string]string{
	"":          ProtoAny,
	"icmp4":     ProtoICMP,
	"icmp6":     ProtoICMPv6,
	"ipv6-icmp": ProtoICMPv6,
}

// Rule is one security group rule. The zero values of Protocol, Action and
// Tier mean any protocol, allow and the user tier; Ethertype and Direction
// are required.
type Rule struct {
	Direction Direction `json:"direction"`
	Ethertype Ethertype `json:"ethertype"`
	// Protocol is tcp, udp, sctp, icmp, icmpv6, any (or empty), or an IP
	// protocol number 0-255.
	Protocol string `json:"protocol,omitempty"`
	// PortMin and PortMax are the destination port range (tcp, udp, sctp
	// only): both zero for any port, PortMax zero for the single port PortMin.
	PortMin int `json:"port_min,omitempty"`
	PortMax int `json:"port_max,omitempty"`
	// ICMPType and ICMPCode (icmp, icmpv6 only): nil for any.
	ICMPType *int `json:"icmp_type,omitempty"`
	ICMPCode *int `json:"icmp_code,omitempty"`
	// RemoteCIDR (a prefix or an address of the rule's family) or
	// RemoteGroup (a group name, or Self): the source of ingress traffic,
	// the destination of egress traffic. Neither: anywhere.
	RemoteCIDR  string `json:"remote_cidr,omitempty"`
	RemoteGroup string `json:"remote_group,omitempty"`
	// Stateless rules are not tracked by conntrack (allow-stateless).
	Stateless bool   `json:"stateless,omitempty"`
	Action    Action `json:"action,omitempty"`
	Tier      Tier   `json:"tier,omitempty"`
}

// Int returns a pointer to v, for Rule.ICMPType and Rule.ICMPCode.
func Int(v int) *int { return &v }

// Validate reports the first invalid field of r.
func (r Rule) Validate() error {
	_, err := r.Normalize()
	return err
}

// Normalize validates r and returns its canonical form: keywords in their
// canonical case, protocol numbers that have a name replaced by it, a
// single port as PortMin == PortMax, the whole port range 1-65535 as no
// port, the remote CIDR masked and 0.0.0.0/0 (::/0) as no remote, the
// default action and tier filled in. Two rules that mean the same have the
// same canonical form, hence the same ID.
func (r Rule) Normalize() (Rule, error) {
	n := Rule{Stateless: r.Stateless}

	switch Direction(strings.ToLower(strings.TrimSpace(string(r.Direction)))) {
	case Ingress:
		n.Direction = Ingress
	case Egress:
		n.Direction = Egress
	case "":
		return Rule{}, fieldErr("direction", "required (ingress or egress)")
	default:
		return Rule{}, fieldErr("direction", "%q is not ingress or egress", r.Direction)
	}

	switch strings.ToLower(strings.TrimSpace(string(r.Ethertype))) {
	case "ipv4":
		n.Ethertype = IPv4
	case "ipv6":
		n.Ethertype = IPv6
	case "":
		return Rule{}, fieldErr("ethertype", "required (IPv4 or IPv6)")
	default:
		return Rule{}, fieldErr("ethertype", "%q is not IPv4 or IPv6", r.Ethertype)
	}

	proto, err := normalizeProtocol(r.Protocol)
	if err != nil {
		return Rule{}, err
	}
	n.Protocol = proto
	if proto == ProtoICMP && n.Ethertype == IPv6 {
		return Rule{}, fieldErr("protocol", "icmp is ICMP for IPv4; use icmpv6 with ethertype IPv6")
	}
	if proto == ProtoICMPv6 && n.Ethertype == IPv4 {
		return Rule{}, fieldErr("protocol", "icmpv6 needs ethertype IPv6; use icmp with IPv4")
	}

	if err := n.setPorts(r.PortMin, r.PortMax); err != nil {
		return Rule{}, err
	}
	if err := n.setICMP(r.ICMPType, r.ICMPCode); err != nil {
		return Rule{}, err
	}
	if err := n.setRemote(r.RemoteCIDR, r.RemoteGroup); err != nil {
		return Rule{}, err
	}

	switch Action(strings.ToLower(strings.TrimSpace(string(r.Action)))) {
	case "", Allow:
		n.Action = Allow
	case Deny:
		n.Action = Deny
	default:
		return Rule{}, fieldErr("action", "%q is not allow or deny", r.Action)
	}
	switch Tier(strings.ToLower(strings.TrimSpace(string(r.Tier)))) {
	case "", TierUser:
		n.Tier = TierUser
	case TierAdmin:
		n.Tier = TierAdmin
	default:
		return Rule{}, fieldErr("tier", "%q is not user or admin", r.Tier)
	}
	if n.Action == Deny && n.Tier != TierAdmin {
		return Rule{}, fieldErr("action", "deny is only allowed in the admin tier")
	}
	if n.Action == Deny && n.Stateless {
		return Rule{}, fieldErr("stateless", "only allow rules can be stateless")
	}
	return n, nil
}

func normalizeProtocol(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if a, ok := protoAliases[p]; ok {
		p = a
	}
	switch p {
	case ProtoAny, ProtoTCP, ProtoUDP, ProtoSCTP, ProtoICMP, ProtoICMPv6:
		return p, nil
	}
	v, err := strconv.Atoi(p)
	if err != nil || strings.HasPrefix(p, "+") || strings.HasPrefix(p, "-") {
		return "", fieldErr("protocol", "unknown protocol %q (tcp, udp, sctp, icmp, icmpv6, any or a number 0-255)", p)
	}
	if v < 0 || v > 255 {
		return "", fieldErr("protocol", "protocol number %d is out of range 0-255", v)
	}
	if name, ok := protoNumbers[v]; ok {
		return name, nil
	}
	return strconv.Itoa(v), nil
}

func hasPorts(proto string) bool {
	return proto == ProtoTCP || proto == ProtoUDP || proto == ProtoSCTP
}

func isICMP(proto string) bool { return proto == ProtoICMP || proto == ProtoICMPv6 }

func (n *Rule) setPorts(lo, hi int) error {
	if lo == 0 && hi == 0 {
		return nil
	}
	if !hasPorts(n.Protocol) {
		field := "port_min"
		if lo == 0 {
			field = "port_max"
		}
		return fieldErr(field, "ports only apply to tcp, udp and sctp, not protocol %s", n.Protocol)
	}
	if lo == 0 {
		return fieldErr("port_min", "required with port_max")
	}
	if lo < 1 || lo > 65535 {
		return fieldErr("port_min", "%d is out of range 1-65535", lo)
	}
	if hi == 0 {
		hi = lo
	}
	if hi < 1 || hi > 65535 {
		return fieldErr("port_max", "%d is out of range 1-65535", hi)
	}
	if hi < lo {
		return fieldErr("port_max", "range %d-%d is reversed (port_max below port_min)", lo, hi)
	}
	if lo == 1 && hi == 65535 {
		return nil // every port
	}
	n.PortMin, n.PortMax = lo, hi
	return nil
}

func (n *Rule) setICMP(typ, code *int) error {
	if typ == nil && code == nil {
		return nil
	}
	if !isICMP(n.Protocol) {
		field := "icmp_type"
		if typ == nil {
			field = "icmp_code"
		}
		return fieldErr(field, "only applies to icmp and icmpv6, not protocol %s", n.Protocol)
	}
	if typ == nil {
		return fieldErr("icmp_code", "needs icmp_type")
	}
	if *typ < 0 || *typ > 255 {
		return fieldErr("icmp_type", "%d is out of range 0-255", *typ)
	}
	n.ICMPType = Int(*typ)
	if code != nil {
		if *code < 0 || *code > 255 {
			return fieldErr("icmp_code", "%d is out of range 0-255", *code)
		}
		n.ICMPCode = Int(*code)
	}
	return nil
}

// checkRemoteGroup checks a remote group of rule n (its ethertype set):
// self, a group's name, or bastion-NAME of a valid bastion name; a
// bastion's peers have IPv4 tunnel addresses only.
func (n *Rule) checkRemoteGroup(group string) error {
	if group == Self {
		return nil
	}
	if b, ok := BastionOf(group); ok {
		if err := bastion.ValidateName(b); err != nil {
			return fieldErr("remote_group", "sg:%s: after %q comes a bastion's name: %s", group, BastionPrefix, strings.TrimPrefix(err.Error(), "bastion: "))
		}
		if n.Ethertype != IPv4 {
			return fieldErr("remote_group", "sg:%s: a bastion's peers have IPv4 tunnel addresses only: the rule must be ipv4", group)
		}
		return nil
	}
	if err := ValidateName(group); err != nil {
		return fieldErr("remote_group", "%v", err.(*FieldError).Msg)
	}
	return nil
}

func (n *Rule) setRemote(cidr, group string) error {
	cidr, group = strings.TrimSpace(cidr), strings.TrimSpace(group)
	if cidr != "" && group != "" {
		return fieldErr("remote_group", "remote_cidr and remote_group are exclusive")
	}
	if group != "" {
		if err := n.checkRemoteGroup(group); err != nil {
			return err
		}
		n.RemoteGroup = group
		return nil
	}
	if cidr == "" {
		return nil
	}
	p, err := ParseCIDR(cidr)
	if err != nil {
		return fieldErr("remote_cidr", "%v", err)
	}
	if p.Addr().Is4() != (n.Ethertype == IPv4) {
		fam := IPv6
		if p.Addr().Is4() {
			fam = IPv4
		}
		return fieldErr("remote_cidr", "%s is %s but the rule's ethertype is %s", cidr, fam, n.Ethertype)
	}
	if p.Bits() == 0 {
		return nil // anywhere
	}
	n.RemoteCIDR = p.String()
	return nil
}

// ParseCIDR parses a prefix ("10.0.0.0/8") or a single address (a host
// prefix), and returns it masked. Zones and IPv4-mapped IPv6 prefixes are
// refused.
func ParseCIDR(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		if p, err = netip.ParsePrefix(s); err != nil {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil || a.Zone() != "" {
			return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%q is an IPv4-mapped IPv6 prefix; write it as IPv4", s)
	}
	return p.Masked(), nil
}

// ID is the rule's stable id: 16 hex digits of the SHA-256 of its canonical
// text (String of Normalize). Rules that mean the same have the same ID; it
// is the key of the rule's ACL within its group. For an invalid rule it is
// the hash of the text as it is.
func (r Rule) ID() string {
	if n, err := r.Normalize(); err == nil {
		r = n
	}
	return textID(r.String())
}

// textID is the id of a rule with canonical text s.
func textID(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:8])
}

// String writes r in the rule syntax of ParseRule (see the package doc);
// for a normalized rule it is the canonical text and ParseRule reads it
// back to the same rule.
func (r Rule) String() string {
	var b strings.Builder
	word := func(s string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s)
	}
	if r.Tier == TierAdmin {
		word("admin")
	}
	if r.Action == Deny {
		word("deny")
	}
	word(strings.ToLower(string(r.Direction)))
	word(strings.ToLower(string(r.Ethertype)))
	proto := r.Protocol
	if proto == "" {
		proto = ProtoAny
	}
	if _, err := strconv.Atoi(proto); err == nil {
		word("proto")
	}
	word(proto)
	switch {
	case r.PortMin != 0 && (r.PortMax == 0 || r.PortMax == r.PortMin):
		word(strconv.Itoa(r.PortMin))
	case r.PortMin != 0 || r.PortMax != 0:
		word(strconv.Itoa(r.PortMin) + "-" + strconv.Itoa(r.PortMax))
	}
	if r.ICMPType != nil {
		word("type " + strconv.Itoa(*r.ICMPType))
	}
	if r.ICMPCode != nil {
		word("code " + strconv.Itoa(*r.ICMPCode))
	}
	remote := ""
	switch {
	case r.RemoteGroup != "":
		remote = "sg:" + r.RemoteGroup
	case r.RemoteCIDR != "":
		remote = r.RemoteCIDR
	}
	if remote != "" {
		if r.Direction == Egress {
			word("to " + remote)
		} else {
			word("from " + remote)
		}
	}
	if r.Stateless {
		word("stateless")
	}
	return b.String()
}
