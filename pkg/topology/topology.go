// Package topology builds the tree of a QuantumNet deployment — external
// networks, the routers whose gateway is on them, the networks attached to
// those routers, and their ports — from the API's List replies alone. It is
// pure (no I/O, no OVSDB): qnetctl and a web console share it.
package topology

import (
	"cmp"
	"slices"

	"github.com/quantumnet/quantumnet/pkg/api"
)

// Input is the List replies the tree is built from.
type Input struct {
	Networks      []*api.Network
	Routers       []*api.Router
	FloatingIPs   []*api.FloatingIP
	Ports         []*api.Port
	LoadBalancers []*api.LoadBalancer
}

// Tree is the topology. Routers without a gateway and networks on no router
// hang at the top, beside the external networks.
type Tree struct {
	ExternalNetworks []*External `json:"external_networks"`
	Routers          []*Router   `json:"routers"`
	Networks         []*Network  `json:"networks"`
}

// External is an external (provider) network.
type External struct {
	Name        string    `json:"name"`
	Physnet     string    `json:"physnet"`
	VLAN        uint32    `json:"vlan,omitempty"`
	Subnets     []string  `json:"subnets"`
	FIPRange    string    `json:"fip_range,omitempty"`
	FloatingIPs []string  `json:"floating_ips"` // not associated with a port
	Routers     []*Router `json:"routers"`
	Ports       []*Port   `json:"ports"`
}

// Router is a router and the networks attached to it.
type Router struct {
	Name     string     `json:"name"`
	Gateway  *Gateway   `json:"gateway,omitempty"`
	Routes   []string   `json:"routes,omitempty"`
	Networks []*Network `json:"networks"`
}

// Gateway is a router's way out.
type Gateway struct {
	Network       string   `json:"network"`
	Addresses     []string `json:"addresses"`
	SNAT          bool     `json:"snat"`
	ActiveChassis string   `json:"active_chassis,omitempty"`
}

// Network is a tenant network.
type Network struct {
	Name          string          `json:"name"`
	Subnets       []string        `json:"subnets"`
	Ports         []*Port         `json:"ports"`
	LoadBalancers []*LoadBalancer `json:"load_balancers,omitempty"`
}

// Port is a workload's port.
type Port struct {
	Name           string   `json:"name"`
	Kind           string   `json:"kind"`               // container | vm
	Workload       string   `json:"workload,omitempty"` // container id or VM name
	Chassis        string   `json:"chassis"`            // where it is bound ("" : nowhere)
	Up             bool     `json:"up"`
	Migration      string   `json:"migration,omitempty"`
	Addresses      []string `json:"addresses"`
	FloatingIPs    []string `json:"floating_ips"`
	SecurityGroups []string `json:"security_groups"`
}

// LoadBalancer is a load balancer's VIP on a network.
type LoadBalancer struct {
	Name     string `json:"name"`
	VIP      string `json:"vip"`
	Protocol string `json:"protocol"`
	Members  int    `json:"members"`
}

// Build makes the tree; network, if not "", keeps only that network's
// branch (its router and external network, if any). Everything is sorted by
// name.
func Build(in Input, network string) *Tree {
	t := &Tree{ExternalNetworks: []*External{}, Routers: []*Router{}, Networks: []*Network{}}
	nets := map[string]*Network{}
	ext := map[string]*External{}
	for _, n := range in.Networks {
		if n.External {
			ext[n.Name] = &External{Name: n.Name, Physnet: n.Physnet, VLAN: n.Vlan, Subnets: subnets(n),
				FIPRange: n.FipRange, FloatingIPs: []string{}, Routers: []*Router{}, Ports: []*Port{}}
			continue
		}
		nets[n.Name] = &Network{Name: n.Name, Subnets: subnets(n), Ports: []*Port{}}
	}
	fips := map[string][]string{} // port -> its floating IPs
	for _, f := range in.FloatingIPs {
		if f.Port != "" {
			fips[f.Port] = append(fips[f.Port], f.Address)
		} else if e := ext[f.Network]; e != nil {
			e.FloatingIPs = append(e.FloatingIPs, f.Address)
		}
	}
	for _, p := range in.Ports {
		tp := port(p, fips[p.Name])
		if n := nets[p.Network]; n != nil {
			n.Ports = append(n.Ports, tp)
		} else if e := ext[p.Network]; e != nil {
			e.Ports = append(e.Ports, tp)
		}
	}
	for _, lb := range in.LoadBalancers {
		if n := nets[lb.Network]; n != nil {
			n.LoadBalancers = append(n.LoadBalancers, &LoadBalancer{Name: lb.Name, VIP: lb.Vip, Protocol: cmp.Or(lb.Protocol, "tcp"), Members: len(lb.Members)})
		}
	}
	attached := map[string]bool{}
	for _, r := range in.Routers {
		tr := &Router{Name: r.Name, Routes: r.Routes, Networks: []*Network{}}
		for _, name := range r.Networks {
			if n := nets[name]; n != nil && !attached[name] {
				tr.Networks = append(tr.Networks, n)
				attached[name] = true
			}
		}
		if g := r.Gateway; g != nil && g.Network != "" {
			tr.Gateway = &Gateway{Network: g.Network, Addresses: g.Addresses, SNAT: g.Snat, ActiveChassis: g.ActiveChassis}
			if e := ext[g.Network]; e != nil {
				e.Routers = append(e.Routers, tr)
				continue
			}
		}
		t.Routers = append(t.Routers, tr)
	}
	for name, n := range nets {
		if !attached[name] {
			t.Networks = append(t.Networks, n)
		}
	}
	for _, e := range ext {
		t.ExternalNetworks = append(t.ExternalNetworks, e)
	}
	t.sort()
	if network != "" {
		t.keep(network)
	}
	return t
}

func subnets(n *api.Network) []string {
	out := []string{}
	for _, s := range []string{n.Subnet4, n.Subnet6} {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

func port(p *api.Port, fips []string) *Port {
	out := &Port{Name: p.Name, Kind: p.Kind, Chassis: p.BoundChassis, Up: p.Up, Migration: p.Migration,
		Addresses: append([]string{}, p.Addresses...), FloatingIPs: append([]string{}, p.FloatingIps...),
		SecurityGroups: append([]string{}, p.SecurityGroups...)}
	for _, f := range fips {
		if !slices.Contains(out.FloatingIPs, f) {
			out.FloatingIPs = append(out.FloatingIPs, f)
		}
	}
	switch {
	case p.Vm != "":
		out.Workload = p.Vm
	case p.ContainerId != "":
		out.Workload = p.ContainerId
	}
	return out
}

func byName[T any](name func(T) string) func(a, b T) int {
	return func(a, b T) int { return cmp.Compare(name(a), name(b)) }
}

func (t *Tree) sort() {
	sortNet := func(n *Network) {
		slices.SortFunc(n.Ports, byName(func(p *Port) string { return p.Name }))
		slices.SortFunc(n.LoadBalancers, byName(func(l *LoadBalancer) string { return l.Name }))
	}
	sortRouter := func(r *Router) {
		slices.SortFunc(r.Networks, byName(func(n *Network) string { return n.Name }))
		for _, n := range r.Networks {
			sortNet(n)
		}
	}
	slices.SortFunc(t.ExternalNetworks, byName(func(e *External) string { return e.Name }))
	for _, e := range t.ExternalNetworks {
		slices.Sort(e.FloatingIPs)
		slices.SortFunc(e.Ports, byName(func(p *Port) string { return p.Name }))
		slices.SortFunc(e.Routers, byName(func(r *Router) string { return r.Name }))
		for _, r := range e.Routers {
			sortRouter(r)
		}
	}
	slices.SortFunc(t.Routers, byName(func(r *Router) string { return r.Name }))
	for _, r := range t.Routers {
		sortRouter(r)
	}
	slices.SortFunc(t.Networks, byName(func(n *Network) string { return n.Name }))
	for _, n := range t.Networks {
		sortNet(n)
	}
}

// keep prunes the tree to the branch of network (an external network
// keeps its routers but their networks only if one is network).
func (t *Tree) keep(network string) {
	hasNet := func(r *Router) bool {
		return slices.ContainsFunc(r.Networks, func(n *Network) bool { return n.Name == network })
	}
	only := func(r *Router) {
		r.Networks = slices.DeleteFunc(r.Networks, func(n *Network) bool { return n.Name != network })
	}
	t.ExternalNetworks = slices.DeleteFunc(t.ExternalNetworks, func(e *External) bool {
		if e.Name == network {
			return false
		}
		e.Routers = slices.DeleteFunc(e.Routers, func(r *Router) bool { return !hasNet(r) })
		for _, r := range e.Routers {
			only(r)
		}
		e.Ports, e.FloatingIPs = []*Port{}, []string{}
		return len(e.Routers) == 0
	})
	t.Routers = slices.DeleteFunc(t.Routers, func(r *Router) bool { return !hasNet(r) })
	for _, r := range t.Routers {
		only(r)
	}
	t.Networks = slices.DeleteFunc(t.Networks, func(n *Network) bool { return n.Name != network })
}
