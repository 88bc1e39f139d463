// Package apiview turns the domain views (ovn.Port, netstore.Network,
// router.Router, router.FloatingIP, lb.LoadBalancer) into the API's
// messages: one conversion per kind, shared by the RPCs (daemon/server)
// and the event streams (daemon/events), so that a listed object and a
// streamed one are the same message.
package apiview

import (
	"net/netip"

	"github.com/quantumnet/quantumnet/daemon/lb"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/router"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// Bindings are the Southbound facts of a port: where it is bound and its
// binding's options (ovn.SB serves them).
type Bindings interface {
	BoundChassis(port string) string
	PortOption(port, key string) string
}

// Port is a logical port as shown to users: sb (nil: Southbound not
// connected) gives its binding, fips are its floating IPs.
func Port(p ovn.Port, sb Bindings, fips []netip.Addr) *api.Port {
	port := &api.Port{
		Name: p.Name, Network: p.Network, Chassis: p.RequestedChassis, Kind: p.Kind, ContainerId: p.ContainerID,
		Ifname: p.Ifname, HostIfname: p.HostIfname, Up: p.Up, SecurityGroups: p.SecurityGroups, DnsName: p.DNSName,
		Vm: p.VMName, Migration: p.Migration(),
	}
	if sb != nil {
		port.BoundChassis = sb.BoundChassis(p.Name)
	}
	if p.Activation != "" {
		port.Activation = p.Activation
		act := ""
		if sb != nil {
			act = sb.PortOption(p.Name, keys.OptActivatedChassis)
		}
		if act != "" {
			port.Activation += ", activated on " + act
		} else {
			port.Activation += ", waiting"
		}
	}
	if p.MAC != nil {
		port.Mac = p.MAC.String()
	}
	for _, a := range fips {
		port.FloatingIps = append(port.FloatingIps, a.String())
	}
	for _, a := range p.IPs {
		port.Addresses = append(port.Addresses, a.String())
	}
	return port
}

// Network is a network as shown to users.
func Network(v netstore.Network) *api.Network {
	in := v.Input()
	n := &api.Network{Name: in.Name, Subnet4: in.Subnet4, Gateway4: in.Gateway4, Subnet6: in.Subnet6, Gateway6: in.Gateway6,
		Range4: in.Range4, Range6: in.Range6, Exclude: in.Exclude, Mtu: uint32(in.MTU), DnsDomain: in.DNSDomain,
		LeaseTime: uint32(in.LeaseTime), DnsServers: in.DNSServers, NtpServers: in.NTPServers, Routes: in.Routes,
		DnsUpstream: in.Upstream, Uuid: v.UUID, Ports: uint32(v.Ports),
		External: v.External, Physnet: v.Physnet, Vlan: uint32(v.VLAN), Router: v.Router}
	if v.External {
		n.FipRange = in.Range4
	}
	for _, a := range v.Resolvers.Addrs() {
		n.Resolvers = append(n.Resolvers, a.String())
	}
	return n
}

// Router is a router as shown to users.
func Router(r router.Router) *api.Router {
	out := &api.Router{Name: r.Name, Networks: r.Networks, Uuid: r.UUID}
	for _, rt := range r.Routes {
		out.Routes = append(out.Routes, rt.String())
	}
	if g := r.Gateway; g != nil {
		gw := &api.RouterGatewayInfo{Network: g.Network, Snat: g.SNAT, ActiveChassis: g.Active}
		for _, a := range g.Addrs {
			gw.Addresses = append(gw.Addresses, a.String())
		}
		for _, c := range g.Chassis {
			gw.Chassis = append(gw.Chassis, &api.GatewayChassis{Name: c.Name, Priority: int32(c.Priority)})
		}
		out.Gateway = gw
	}
	return out
}

// FloatingIP is a floating IP as shown to users.
func FloatingIP(f router.FloatingIP) *api.FloatingIP {
	out := &api.FloatingIP{Address: f.Address.String(), Network: f.Network, Port: f.Port, Router: f.Router,
		Distributed: f.Distributed, Uuid: f.UUID}
	if f.FixedIP.IsValid() {
		out.FixedIp = f.FixedIP.String()
	}
	for _, fw := range f.Forwards {
		af := &api.FloatingIPForward{Address: out.Address, Protocol: fw.Protocol, Port: uint32(fw.Port), Target: fw.Target,
			TargetPort: uint32(fw.TargetPort)}
		if fw.Address.IsValid() {
			af.TargetAddress = fw.Address.String()
		}
		out.Forwards = append(out.Forwards, af)
	}
	out.LoadBalancers = f.LoadBalancers
	return out
}

// LoadBalancer is a load balancer as shown to users, with its DNS names.
func LoadBalancer(l lb.LoadBalancer, names []string) *api.LoadBalancer {
	out := &api.LoadBalancer{Name: l.Name, Network: l.Network, Vip: l.VIP.String(), Protocol: l.Protocol,
		AffinityTimeout: uint32(l.Affinity), DnsNames: names}
	if l.FIP.IsValid() {
		out.Fip = l.FIP.String()
	}
	for _, x := range l.Listeners {
		out.Listeners = append(out.Listeners, &api.Listener{Port: uint32(x.Port), MemberPort: uint32(x.MemberPort), Name: x.ListenerName()})
	}
	for _, m := range l.Members {
		am := &api.Member{Port: m.Port, Enabled: m.Enabled, Health: m.Health, Network: m.Network}
		if m.Port == "" {
			am.Address = m.Address.String()
		}
		if m.Resolved.IsValid() {
			am.Resolved = m.Resolved.String()
		}
		out.Members = append(out.Members, am)
	}
	if h := l.HealthCheck; h != nil {
		out.HealthCheck = &api.HealthCheck{Interval: uint32(h.Interval), Timeout: uint32(h.Timeout), Success: uint32(h.Success), Failure: uint32(h.Failure)}
	}
	return out
}
