// Package bgp is quantumnetd's BGP speaker: an embedded GoBGP server
// (github.com/osrg/gobgp/v3) that tells the top-of-rack routers where the
// external addresses live. Routes is the pure half: from a view of the
// routers, floating IPs and port bindings it computes what this chassis
// announces; Speaker keeps GoBGP's table equal to it, at once when
// Northbound or Southbound changes and on a periodic full sync.
//
// A chassis announces, with its own external address (next_hop) as next
// hop: the floating IPs whose NAT is distributed to it (their port is
// bound here); and for the routers whose gateway port is active here (the
// Southbound binding of cr-<gateway port>): their gateway addresses, their
// centralized floating IPs and, without SNAT, their networks' subnets.
package bgp

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/quantumnet/quantumnet/daemon/router"
)

// Kinds of routes (api.BGPRoute.kind).
const (
	KindFIP    = "fip"
	KindRouter = "router"
	KindSubnet = "subnet"
)

// View is what the routes are computed from.
type View struct {
	Routers []router.Router
	FIPs    []router.FloatingIP
	// PortChassis is where each port is bound (Southbound), for the
	// distributed floating IPs' ports.
	PortChassis map[string]string
	// Subnets are each network's subnets.
	Subnets map[string][]netip.Prefix
	// Physnets are the external networks' physical networks (for the
	// kernel routes of expose_routes: physnet → bridge).
	Physnets map[string]string
}

// Route is one announcement.
type Route struct {
	Prefix  netip.Prefix
	NextHop netip.Addr
	Kind    string
	Reason  string
	// Network is the external network the prefix is reached through (its
	// physnet's bridge carries the kernel route of expose_routes).
	Network string
	// Via is, for a routed subnet, its router's gateway address of the
	// same family (the kernel route's gateway: OVN answers ARP/ND for that
	// address, not for the subnet's).
	Via netip.Addr
}

// Local is the chassis the routes are computed for.
type Local struct {
	Chassis  string
	NextHop  netip.Addr // IPv4 (invalid: no IPv4 routes)
	NextHop6 netip.Addr // IPv6 (invalid: no IPv6 routes)
}

// nextHop is the next hop for a prefix's family (invalid: not announced).
func (l Local) nextHop(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		return l.NextHop
	}
	return l.NextHop6
}

// Routes computes what chassis l announces, sorted by prefix; one route
// per prefix (the first reason wins).
func Routes(v View, l Local) []Route {
	active := map[string]*router.Gateway{} // router → its gateway, if active here
	var out []Route
	seen := map[netip.Prefix]bool{}
	add := func(r Route) {
		r.NextHop = l.nextHop(r.Prefix)
		if !r.NextHop.IsValid() || seen[r.Prefix] {
			return
		}
		seen[r.Prefix] = true
		out = append(out, r)
	}
	for _, r := range v.Routers {
		gw := r.Gateway
		if gw == nil || l.Chassis == "" || gw.Active != l.Chassis {
			continue
		}
		active[r.Name] = gw
		for _, a := range gw.Addrs {
			add(Route{Prefix: host(a.Addr()), Kind: KindRouter, Network: gw.Network, Reason: fmt.Sprintf("gateway address of router %s, active here", r.Name)})
		}
		if gw.SNAT {
			continue
		}
		for _, n := range r.Networks {
			for _, s := range v.Subnets[n] {
				add(Route{Prefix: s.Masked(), Kind: KindSubnet, Network: gw.Network, Via: gatewayAddr(gw, s.Addr().Is4()),
					Reason: fmt.Sprintf("network %s routed (no SNAT) by router %s, gateway active here", n, r.Name)})
			}
		}
	}
	for _, f := range v.FIPs {
		if reason := fipHere(f, v.PortChassis, active, l.Chassis); reason != "" {
			add(Route{Prefix: host(f.Address), Kind: KindFIP, Network: f.Network, Reason: reason})
		}
	}
	slices.SortFunc(out, func(a, b Route) int {
		if c := a.Prefix.Addr().Compare(b.Prefix.Addr()); c != 0 {
			return c
		}
		return cmp.Compare(a.Prefix.Bits(), b.Prefix.Bits())
	})
	return out
}

// fipHere says why the floating IP f is announced from chassis ("" : it
// is not): distributed to its port's chassis, else centralized on its
// router's active gateway (also when it carries only port forwards or
// load balancers' listeners).
func fipHere(f router.FloatingIP, ports map[string]string, active map[string]*router.Gateway, chassis string) string {
	if f.Router == "" || chassis == "" {
		return ""
	}
	if f.Port != "" && f.Distributed {
		if ports[f.Port] == chassis {
			return fmt.Sprintf("floating IP %s of port %s, distributed here", f.Address, f.Port)
		}
		return ""
	}
	if active[f.Router] == nil {
		return ""
	}
	switch {
	case f.Port != "":
		return fmt.Sprintf("floating IP %s of port %s, centralized on router %s's gateway, active here", f.Address, f.Port, f.Router)
	case len(f.Forwards) > 0 || len(f.LoadBalancers) > 0:
		return fmt.Sprintf("floating IP %s (port forwards, listeners) on router %s's gateway, active here", f.Address, f.Router)
	}
	return ""
}

// gatewayAddr is gw's address of the family (invalid: none).
func gatewayAddr(gw *router.Gateway, is4 bool) netip.Addr {
	for _, a := range gw.Addrs {
		if a.Addr().Unmap().Is4() == is4 {
			return a.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

// host is a's host prefix (/32 or /128).
func host(a netip.Addr) netip.Prefix { return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()) }

// Diff is what changes from announced to want: routes to add (new, or a
// new next hop) and prefixes to withdraw.
func Diff(announced map[netip.Prefix]Route, want []Route) (add []Route, withdraw []netip.Prefix) {
	keep := map[netip.Prefix]bool{}
	for _, r := range want {
		keep[r.Prefix] = true
		if old, ok := announced[r.Prefix]; !ok || old.NextHop != r.NextHop {
			add = append(add, r)
		}
	}
	for p := range announced {
		if !keep[p] {
			withdraw = append(withdraw, p)
		}
	}
	slices.SortFunc(withdraw, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return add, withdraw
}
