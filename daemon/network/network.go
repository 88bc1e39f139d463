// Package network validates network definitions and maps them to and from
// the external_ids of their OVN Logical_Switch (Northbound is the only store).
package network

import (
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// Defaults.
const (
	DefaultMTU = 1400 // leaves room for Geneve on a 1500-byte underlay
	MinMTU     = 576
	MaxMTU     = 9000
	// DefaultDNSDomain is the domain of a network's names when none is given.
	DefaultDNSDomain = "quantix.local"
	// DefaultLeaseTime is the DHCP lease time, in seconds.
	DefaultLeaseTime = 3600
	MinLeaseTime     = 5
	MaxLeaseTime     = 365 * 24 * 3600
)

var (
	nameRE   = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)
	domainRE = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
)

// Spec is a validated network.
type Spec struct {
	Name      string
	Subnet4   netip.Prefix
	Gateway4  netip.Addr
	Subnet6   netip.Prefix
	Gateway6  netip.Addr
	MTU       int
	DNSDomain string
	Range4    ipam.Range // allocation range (zero: the whole subnet)
	Range6    ipam.Range
	Exclude   []ipam.Range // never handed out
	// DHCP and DNS.
	LeaseTime  int          // seconds
	DNSServers []netip.Addr // handed out by DHCP and CNI; none: the network's resolver
	NTPServers []netip.Addr // IPv4, DHCP option 42
	Routes     []Route      // IPv4 classless static routes (DHCP option 121), besides the default route
	Upstream   []string     // DNS servers ("IP" or "IP:PORT") the resolver forwards other names to; none: the daemon's
	// External (provider) network: a localnet port on Physnet (VLAN: its
	// tag, 0 untagged); Gateway4/6 are the physical network's router, and
	// Range4 is where floating IPs and router gateway addresses come from.
	// It gets no services (DHCP, router, resolver, DNS).
	External bool
	Physnet  string
	VLAN     int
}

// Route is a static route handed out by DHCP.
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

func (r Route) String() string { return r.Dst.String() + "=" + r.Via.String() }

// Input is a network as a user writes it (strings, optional fields).
type Input struct {
	Name, Subnet4, Gateway4, Subnet6, Gateway6, DNSDomain string
	MTU                                                   int
	Range4, Range6                                        string   // "FIRST-LAST"
	Exclude                                               []string // "FIRST-LAST" or one address
	LeaseTime                                             int
	DNSServers, NTPServers                                []string // addresses
	Routes                                                []string // "CIDR=GATEWAY"
	Upstream                                              []string // "IP" or "IP:PORT"
	External                                              bool
	Physnet                                               string
	VLAN                                                  int
	FIPRange                                              string // external networks: "FIRST-LAST", the same as Range4
}

// ParseRange parses "FIRST-LAST" (or one address) for field.
func ParseRange(field, s string) (ipam.Range, error) {
	first, last, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		last = first
	}
	f, err1 := netip.ParseAddr(strings.TrimSpace(first))
	l, err2 := netip.ParseAddr(strings.TrimSpace(last))
	if err1 != nil || err2 != nil || f.Is4() != l.Is4() || l.Less(f) {
		return ipam.Range{}, fmt.Errorf("%s: %q is not FIRST-LAST (two addresses of one family, FIRST <= LAST) or one address", field, s)
	}
	return ipam.Range{First: f, Last: l}, nil
}

// ValidateName checks a network name.
func ValidateName(name string) error {
	if name == "" {
		return invalid(fmt.Errorf("network: name is required"))
	}
	if !nameRE.MatchString(name) {
		return invalid(fmt.Errorf("network: name %q is invalid: use 1-32 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit", name))
	}
	return nil
}

// Parse validates in and fills defaults (gateway = first host, MTU 1400).
// Its errors are of kind errs.Invalid.
func Parse(in Input) (Spec, error) {
	s := Spec{Name: in.Name, MTU: in.MTU, DNSDomain: strings.ToLower(in.DNSDomain), LeaseTime: in.LeaseTime}
	if err := ValidateName(in.Name); err != nil {
		return s, err
	}
	for _, step := range []func(*Spec, Input) error{(*Spec).parseExternal, (*Spec).parseSubnets, (*Spec).parseRanges, (*Spec).parseSettings, (*Spec).parseServices} {
		if err := step(&s, in); err != nil {
			return s, invalid(err)
		}
	}
	return s, nil
}

var physnetRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// parseExternal: an external network's physnet, VLAN and floating IP range
// (which is its IPv4 allocation range).
func (s *Spec) parseExternal(in Input) error {
	s.External, s.Physnet, s.VLAN = in.External, in.Physnet, in.VLAN
	if !in.External {
		for field, set := range map[string]bool{"physnet": in.Physnet != "", "vlan": in.VLAN != 0, "fip_range": in.FIPRange != ""} {
			if set {
				return fmt.Errorf("%s: only for an external network (--external)", field)
			}
		}
		return nil
	}
	switch {
	case in.Physnet == "":
		return fmt.Errorf("physnet: required for an external network (the physical network the chassis map in ovn-bridge-mappings, e.g. physnet1)")
	case !physnetRE.MatchString(in.Physnet):
		return fmt.Errorf("physnet: %q is invalid: use 1-64 letters, digits, '.', '_' or '-'", in.Physnet)
	case in.VLAN < 0 || in.VLAN > 4094:
		return fmt.Errorf("vlan: %d is out of range 1-4094 (0: untagged)", in.VLAN)
	case in.Subnet4 == "":
		return fmt.Errorf("subnet4: required for an external network (floating IPs and router gateways are IPv4)")
	case in.FIPRange != "" && in.Range4 != "" && in.FIPRange != in.Range4:
		return fmt.Errorf("fip_range: %s differs from range4 %s (on an external network they are one range)", in.FIPRange, in.Range4)
	}
	return nil
}

// parseSubnets: the subnets and their gateways.
func (s *Spec) parseSubnets(in Input) error {
	if in.Subnet4 == "" && in.Subnet6 == "" {
		return fmt.Errorf("network %q: subnet4 or subnet6 is required", in.Name)
	}
	var err error
	if in.Subnet4 != "" {
		if s.Subnet4, err = ipam.ParseSubnet("subnet4", in.Subnet4); err != nil {
			return err
		}
		if !s.Subnet4.Addr().Is4() {
			return fmt.Errorf("subnet4: %s is not an IPv4 subnet", in.Subnet4)
		}
		s.Gateway4 = ipam.DefaultGateway(s.Subnet4)
		if in.Gateway4 != "" {
			if s.Gateway4, err = ipam.ParseGateway("gateway4", in.Gateway4, s.Subnet4); err != nil {
				return err
			}
		}
	} else if in.Gateway4 != "" {
		return fmt.Errorf("gateway4: given without subnet4")
	}
	if in.Subnet6 != "" {
		if s.Subnet6, err = ipam.ParseSubnet("subnet6", in.Subnet6); err != nil {
			return err
		}
		if !s.Subnet6.Addr().Is6() {
			return fmt.Errorf("subnet6: %s is not an IPv6 subnet", in.Subnet6)
		}
		s.Gateway6 = ipam.DefaultGateway(s.Subnet6)
		if in.Gateway6 != "" {
			if s.Gateway6, err = ipam.ParseGateway("gateway6", in.Gateway6, s.Subnet6); err != nil {
				return err
			}
		}
	} else if in.Gateway6 != "" {
		return fmt.Errorf("gateway6: given without subnet6")
	}
	return nil
}

// parseRanges: the allocation ranges and exclusions, checked by building
// the pools.
func (s *Spec) parseRanges(in Input) error {
	for _, r := range []struct {
		field, in string
		subnet    netip.Prefix
		out       *ipam.Range
	}{{"range4", in.Range4, s.Subnet4, &s.Range4}, {"fip_range", in.FIPRange, s.Subnet4, &s.Range4}, {"range6", in.Range6, s.Subnet6, &s.Range6}} {
		if r.in == "" {
			continue
		}
		rg, err := ParseRange(r.field, r.in)
		if err != nil {
			return err
		}
		if !r.subnet.IsValid() || !r.subnet.Contains(rg.First) || !r.subnet.Contains(rg.Last) {
			return fmt.Errorf("%s: %s is not inside the network's subnet (%s)", r.field, rg, r.subnet)
		}
		*r.out = rg
	}
	for _, e := range in.Exclude {
		rg, err := ParseRange("exclude", e)
		if err != nil {
			return err
		}
		if !(s.Subnet4.IsValid() && s.Subnet4.Contains(rg.First) && s.Subnet4.Contains(rg.Last)) &&
			!(s.Subnet6.IsValid() && s.Subnet6.Contains(rg.First) && s.Subnet6.Contains(rg.Last)) {
			return fmt.Errorf("exclude: %s is not inside a subnet of the network", rg)
		}
		s.Exclude = append(s.Exclude, rg)
	}
	for _, p := range []ipam.PoolConfig{s.Pool4(), s.Pool6()} {
		if !p.Subnet.IsValid() {
			continue
		}
		if _, err := ipam.NewPool(p); err != nil {
			return fmt.Errorf("network %q: %w", in.Name, err)
		}
	}
	return nil
}

// parseSettings: the MTU, DNS domain and lease time, with their defaults.
func (s *Spec) parseSettings(Input) error {
	if s.MTU == 0 {
		s.MTU = DefaultMTU
	}
	if s.MTU < MinMTU || s.MTU > MaxMTU {
		return fmt.Errorf("mtu: %d is out of range %d-%d", s.MTU, MinMTU, MaxMTU)
	}
	if s.DNSDomain == "" {
		s.DNSDomain = DefaultDNSDomain
	}
	if len(s.DNSDomain) > 200 || !domainRE.MatchString(s.DNSDomain) {
		return fmt.Errorf("dns_domain: %q is not a valid domain name", s.DNSDomain)
	}
	if s.LeaseTime == 0 {
		s.LeaseTime = DefaultLeaseTime
	}
	if s.LeaseTime < MinLeaseTime || s.LeaseTime > MaxLeaseTime {
		return fmt.Errorf("lease_time: %d s is out of range %d-%d", s.LeaseTime, MinLeaseTime, MaxLeaseTime)
	}
	return nil
}

// parseServices: what DHCP and the resolver hand out (DNS and NTP servers,
// routes, upstream DNS servers).
func (s *Spec) parseServices(in Input) error {
	var err error
	if s.DNSServers, err = parseAddrs("dns_servers", in.DNSServers, false); err != nil {
		return err
	}
	if s.NTPServers, err = parseAddrs("ntp_servers", in.NTPServers, true); err != nil {
		return err
	}
	for _, r := range in.Routes {
		dst, via, ok := strings.Cut(strings.TrimSpace(r), "=")
		p, err1 := netip.ParsePrefix(strings.TrimSpace(dst))
		gw, err2 := netip.ParseAddr(strings.TrimSpace(via))
		switch {
		case !ok || err1 != nil || err2 != nil:
			return fmt.Errorf("routes: %q is not CIDR=GATEWAY (e.g. 192.168.10.0/24=10.0.0.254)", r)
		case !p.Addr().Is4() || !gw.Is4():
			return fmt.Errorf("routes: %q: DHCP routes are IPv4 (IPv6 routes come by router advertisements)", r)
		case p != p.Masked():
			return fmt.Errorf("routes: %q: the destination has host bits set (did you mean %s?)", r, p.Masked())
		case !s.Subnet4.IsValid() || !s.Subnet4.Contains(gw):
			return fmt.Errorf("routes: %q: the gateway %s is not in the network's IPv4 subnet", r, gw)
		}
		s.Routes = append(s.Routes, Route{Dst: p, Via: gw})
	}
	for _, u := range in.Upstream {
		u = strings.TrimSpace(u)
		hp := u
		if _, err := netip.ParseAddr(u); err == nil {
			hp = net.JoinHostPort(u, "53")
		}
		ap, err := netip.ParseAddrPort(hp)
		if err != nil || ap.Port() == 0 {
			return fmt.Errorf("dns_upstream: %q is not IP or IP:PORT", u)
		}
		s.Upstream = append(s.Upstream, ap.String())
	}
	return nil
}

// invalidError is an error of Parse: of kind errs.Invalid, with the text
// and the chain of the error it wraps.
type invalidError struct{ err error }

func (e *invalidError) Error() string   { return e.err.Error() }
func (e *invalidError) Unwrap() []error { return []error{e.err, errs.Invalid} }

func invalid(err error) error { return &invalidError{err} }

func parseAddrs(field string, in []string, v4only bool) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range in {
		ip, err := netip.ParseAddr(strings.TrimSpace(a))
		if err != nil || ip.Zone() != "" {
			return nil, fmt.Errorf("%s: %q is not an IP address", field, a)
		}
		if v4only && !ip.Is4() {
			return nil, fmt.Errorf("%s: %s: only IPv4 addresses (DHCPv4 option)", field, ip)
		}
		out = append(out, ip)
	}
	return out, nil
}

// ExternalIDs is how s is stored on its Logical_Switch.
func (s Spec) ExternalIDs() map[string]string {
	ids := map[string]string{keys.Network: s.Name, keys.MTU: strconv.Itoa(s.MTU)}
	if s.Subnet4.IsValid() {
		ids[keys.Subnet4] = s.Subnet4.String()
		ids[keys.Gateway4] = s.Gateway4.String()
	}
	if s.Subnet6.IsValid() {
		ids[keys.Subnet6] = s.Subnet6.String()
		ids[keys.Gateway6] = s.Gateway6.String()
	}
	if s.DNSDomain != "" {
		ids[keys.DNSDomain] = s.DNSDomain
	}
	ids[keys.LeaseTime] = strconv.Itoa(s.LeaseTime)
	for key, list := range map[string][]string{
		keys.DNSServers: addrStrings(s.DNSServers), keys.NTPServers: addrStrings(s.NTPServers),
		keys.Routes: routeStrings(s.Routes), keys.DNSUpstream: s.Upstream,
	} {
		if len(list) > 0 {
			ids[key] = strings.Join(list, ",")
		}
	}
	if s.Range4.First.IsValid() {
		ids[keys.Range4] = s.Range4.String()
	}
	if s.External {
		ids[keys.External], ids[keys.Physnet] = "true", s.Physnet
		if s.VLAN != 0 {
			ids[keys.VLAN] = strconv.Itoa(s.VLAN)
		}
	}
	if s.Range6.First.IsValid() {
		ids[keys.Range6] = s.Range6.String()
	}
	if len(s.Exclude) > 0 {
		ex := make([]string, len(s.Exclude))
		for i, r := range s.Exclude {
			ex[i] = r.String()
		}
		ids[keys.Exclude] = strings.Join(ex, ",")
	}
	return ids
}

func addrStrings(as []netip.Addr) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.String()
	}
	return out
}

func routeStrings(rs []Route) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.String()
	}
	return out
}

// Input returns s as an Input (for a change of some of its fields).
func (s Spec) Input() Input {
	in := Input{Name: s.Name, DNSDomain: s.DNSDomain, MTU: s.MTU, LeaseTime: s.LeaseTime,
		DNSServers: addrStrings(s.DNSServers), NTPServers: addrStrings(s.NTPServers), Routes: routeStrings(s.Routes),
		Upstream: s.Upstream, External: s.External, Physnet: s.Physnet, VLAN: s.VLAN}
	if s.Subnet4.IsValid() {
		in.Subnet4, in.Gateway4 = s.Subnet4.String(), s.Gateway4.String()
	}
	if s.Subnet6.IsValid() {
		in.Subnet6, in.Gateway6 = s.Subnet6.String(), s.Gateway6.String()
	}
	if s.Range4.First.IsValid() {
		in.Range4 = s.Range4.String()
	}
	if s.Range6.First.IsValid() {
		in.Range6 = s.Range6.String()
	}
	for _, r := range s.Exclude {
		in.Exclude = append(in.Exclude, r.String())
	}
	return in
}

// Pool4 is the IPv4 allocation pool's configuration (zero Subnet: none).
func (s Spec) Pool4() ipam.PoolConfig {
	return ipam.PoolConfig{Subnet: s.Subnet4, Gateway: s.Gateway4, Range: s.Range4, Exclude: s.excluded(true)}
}

// Pool6 is the IPv6 allocation pool's configuration (zero Subnet: none).
func (s Spec) Pool6() ipam.PoolConfig {
	return ipam.PoolConfig{Subnet: s.Subnet6, Gateway: s.Gateway6, Range: s.Range6, Exclude: s.excluded(false)}
}

func (s Spec) excluded(v4 bool) []ipam.Range {
	var out []ipam.Range
	for _, r := range s.Exclude {
		if r.First.Is4() == v4 {
			out = append(out, r)
		}
	}
	return out
}

// Label turns a name (a VM's domain name, a pod's name) into a DNS label:
// lower case, characters other than a-z 0-9 '-' become '-', at most 63
// characters, no '-' at either end; "" when nothing is left.
func Label(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	l := b.String()
	if len(l) > 63 {
		l = l[:63]
	}
	return strings.Trim(l, "-")
}
