package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Edits: each reads the record, changes it and rewrites the row (vips,
// ip_port_mappings and health checks derived from the record) in one
// transaction.

// edit locks name, reads it, applies change and writes the result.
func (m *Manager) edit(ctx context.Context, name, what string, change func(*lb.LoadBalancer) error) (lb.LoadBalancer, error) {
	if err := lb.ValidateName(name); err != nil {
		return lb.LoadBalancer{}, err
	}
	defer m.locks.Lock(name)()
	for attempt := 0; ; attempt++ {
		row, l, err := m.get(name)
		if err != nil {
			return l, err
		}
		if err := change(&l); err != nil {
			return l, err
		}
		ops, err := m.writeOps(row, &l)
		if err != nil {
			return l, err
		}
		ops = append([]ovsdb.Operation{ovn.WaitLBExternalIDsOp(row.UUID, row.ExternalIDs)}, ops...)
		_, err = m.NB.TransactResults(ctx, what+" of load balancer "+name, ops)
		if errors.Is(err, ovn.ErrExists) && attempt < 20 {
			time.Sleep(10 * time.Millisecond) // another daemon's change won: read it again
			continue
		}
		if err != nil {
			return l, err
		}
		m.waitCache(ctx, name, l.IDs())
		return m.done(name, what, l), nil
	}
}

// done logs a committed edit and returns l with its members' health.
func (m *Manager) done(name, what string, l lb.LoadBalancer) lb.LoadBalancer {
	m.Log.Info("load balancer changed", "lb", name, "change", what)
	m.health(&l)
	return l
}

// AddListener adds a listener.
func (m *Manager) AddListener(ctx context.Context, name string, x lb.Listener) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "add listener", func(l *lb.LoadBalancer) error {
		if err := lb.ValidateListener(x, l.Listeners); err != nil {
			return err
		}
		l.Listeners = append(l.Listeners, x)
		l.SortListeners()
		return nil
	})
}

// DeleteListener deletes the listener on port.
func (m *Manager) DeleteListener(ctx context.Context, name string, port int) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "delete listener", func(l *lb.LoadBalancer) error {
		for i, x := range l.Listeners {
			if x.Port == port {
				l.Listeners = append(l.Listeners[:i], l.Listeners[i+1:]...)
				return nil
			}
		}
		return errs.New(errs.NotFound, fmt.Sprintf("lb: %s has no listener on port %d", name, port))
	})
}

// AddMember adds a member (a logical port of the load balancer's
// network, or an address), enabled.
func (m *Manager) AddMember(ctx context.Context, name, member string) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "add member", func(l *lb.LoadBalancer) error {
		mb, err := lb.ParseMember(member)
		if err != nil {
			return err
		}
		if lb.FindMember(l.Members, mb.ID()) >= 0 {
			return errs.New(errs.Conflict, fmt.Sprintf("lb: %s is already a member of %s", mb.ID(), name))
		}
		if mb.Port != "" {
			p, err := m.NB.LookupPort(mb.Port)
			if err != nil {
				return errs.New(errs.NotFound, fmt.Sprintf("lb: member: port %s not found", mb.Port))
			}
			if p.Network != l.Network {
				return errs.New(errs.Invalid, fmt.Sprintf("lb: member: port %s is on network %q, not on %s", mb.Port, p.Network, l.Network))
			}
		} else if !mb.Address.Is4() {
			return errs.New(errs.Invalid, fmt.Sprintf("lb: member: %s is not an IPv4 address", mb.Address))
		}
		l.Members = append(l.Members, mb)
		return nil
	})
}

// DeleteMember deletes a member (by port name or address).
func (m *Manager) DeleteMember(ctx context.Context, name, member string) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "delete member", func(l *lb.LoadBalancer) error {
		i := lb.FindMember(l.Members, member)
		if i < 0 {
			return notMember(name, member)
		}
		l.Members = append(l.Members[:i], l.Members[i+1:]...)
		return nil
	})
}

func notMember(name, member string) error {
	return errs.New(errs.NotFound, fmt.Sprintf("lb: %s is not a member of %s", member, name))
}

// SetMemberEnabled puts a member in or out of rotation.
func (m *Manager) SetMemberEnabled(ctx context.Context, name, member string, on bool) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "enable/disable member", func(l *lb.LoadBalancer) error {
		i := lb.FindMember(l.Members, member)
		if i < 0 {
			return notMember(name, member)
		}
		l.Members[i].Enabled = on
		return nil
	})
}

// SetHealthCheck sets (h nil: clears) the health check.
func (m *Manager) SetHealthCheck(ctx context.Context, name string, h *lb.HealthCheck) (lb.LoadBalancer, error) {
	return m.edit(ctx, name, "set health check", func(l *lb.LoadBalancer) error {
		if h != nil {
			if err := lb.ValidateHealthCheck(h, l.Protocol); err != nil {
				return err
			}
		}
		l.HealthCheck = h
		return nil
	})
}

// resolver looks members' ports up in Northbound (their first IPv4).
func (m *Manager) resolver() lb.Resolve {
	return func(mb lb.Member) (netip.Addr, bool) {
		if mb.Port == "" {
			return mb.Address, true
		}
		p, err := m.NB.LookupPort(mb.Port)
		if err != nil {
			return netip.Addr{}, false
		}
		for _, a := range p.IPs {
			if a.Is4() {
				return a, true
			}
		}
		return netip.Addr{}, false
	}
}

// writeOps rewrite row from the record l: vips of the enabled members,
// and with a health check one Load_Balancer_Health_Check per listener
// plus the ip_port_mappings probing from the load balancer's source address.
func (m *Manager) writeOps(row *nbdb.LoadBalancer, l *lb.LoadBalancer) ([]ovsdb.Operation, error) {
	res := m.resolver()
	backends := lb.Backends(l.Members, res)
	vips := map[string]string{}
	for _, x := range l.Listeners {
		maps.Copy(vips, lb.VIPs(l.VIP, x, backends))
	}
	upd := &nbdb.LoadBalancer{UUID: row.UUID, Vips: vips, ExternalIDs: l.IDs(), HealthCheck: []string{}, IPPortMappings: map[string]string{}}
	var ops []ovsdb.Operation
	if l.HealthCheck != nil && len(l.Listeners) > 0 {
		upd.IPPortMappings = lb.IPPortMappings(l.Members, res, func(lb.Member) netip.Addr { return l.Source })
		for i, x := range l.Listeners {
			hc := &nbdb.LoadBalancerHealthCheck{UUID: fmt.Sprintf("hc%d", i), Options: l.HealthCheck.Options(),
				Vip: netip.AddrPortFrom(l.VIP, uint16(x.Port)).String()}
			ins, err := m.NB.InsertOps(hc)
			if err != nil {
				return nil, err
			}
			ops = append(ops, ins...)
			upd.HealthCheck = append(upd.HealthCheck, hc.UUID)
		}
		if m.MonitorMAC != "" {
			ops = append(ops, ovn.NBGlobalDefaultsOps(map[string]string{"svc_monitor_mac": m.MonitorMAC})...)
		}
	}
	u, err := m.NB.UpdateOps(upd, &upd.Vips, &upd.ExternalIDs, &upd.HealthCheck, &upd.IPPortMappings)
	if err != nil {
		return nil, err
	}
	return append(ops, u...), nil
}

// health fills the members' health from Southbound Service_Monitor:
// online when every listener's probe is online, offline when one is,
// unknown otherwise (no health check, no Southbound, a member by address).
func (m *Manager) health(l *lb.LoadBalancer) {
	res := m.resolver()
	for i := range l.Members {
		mb := &l.Members[i]
		mb.Health = "unknown"
		a, ok := res(*mb)
		if m.SB == nil || l.HealthCheck == nil || mb.Port == "" || !ok || len(l.Listeners) == 0 {
			continue
		}
		online := 0
		for _, x := range l.Listeners {
			switch m.SB.ServiceMonitorStatus(mb.Port, a.String(), x.MemberPort) {
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
