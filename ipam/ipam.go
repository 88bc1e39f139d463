// Package ipam validates subnets and hands out addresses and MACs. It does
// no I/O: the daemon feeds it what Northbound holds and commits its choices
// to Northbound.
package ipam

import (
	"crypto/rand"
	"fmt"
	"net"
	"net/netip"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

// ErrExhausted is returned when a subnet has no free address left.
var ErrExhausted = errs.New(errs.Exhausted, "no free address left")

// ErrUnavailable is returned for a requested address that cannot be given.
var ErrUnavailable = errs.New(errs.Conflict, "address not available")

// ParseSubnet parses a subnet CIDR for field, rejecting host bits and
// prefixes too small to hold a host besides the gateway.
func ParseSubnet(field, s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%s: %q is not a CIDR (e.g. 10.0.0.0/24): %v", field, s, err)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%s: %q has host bits set (did you mean %s?)", field, s, p.Masked())
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%s: %q is an IPv4-mapped IPv6 prefix", field, s)
	}
	if p.Addr().Is4() && p.Bits() > 29 || p.Addr().Is6() && p.Bits() > 125 {
		return netip.Prefix{}, fmt.Errorf("%s: %q is too small: it must hold a gateway and hosts (IPv4 at most /29, IPv6 at most /125)", field, s)
	}
	return p, nil
}

// DefaultGateway is the first usable address of p.
func DefaultGateway(p netip.Prefix) netip.Addr { return p.Addr().Next() }

// ParseGateway parses gw for field and checks it is a usable host address of p.
func ParseGateway(field, gw string, p netip.Prefix) (netip.Addr, error) {
	a, err := netip.ParseAddr(gw)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("%s: %q is not an IP address", field, gw)
	}
	if !p.Contains(a) {
		return netip.Addr{}, fmt.Errorf("%s: %s is outside subnet %s", field, a, p)
	}
	if a == p.Addr() || a.Is4() && a == lastAddr(p) {
		return netip.Addr{}, fmt.Errorf("%s: %s is the network or broadcast address of %s", field, a, p)
	}
	return a, nil
}

// lastAddr is the highest address of p (the IPv4 broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	b := p.Addr().AsSlice()
	bits := p.Bits()
	for i := range b {
		for j := 0; j < 8; j++ {
			if i*8+j >= bits {
				b[i] |= 0x80 >> j
			}
		}
	}
	a, _ := netip.AddrFromSlice(b)
	return a
}

// DefaultMACPrefix is the locally administered prefix of generated MACs.
var DefaultMACPrefix = [3]byte{0x0a, 0x51, 0x4e}

// MACTries is how many random MACs under a prefix a caller tries before it
// gives up with ErrMACSpace.
const MACTries = 64

// ErrMACSpace: no unique MAC was found under the prefix in MACTries tries.
var ErrMACSpace = errs.New(errs.Exhausted, "mac: no unique MAC found under the prefix")

// RandomMAC returns a random MAC under prefix (the caller checks that it
// is unique).
func RandomMAC(prefix [3]byte) (net.HardwareAddr, error) {
	m := make(net.HardwareAddr, 6)
	copy(m, prefix[:])
	if _, err := rand.Read(m[3:]); err != nil {
		return nil, err
	}
	return m, nil
}
