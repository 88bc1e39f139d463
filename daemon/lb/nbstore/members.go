package nbstore

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/errs"
)

// Members: a member by port is resolved through the port's name index
// (O(1)) to its network and its address of the VIP's family; a member on
// a network the VIP does not reach (not routed to it) resolves to nothing.
// Members on another network are probed from a source address reserved
// on that network (lb.LoadBalancer.Sources).

// fill resolves l's members (Network, Resolved) against t; gone are the
// members whose logical port no longer exists.
func (m *Manager) fill(l *lb.LoadBalancer, t *topo) (gone []string) {
	routed := t.routed(l.Network)
	for i := range l.Members {
		mb := &l.Members[i]
		mb.Network, mb.Resolved = "", netip.Addr{}
		if mb.Port == "" {
			if mb.Address.Is4() == l.VIP.Is4() {
				mb.Resolved = mb.Address
			}
			continue
		}
		p, ok := m.NB.PortByName(mb.Port)
		if !ok {
			gone = append(gone, mb.Port)
			continue
		}
		mb.Network = p.Network
		if !slices.Contains(routed, p.Network) {
			continue
		}
		for _, a := range p.IPs {
			if a.Is4() == l.VIP.Is4() {
				mb.Resolved = a
				break
			}
		}
	}
	return gone
}

// resolved is the lb.Resolve of filled members.
func resolved(mb lb.Member) (netip.Addr, bool) { return mb.Resolved, mb.Resolved.IsValid() }

// sourceChange is one change of the probes' sources: reserve one on
// Network, or release the one there.
type sourceChange struct {
	Network string
	Release bool
}

// nextSource is the first source change filled l needs (zero: none): a
// source on every other network with a member port, none elsewhere.
func nextSource(l *lb.LoadBalancer) sourceChange {
	need := map[string]bool{}
	for _, mb := range l.Members {
		if mb.Port != "" && mb.Network != "" && mb.Network != l.Network {
			need[mb.Network] = true
		}
	}
	for _, n := range slices.Sorted(maps.Keys(need)) {
		if !l.Sources[n].IsValid() {
			return sourceChange{Network: n}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(l.Sources)) {
		if !need[n] {
			return sourceChange{Network: n, Release: true}
		}
	}
	return sourceChange{}
}

// AddMember adds a member, enabled: a logical port of the load balancer's
// network or of a network routed to it, or an address. weight must be 0
// or 1 (lb.ValidateWeight).
func (m *Manager) AddMember(ctx context.Context, name, member string, weight int) (lb.LoadBalancer, error) {
	if err := lb.ValidateWeight(weight); err != nil {
		return lb.LoadBalancer{}, err
	}
	return m.edit(ctx, name, "add member", func(l *lb.LoadBalancer, t *topo) error {
		mb, err := lb.ParseMember(member)
		if err != nil {
			return err
		}
		if lb.FindMember(l.Members, mb.ID()) >= 0 {
			return errs.New(errs.Conflict, fmt.Sprintf("lb: %s is already a member of %s", mb.ID(), name))
		}
		if mb.Port == "" {
			if mb.Address.Is4() != l.VIP.Is4() {
				return errs.New(errs.Invalid, fmt.Sprintf("lb: member: %s is not of the VIP %s's address family", mb.Address, l.VIP))
			}
			l.Members = append(l.Members, mb)
			return nil
		}
		p, ok := m.NB.PortByName(mb.Port)
		if !ok || p.Network == "" {
			return errs.New(errs.NotFound, fmt.Sprintf("lb: member: port %s not found", mb.Port))
		}
		if !slices.Contains(t.routed(l.Network), p.Network) {
			return errs.New(errs.Invalid, fmt.Sprintf("lb: member: port %s is on network %s, which the VIP %s on network %s cannot reach: attach %s to the router of %s first (qnetctl router attach ROUTER %s)",
				mb.Port, p.Network, l.VIP, l.Network, p.Network, l.Network, p.Network))
		}
		if !slices.ContainsFunc(p.IPs, func(a netip.Addr) bool { return a.Is4() == l.VIP.Is4() }) {
			return errs.New(errs.Invalid, fmt.Sprintf("lb: member: port %s has no address of the VIP %s's family", mb.Port, l.VIP))
		}
		l.Members = append(l.Members, mb)
		return nil
	})
}

// DeleteMember deletes a member (by port name or address).
func (m *Manager) DeleteMember(ctx context.Context, name, member string) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "delete member", func(l *lb.LoadBalancer, _ *topo) error {
		i := lb.FindMember(l.Members, member)
		if i < 0 {
			return notMember(name, member)
		}
		l.Members = slices.Delete(l.Members, i, i+1)
		return nil
	})
}

func notMember(name, member string) error {
	return errs.New(errs.NotFound, fmt.Sprintf("lb: %s is not a member of %s", member, name))
}

// SetMemberEnabled puts a member in or out of rotation.
func (m *Manager) SetMemberEnabled(ctx context.Context, name, member string, on bool) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "enable/disable member", func(l *lb.LoadBalancer, _ *topo) error {
		i := lb.FindMember(l.Members, member)
		if i < 0 {
			return notMember(name, member)
		}
		l.Members[i].Enabled = on
		return nil
	})
}

// health fills the members' health from Southbound Service_Monitor:
// online when every listener's probe is online, offline when one is,
// unknown otherwise (no health check, no Southbound, a member by address).
func (m *Manager) health(l *lb.LoadBalancer) {
	for i := range l.Members {
		mb := &l.Members[i]
		mb.Health = "unknown"
		if m.SB == nil || l.HealthCheck == nil || mb.Port == "" || !mb.Resolved.IsValid() || len(l.Listeners) == 0 {
			continue
		}
		online := 0
		for _, x := range l.Listeners {
			switch m.SB.ServiceMonitorStatus(mb.Port, mb.Resolved.String(), x.MemberPort) {
			case "online":
				online++
			case "offline", "error":
				mb.Health = "offline"
			}
		}
		if mb.Health != "offline" && online == len(l.Listeners) {
			mb.Health = "online"
		}
	}
}
