// Package lb is the pure half of QuantumNet's L4 load balancers: names,
// validation of VIPs, listeners, members and health checks, and the
// Northbound column values they turn into (vips, ip_port_mappings, health
// check options). It links no OVSDB client; its Northbound store is to be
// daemon/lb/nbstore.
//
// A load balancer is one OVN Load_Balancer, qn-lb-<name>, with one vips
// entry per listener: the row is the load balancer's record (its
// external_ids, IDs/FromIDs), so a load balancer without listeners exists
// too and every change is one update of one row. It is attached to the
// network's switch and to the router the network's gateway port is on.
//
// Members may be ports of the load balancer's network or of any network
// routed to it through the same router: the row is also attached to the
// switches of those networks, so that their clients are balanced on their
// own switch (distributed), and the VIP may be on a floating IP of the
// router's gateway network too (FIP:PORT vips on the same row).
//
// Health probes come from an address of the network reserved with the VIP
// (same owner "lb:<name>"): IPAM never hands it to a port while the load
// balancer exists. (Not the gateway address: the backends would resolve it
// to the router, and the probe answers would never reach ovn-controller.)
// Members on another network are probed from an address reserved the same
// way on that network (Sources), released when its last member leaves.
package lb

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)

// ValidateName checks a load balancer name (like a network name).
func ValidateName(name string) error {
	if name == "" {
		return errs.New(errs.Invalid, "lb: name is required")
	}
	if !nameRE.MatchString(name) {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: name %q is invalid: use 1-32 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit", name))
	}
	return nil
}

// Protocols OVN's Load_Balancer accepts.
var Protocols = []string{"tcp", "udp", "sctp"}

// ValidateProtocol checks the protocol ("" means tcp) and returns it.
func ValidateProtocol(p string) (string, error) {
	if p == "" {
		return "tcp", nil
	}
	p = strings.ToLower(p)
	if !slices.Contains(Protocols, p) {
		return "", errs.New(errs.Invalid, fmt.Sprintf("lb: protocol %q is invalid: use tcp, udp or sctp", p))
	}
	return p, nil
}

// LoadBalancer is a load balancer as stored.
type LoadBalancer struct {
	Name        string
	Network     string
	VIP         netip.Addr
	Source      netip.Addr // health probes' source: an address IPAM reserved for it
	Protocol    string
	Listeners   []Listener // sorted by port
	Members     []Member
	HealthCheck *HealthCheck // nil: none
	// Sources are the probes' source addresses on the members' other
	// networks (network -> address reserved there, owner "lb:<name>").
	Sources  map[string]netip.Addr
	FIP      netip.Addr // a floating IP the listeners are also on (zero: none)
	Affinity int        // session affinity timeout, seconds (0: none)
}

// Listener is one port of the VIP and the port of the members it goes to.
type Listener struct {
	Port       int
	MemberPort int
	Name       string // SRV service name; "": the port number
}

// Member is a backend: a logical port (its IPv4 address is looked up
// and follows it) or a fixed address.
type Member struct {
	Port    string     // logical port name, or ""
	Address netip.Addr // fixed address when Port is ""
	Enabled bool
	Health  string // online | offline | unknown (from Service_Monitor)
	// Read-only, filled when read: the member port's network and the
	// address it is reached at now (zero: none).
	Network  string
	Resolved netip.Addr
}

// ID is how the member is named: its port or its address.
func (m Member) ID() string {
	if m.Port != "" {
		return m.Port
	}
	return m.Address.String()
}

// HealthCheck are the options of OVN's Load_Balancer_Health_Check.
type HealthCheck struct {
	Interval int // seconds between probes
	Timeout  int // seconds to wait for an answer
	Success  int // answers to be online
	Failure  int // failures to be offline
}

// Options is the health check's options column.
func (h *HealthCheck) Options() map[string]string {
	return map[string]string{
		"interval":      strconv.Itoa(h.Interval),
		"timeout":       strconv.Itoa(h.Timeout),
		"success_count": strconv.Itoa(h.Success),
		"failure_count": strconv.Itoa(h.Failure),
	}
}

// ValidateHealthCheck checks h for a load balancer of protocol proto.
// OVN's service monitor (ovn-controller) probes TCP (a connection attempt)
// and UDP (a datagram; offline on an ICMP port unreachable); it has no
// SCTP probe, so a health check on an SCTP load balancer is refused.
func ValidateHealthCheck(h *HealthCheck, proto string) error {
	if proto == "sctp" {
		return errs.New(errs.Invalid, "lb: health-check: OVN's service monitor probes only tcp and udp, not sctp")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"interval", h.Interval}, {"timeout", h.Timeout}, {"success", h.Success}, {"failure", h.Failure}} {
		if f.v < 1 || f.v > 3600 {
			return errs.New(errs.Invalid, fmt.Sprintf("lb: health-check %s %d is out of range 1-3600", f.name, f.v))
		}
	}
	if h.Timeout > h.Interval {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: health-check timeout %d is longer than the interval %d", h.Timeout, h.Interval))
	}
	return nil
}

// ValidateVIP checks that vip is an address of one of the network's
// subnets and is not the subnet's network, broadcast or gateway address.
func ValidateVIP(vip netip.Addr, subnets []netip.Prefix, gateways []netip.Addr) error {
	if !vip.IsValid() {
		return errs.New(errs.Invalid, "lb: vip is required")
	}
	if slices.Contains(gateways, vip) {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: vip %s is the network's gateway address", vip))
	}
	for _, s := range subnets {
		if s.Contains(vip) {
			if vip == s.Masked().Addr() {
				return errs.New(errs.Invalid, fmt.Sprintf("lb: vip %s is the network address of %s", vip, s))
			}
			return nil
		}
	}
	return errs.New(errs.Invalid, fmt.Sprintf("lb: vip %s is outside every subnet of the network", vip))
}

// ValidateListener checks a new listener against the existing ones.
func ValidateListener(l Listener, existing []Listener) error {
	if l.Port < 1 || l.Port > 65535 {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: listener port %d is out of range 1-65535", l.Port))
	}
	if l.MemberPort < 1 || l.MemberPort > 65535 {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: listener member-port %d is out of range 1-65535", l.MemberPort))
	}
	if err := ValidateListenerName(l.Name); err != nil {
		return err
	}
	for _, e := range existing {
		if e.Port == l.Port {
			return errs.New(errs.Conflict, fmt.Sprintf("lb: listener port %d exists already", l.Port))
		}
		if e.ListenerName() == l.ListenerName() {
			return errs.New(errs.Conflict, fmt.Sprintf("lb: listener name %q is taken by the listener on port %d", l.ListenerName(), e.Port))
		}
	}
	return nil
}

// MaxAffinity is the longest affinity timeout OVN accepts (seconds).
const MaxAffinity = 65535

// ValidateAffinity checks a session affinity timeout (0: none).
func ValidateAffinity(seconds int) error {
	if seconds < 0 || seconds > MaxAffinity {
		return errs.New(errs.Invalid, fmt.Sprintf("lb: affinity-timeout %d is out of range 0-%d seconds", seconds, MaxAffinity))
	}
	return nil
}

// ValidateWeight checks a member weight: OVN 23.03's Load_Balancer spreads
// connections evenly over its backends (an OpenFlow select group with
// equal buckets), so there is no faithful weight but 1 (0: the default).
func ValidateWeight(w int) error {
	if w == 0 || w == 1 {
		return nil
	}
	return errs.New(errs.Invalid, fmt.Sprintf("lb: member weight %d: OVN 23.03 load balancers have no member weights; only 1 is supported", w))
}

// Options is the Load_Balancer options column of l (affinity_timeout).
func (l *LoadBalancer) Options() map[string]string {
	if l.Affinity > 0 {
		return map[string]string{"affinity_timeout": strconv.Itoa(l.Affinity)}
	}
	return map[string]string{}
}

// VIPAddrs are the addresses the listeners are on: the VIP, and the
// floating IP if any.
func (l *LoadBalancer) VIPAddrs() []netip.Addr {
	if l.FIP.IsValid() {
		return []netip.Addr{l.VIP, l.FIP}
	}
	return []netip.Addr{l.VIP}
}

// SourceFor is the probes' source address for a member on network
// (zero: none reserved there).
func (l *LoadBalancer) SourceFor(network string) netip.Addr {
	if network == "" || network == l.Network {
		return l.Source
	}
	return l.Sources[network]
}

// ParseMember reads a member argument: an IP address or a port name.
func ParseMember(s string) (Member, error) {
	if s == "" {
		return Member{}, errs.New(errs.Invalid, "lb: member is required")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return Member{Address: a, Enabled: true}, nil
	}
	if strings.ContainsAny(s, " ,:=") {
		return Member{}, errs.New(errs.Invalid, fmt.Sprintf("lb: member %q is neither an address nor a port name", s))
	}
	return Member{Port: s, Enabled: true}, nil
}

// Owner is the IPAM reservation owner of the VIP.
func Owner(name string) string { return "lb:" + name }

// Resolve gives a member's current address (ok false: unknown now).
type Resolve func(Member) (netip.Addr, bool)

// Backends lists the addresses of the enabled members that resolve.
func Backends(members []Member, resolve Resolve) []netip.Addr {
	var out []netip.Addr
	for _, m := range members {
		if !m.Enabled {
			continue
		}
		a, ok := resolve(m)
		if ok && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return out
}

// VIPs is the vips column of listener l's Load_Balancer:
// "VIP:PORT" → "B1:MPORT,B2:MPORT" (empty when no member is enabled).
func VIPs(vip netip.Addr, l Listener, backends []netip.Addr) map[string]string {
	parts := make([]string, len(backends))
	for i, b := range backends {
		parts[i] = netip.AddrPortFrom(b, uint16(l.MemberPort)).String()
	}
	return map[string]string{netip.AddrPortFrom(vip, uint16(l.Port)).String(): strings.Join(parts, ",")}
}

// IPPortMappings is the ip_port_mappings column the health check needs:
// BACKEND_IP → "LSP:SOURCE_IP" for each member on a logical port, probed
// from source(member) (members by address have no port to probe through,
// so they are not monitored; nor is a member without a source). IPv6
// addresses are written in brackets, as ovn-northd reads them.
func IPPortMappings(members []Member, resolve Resolve, source func(Member) netip.Addr) map[string]string {
	out := map[string]string{}
	for _, m := range members {
		if m.Port == "" {
			continue
		}
		a, ok := resolve(m)
		src := source(m)
		if ok && src.IsValid() {
			out[bracket(a)] = m.Port + ":" + bracket(src)
		}
	}
	return out
}

func bracket(a netip.Addr) string {
	if a.Is6() {
		return "[" + a.String() + "]"
	}
	return a.String()
}

// FindMember returns the index of the member named id (port or address).
func FindMember(members []Member, id string) int {
	return slices.IndexFunc(members, func(m Member) bool { return m.ID() == id })
}
