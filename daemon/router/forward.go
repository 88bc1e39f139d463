package router

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Port forwards of a floating IP (Incus's network forwards): one port of
// the floating IP to one port of one target, a logical port. The record of
// the forwards of one floating IP and protocol is
// "PORT=TARGET:TPORT[@ADDRESS],..." sorted by PORT: @ADDRESS when the user
// chose which of the target's addresses (kept while the target has it),
// without it the forward follows the target's first IPv4 address.

// Forward is one port forward.
type Forward struct {
	Protocol   string // tcp | udp
	Port       uint16 // the floating IP's port
	Target     string // logical port
	TargetPort uint16
	Pinned     netip.Addr // the address the user chose (zero: follow the first IPv4)
	Address    netip.Addr // where it goes now (zero: the target has no such address)
}

// Protocols of port forwards.
var Protocols = []string{"tcp", "udp"}

// ParseProtocol validates a forward's protocol ("" is tcp).
func ParseProtocol(p string) (string, error) {
	p = strings.ToLower(strings.TrimSpace(p))
	if p == "" {
		return "tcp", nil
	}
	if !slices.Contains(Protocols, p) {
		return "", errs.New(errs.Invalid, fmt.Sprintf("protocol: %q is not tcp or udp", p))
	}
	return p, nil
}

// ParsePortNumber validates a port number of field (1-65535).
func ParsePortNumber(field string, n uint32) (uint16, error) {
	if n < 1 || n > 65535 {
		return 0, errs.New(errs.Invalid, fmt.Sprintf("%s: %d is out of range (1-65535)", field, n))
	}
	return uint16(n), nil
}

// TargetAddress picks where a forward goes among the target's addresses:
// its pinned address while the target has it, else nothing; unpinned, the
// first IPv4 (floating IPs are IPv4: the backend must be too).
func TargetAddress(ips []netip.Addr, pinned netip.Addr) (netip.Addr, bool) {
	if pinned.IsValid() {
		return pinned, slices.Contains(ips, pinned)
	}
	for _, a := range ips {
		if a.Is4() {
			return a, true
		}
	}
	return netip.Addr{}, false
}

// FormatRules writes the record of forwards (one protocol), sorted by port.
func FormatRules(fs []Forward) string {
	fs = slices.Clone(fs)
	slices.SortFunc(fs, func(a, b Forward) int { return int(a.Port) - int(b.Port) })
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%d=%s:%d", f.Port, f.Target, f.TargetPort)
		if f.Pinned.IsValid() {
			parts[i] += "@" + f.Pinned.String()
		}
	}
	return strings.Join(parts, ",")
}

// ParseRules reads a record of forwards of protocol proto (rows are
// input: a malformed entry is an error naming it).
func ParseRules(proto, s string) ([]Forward, error) {
	var out []Forward
	for _, e := range strings.Split(s, ",") {
		if e == "" {
			continue
		}
		f, err := parseRule(proto, e)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

func parseRule(proto, e string) (Forward, error) {
	bad := errs.New(errs.Invalid, fmt.Sprintf("port forward record %q is malformed", e))
	port, rest, ok := strings.Cut(e, "=")
	if !ok {
		return Forward{}, bad
	}
	f := Forward{Protocol: proto}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		a, err := netip.ParseAddr(rest[i+1:])
		if err != nil {
			return Forward{}, bad
		}
		f.Pinned, rest = a, rest[:i]
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return Forward{}, bad
	}
	f.Target = rest[:i]
	p, err1 := strconv.ParseUint(port, 10, 16)
	tp, err2 := strconv.ParseUint(rest[i+1:], 10, 16)
	if err1 != nil || err2 != nil || p == 0 || tp == 0 {
		return Forward{}, bad
	}
	f.Port, f.TargetPort = uint16(p), uint16(tp)
	return f, nil
}

// ForwardVIPs are the Load_Balancer vips of forwards on the floating IP
// fip: those with an address.
func ForwardVIPs(fip netip.Addr, fs []Forward) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		if f.Address.IsValid() {
			out[netip.AddrPortFrom(fip, f.Port).String()] = netip.AddrPortFrom(f.Address, f.TargetPort).String()
		}
	}
	return out
}

// SortForwards sorts forwards by protocol, then port.
func SortForwards(fs []Forward) {
	slices.SortFunc(fs, func(a, b Forward) int {
		if a.Protocol != b.Protocol {
			return strings.Compare(a.Protocol, b.Protocol)
		}
		return int(a.Port) - int(b.Port)
	})
}
