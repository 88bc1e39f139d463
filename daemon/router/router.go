// Package router is the pure half of QuantumNet's routers and floating
// IPs: names, validation of routes and attachments (overlapping subnets),
// the typed views the store returns, the gateway chassis priorities and
// the generated MACs. Its Northbound store is daemon/router/nbstore.
//
// A router is an OVN Logical_Router qn-lr-<name>. Attaching a network moves
// the network's gateway port (qn-rp-<network>, which netsvc creates on the
// network's own router qn-r-<network>) onto it; its gateway on an external
// network is a distributed gateway port qn-lrg-<name> scheduled by the
// HA_Chassis_Group qn-ha-<name> on the chassis that map the physnet.
package router

import (
	"cmp"
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/errs"
)

var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9_-]{0,30}[a-z0-9])?$`)

// ValidateName checks a router name (like a network name: 1-32 of a-z 0-9
// - _, starting and ending with a letter or digit).
func ValidateName(name string) error {
	if name == "" {
		return errs.New(errs.Invalid, "router: name is required")
	}
	if !nameRE.MatchString(name) {
		return errs.New(errs.Invalid, fmt.Sprintf("router: name %q is invalid: use 1-32 lower-case letters, digits, '-' or '_', starting and ending with a letter or digit", name))
	}
	return nil
}

// Router is a router as stored.
type Router struct {
	Name     string
	UUID     string
	Networks []string // attached networks, sorted
	Routes   []Route  // user static routes
	Gateway  *Gateway // nil: none
}

// Gateway is a router's gateway on an external network.
type Gateway struct {
	Network string
	Addrs   []netip.Prefix // the router's addresses on it
	SNAT    bool
	Chassis []Chassis // the HA group, highest priority first
	Active  string    // where the gateway port is bound now ("" unknown)
}

// Chassis is a member of a gateway's HA group.
type Chassis struct {
	Name     string
	Priority int
}

// Addr4 is the gateway's IPv4 address (zero if none).
func (g *Gateway) Addr4() netip.Addr {
	for _, a := range g.Addrs {
		if a.Addr().Is4() {
			return a.Addr()
		}
	}
	return netip.Addr{}
}

// Route is a static route.
type Route struct {
	Prefix  netip.Prefix
	Nexthop netip.Addr
}

func (r Route) String() string { return r.Prefix.String() + " via " + r.Nexthop.String() }

// ParseRoute validates a static route: a CIDR without host bits and a
// nexthop of the same family.
func ParseRoute(prefix, nexthop string) (Route, error) {
	p, err := ParsePrefix(prefix)
	if err != nil {
		return Route{}, err
	}
	nh, err := netip.ParseAddr(strings.TrimSpace(nexthop))
	if err != nil || nh.Zone() != "" {
		return Route{}, errs.New(errs.Invalid, fmt.Sprintf("nexthop: %q is not an IP address", nexthop))
	}
	if nh.Is4() != p.Addr().Is4() {
		return Route{}, errs.New(errs.Invalid, fmt.Sprintf("nexthop: %s is not of the family of prefix %s", nh, p))
	}
	return Route{Prefix: p, Nexthop: nh}, nil
}

// ParsePrefix validates a route's destination: a CIDR without host bits.
func ParsePrefix(prefix string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(strings.TrimSpace(prefix))
	if err != nil {
		return p, errs.New(errs.Invalid, fmt.Sprintf("prefix: %q is not a CIDR (e.g. 192.168.10.0/24)", prefix))
	}
	if p != p.Masked() {
		return p, errs.New(errs.Invalid, fmt.Sprintf("prefix: %s has host bits set (did you mean %s?)", p, p.Masked()))
	}
	return p, nil
}

// Subnets are a network's subnets, for the overlap check.
type Subnets struct {
	Network string
	Nets    []netip.Prefix
}

// Overlap returns an error of kind errs.Invalid naming both networks when
// n overlaps one of others (the networks on one router).
func Overlap(router string, n Subnets, others []Subnets) error {
	for _, o := range others {
		for _, a := range n.Nets {
			for _, b := range o.Nets {
				if a.IsValid() && b.IsValid() && a.Overlaps(b) {
					return errs.New(errs.Invalid, fmt.Sprintf("network %s (%s) overlaps network %s (%s) on router %s",
						n.Network, a, o.Network, b, router))
				}
			}
		}
	}
	return nil
}

// FloatingIP is a floating IP as stored.
type FloatingIP struct {
	Address     netip.Addr
	Network     string     // the external network
	Port        string     // associated logical port ("": none)
	FixedIP     netip.Addr // the port's address it maps to
	Router      string     // the router whose NAT carries it
	Distributed bool       // NAT at the port's chassis
	UUID        string     // of its reservation row
	Forwards    []Forward  // its port forwards, by protocol and port
	// LoadBalancers are the load balancers whose listeners are on it.
	LoadBalancers []string
}

// MaxPriority is the highest HA_Chassis priority.
const MaxPriority = 32767

// Priorities gives the chassis that map a gateway's physnet their HA
// priorities: the members of cur keep theirs (a chassis appearing never
// takes the gateway over); new ones, sorted by name, come below the lowest
// (from MaxPriority down for a new group). Deterministic: every daemon
// computes the same.
func Priorities(cur map[string]int, want []string) map[string]int {
	out := map[string]int{}
	low := MaxPriority + 1
	for _, p := range cur {
		low = min(low, p)
	}
	var add []string
	for _, name := range want {
		if p, ok := cur[name]; ok {
			out[name] = p
		} else if !slices.Contains(add, name) {
			add = append(add, name)
		}
	}
	slices.Sort(add)
	for _, name := range add {
		low = max(low-1, 0)
		out[name] = low
	}
	return out
}

// SortChassis sorts members highest priority first, then by name.
func SortChassis(cs []Chassis) {
	slices.SortFunc(cs, func(a, b Chassis) int {
		return cmp.Or(cmp.Compare(b.Priority, a.Priority), strings.Compare(a.Name, b.Name))
	})
}

// GatewayMAC is the MAC of a router's gateway port: fixed per router,
// locally administered.
func GatewayMAC(router string) string {
	h := sha256.Sum256([]byte("quantumnet-gateway:" + router))
	return net.HardwareAddr{0x0a, 0x51, 0x47, h[0], h[1], h[2]}.String()
}

// FloatingMAC is the external MAC of a distributed floating IP: under the
// daemon's MAC prefix, fixed per address.
func FloatingMAC(prefix [3]byte, fip netip.Addr) string {
	h := sha256.Sum256([]byte("quantumnet-fip:" + fip.String()))
	return net.HardwareAddr{prefix[0], prefix[1], prefix[2], h[0], h[1], h[2]}.String()
}
