// Package netsvc runs a network's own services: native OVN DHCPv4 and
// DHCPv6 (DHCP_Options rows every port refers to), router advertisements and
// the gateway (a logical router per network), and "magic DNS" — every named
// port is <name>.<network domain>, answered by OVN native DNS (the network's
// DNS row) for the queries it can answer, and by QuantumNet's resolver on a
// localport of the network for everything, EDNS included. All of it lives
// in Northbound, built from the network's Logical_Switch and its ports; the
// resolver's endpoint exists on every chassis (a localport answers only its
// own chassis' ports).
//
// This file holds the pure part: names, MACs and option maps.
package netsvc

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
)

// Names of a network's service rows.
func RouterName(network string) string     { return "qn-r-" + network }
func RouterPortName(network string) string { return "qn-rp-" + network }
func RouterLSPName(network string) string  { return "qn-rs-" + network }
func ResolverName(network string) string   { return "qn-dns-" + network }

func hashMAC(tag, network string) net.HardwareAddr {
	h := sha256.Sum256([]byte(tag + network))
	return []byte{0x0a, 0x51, 0x4f, h[0], h[1], h[2]}
}

// RouterMAC is the MAC of the network's gateway, which is also the source
// of its DHCP answers: fixed per network, locally administered.
func RouterMAC(network string) string { return hashMAC("quantumnet-dhcp:", network).String() }

// ResolverMAC is the MAC of the network's resolver localport.
func ResolverMAC(network string) string {
	m := hashMAC("quantumnet-dns:", network)
	m[2] = 0x50
	return m.String()
}

// Resolvers are a network's resolver addresses (one per family, either may
// be missing).
type Resolvers = network.Resolvers

// DNSServers are the servers clients are told to use: the network's own
// dns_servers if set, else its resolvers, else (no room for a resolver) the
// gateway, where OVN native DNS answers plain queries.
func DNSServers(spec network.Spec, r Resolvers) (v4, v6 []netip.Addr) {
	if len(spec.DNSServers) > 0 {
		for _, a := range spec.DNSServers {
			if a.Is4() {
				v4 = append(v4, a)
			} else {
				v6 = append(v6, a)
			}
		}
		return v4, v6
	}
	switch {
	case r.V4.IsValid():
		v4 = []netip.Addr{r.V4}
	case spec.Gateway4.IsValid():
		v4 = []netip.Addr{spec.Gateway4}
	}
	switch {
	case r.V6.IsValid():
		v6 = []netip.Addr{r.V6}
	case spec.Gateway6.IsValid():
		v6 = []netip.Addr{spec.Gateway6}
	}
	return v4, v6
}

func ovnSet(as []netip.Addr) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	if len(s) == 1 {
		return s[0]
	}
	return "{" + strings.Join(s, ", ") + "}"
}

// DHCPv4Options are the options of the network's DHCPv4 row (nil without
// an IPv4 subnet). The server is the gateway.
func DHCPv4Options(spec network.Spec, r Resolvers) map[string]string {
	if !spec.Subnet4.IsValid() {
		return nil
	}
	gw := spec.Gateway4.String()
	o := map[string]string{
		"server_id":   gw,
		"server_mac":  RouterMAC(spec.Name),
		"lease_time":  strconv.Itoa(spec.LeaseTime),
		"router":      gw,
		"mtu":         strconv.Itoa(spec.MTU),
		"domain_name": strconv.Quote(spec.DNSDomain),
	}
	if v4, _ := DNSServers(spec, r); len(v4) > 0 {
		o["dns_server"] = ovnSet(v4)
	}
	if len(spec.NTPServers) > 0 {
		o["ntp_server"] = ovnSet(spec.NTPServers)
	}
	if len(spec.Routes) > 0 {
		// With option 121 a client ignores the router option (RFC 3442):
		// the default route goes in too.
		var rs []string
		for _, rt := range spec.Routes {
			rs = append(rs, rt.Dst.String()+","+rt.Via.String())
		}
		rs = append(rs, "0.0.0.0/0,"+gw)
		o["classless_static_route"] = "{" + strings.Join(rs, ", ") + "}"
	}
	return o
}

// DHCPv6Options are the options of the network's DHCPv6 row (stateful: a
// port's address is its IPAM address), nil without an IPv6 subnet.
func DHCPv6Options(spec network.Spec, r Resolvers) map[string]string {
	if !spec.Subnet6.IsValid() {
		return nil
	}
	o := map[string]string{"server_id": RouterMAC(spec.Name)}
	// OVN 23.03 writes the domain search list as one DNS label holding the
	// whole string: right for "corp", malformed for "quantix.local" (clients
	// that check labels drop it). Only a one-label domain goes out.
	if !strings.Contains(spec.DNSDomain, ".") {
		o["domain_search"] = strconv.Quote(spec.DNSDomain)
	}
	if _, v6 := DNSServers(spec, r); len(v6) > 0 {
		o["dns_server"] = ovnSet(v6)
	}
	return o
}

// RAConfigs are the router port's ipv6_ra_configs: stateful DHCPv6 (the M
// flag), sent periodically, with the network's MTU.
func RAConfigs(spec network.Spec) map[string]string {
	if !spec.Subnet6.IsValid() {
		return nil
	}
	return map[string]string{
		"address_mode":      "dhcpv6_stateful",
		"send_periodic":     "true",
		"max_interval":      "30",
		"min_interval":      "10",
		"mtu":               strconv.Itoa(spec.MTU),
		"router_preference": "MEDIUM",
	}
}

// RouterNetworks are the router port's networks: the gateways with their
// prefix lengths.
func RouterNetworks(spec network.Spec) []string {
	var n []string
	if spec.Subnet4.IsValid() {
		n = append(n, netip.PrefixFrom(spec.Gateway4, spec.Subnet4.Bits()).String())
	}
	if spec.Subnet6.IsValid() {
		n = append(n, netip.PrefixFrom(spec.Gateway6, spec.Subnet6.Bits()).String())
	}
	return n
}

// ResolverCandidate is the address a network's resolver of one family
// asks for: the last free address of the allocation range (a broadcast
// address excluded), far from where workloads' addresses start.
func ResolverCandidate(cfg ipam.PoolConfig) netip.Addr {
	p, err := ipam.NewPool(cfg)
	if err != nil {
		return netip.Addr{}
	}
	a := p.LastAddr()
	for i := 0; i < 8 && p.State(a) != ipam.StateFree; i++ {
		a = a.Prev()
	}
	return a
}

// ReverseName is the PTR owner name of a ("4.3.2.1.in-addr.arpa" or the
// ip6.arpa nibble form), without a trailing dot.
func ReverseName(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		b := a.As4()
		return fmt.Sprintf("%d.%d.%d.%d.in-addr.arpa", b[3], b[2], b[1], b[0])
	}
	b := a.As16()
	var s []string
	for i := len(b) - 1; i >= 0; i-- {
		s = append(s, strconv.FormatUint(uint64(b[i]&0xf), 16), strconv.FormatUint(uint64(b[i]>>4), 16))
	}
	return strings.Join(s, ".") + ".ip6.arpa"
}

// Host is one named port's DNS data.
type Host struct {
	Label string
	Addrs []netip.Addr
}

// OVNRecords are the records of a network's DNS row: "<label>.<domain>" to
// its addresses, and each address's reverse name to "<label>.<domain>".
// Two ports with one label share the name (both addresses answer).
func OVNRecords(domain string, hosts []Host) map[string]string {
	out := map[string]string{}
	names := map[string][]string{}
	for _, h := range hosts {
		fq := h.Label + "." + domain
		for _, a := range h.Addrs {
			names[fq] = append(names[fq], a.String())
			out[ReverseName(a)] = fq
		}
	}
	for fq, as := range names {
		slices.Sort(as)
		out[fq] = strings.Join(slices.Compact(as), " ")
	}
	return out
}
