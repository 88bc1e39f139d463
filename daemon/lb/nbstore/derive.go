package nbstore

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The derived columns of a load balancer's row (vips, ip_port_mappings,
// options, health checks) and its switch and router references, as the
// record wants them and as they are: a write happens only when they
// differ (or the record changes).

type state struct {
	vips, mappings, options map[string]string
	checks                  map[string]map[string]string // health check vip -> options
	att                     ovn.LBAttachment
}

// want is the state of filled l.
func want(l *lb.LoadBalancer, t *topo) state {
	backends := lb.Backends(l.Members, resolved)
	s := state{vips: map[string]string{}, mappings: map[string]string{}, options: l.Options(),
		checks: map[string]map[string]string{}, att: t.attachment(l.Network)}
	for _, a := range l.VIPAddrs() {
		for _, x := range l.Listeners {
			maps.Copy(s.vips, lb.VIPs(a, x, backends))
		}
	}
	if l.HealthCheck != nil && len(l.Listeners) > 0 {
		s.mappings = lb.IPPortMappings(l.Members, resolved, func(mb lb.Member) netip.Addr { return l.SourceFor(mb.Network) })
		for _, a := range l.VIPAddrs() {
			for _, x := range l.Listeners {
				s.checks[netip.AddrPortFrom(a, uint16(x.Port)).String()] = l.HealthCheck.Options()
			}
		}
	}
	return s
}

// have is the state of row.
func (m *Manager) have(row *nbdb.LoadBalancer, t *topo) state {
	s := state{vips: row.Vips, mappings: row.IPPortMappings, options: map[string]string{}, checks: map[string]map[string]string{},
		att: t.current(row.UUID)}
	if a, ok := row.Options["affinity_timeout"]; ok {
		s.options["affinity_timeout"] = a
	}
	hcs, _ := m.NB.LBHealthChecks(row.HealthCheck)
	for _, h := range hcs {
		s.checks[h.Vip] = h.Options
	}
	if len(hcs) != len(row.HealthCheck) {
		s.checks[""] = nil // a reference the cache does not hold yet: rewrite
	}
	return s
}

func (s state) equal(o state) bool {
	eq := func(a, b map[string]string) bool { return len(a) == len(b) && maps.Equal(a, b) }
	return eq(s.vips, o.vips) && eq(s.mappings, o.mappings) && eq(s.options, o.options) &&
		maps.EqualFunc(s.checks, o.checks, func(a, b map[string]string) bool { return eq(a, b) }) &&
		slices.Equal(s.att.Switches, o.att.Switches) && slices.Equal(s.att.Routers, o.att.Routers)
}

// writeOps rewrite row (the record l, the derived columns w; the health
// checks only when they change) and move its references from h to w.
func (m *Manager) writeOps(row *nbdb.LoadBalancer, l *lb.LoadBalancer, w, h state) ([]ovsdb.Operation, error) {
	opts := maps.Clone(row.Options)
	if opts == nil {
		opts = map[string]string{}
	}
	delete(opts, "affinity_timeout")
	maps.Copy(opts, w.options)
	upd := &nbdb.LoadBalancer{UUID: row.UUID, Vips: w.vips, ExternalIDs: l.IDs(), IPPortMappings: w.mappings, Options: opts,
		HealthCheck: []string{}}
	fields := []any{&upd.Vips, &upd.ExternalIDs, &upd.IPPortMappings, &upd.Options}
	var ops []ovsdb.Operation
	if !maps.EqualFunc(w.checks, h.checks, func(a, b map[string]string) bool { return maps.Equal(a, b) }) {
		fields = append(fields, &upd.HealthCheck)
		for i, vip := range slices.Sorted(maps.Keys(w.checks)) {
			hc := &nbdb.LoadBalancerHealthCheck{UUID: fmt.Sprintf("hc%d", i), Options: w.checks[vip], Vip: vip}
			ins, err := m.NB.InsertOps(hc)
			if err != nil {
				return nil, err
			}
			ops = append(ops, ins...)
			upd.HealthCheck = append(upd.HealthCheck, hc.UUID)
		}
	}
	if len(w.checks) > 0 && m.MonitorMAC != "" {
		ops = append(ops, ovn.NBGlobalDefaultsOps(map[string]string{"svc_monitor_mac": m.MonitorMAC})...)
	}
	u, err := m.NB.UpdateOps(upd, fields...)
	if err != nil {
		return nil, err
	}
	add, del := diff(w.att, h.att)
	att, err := m.NB.LBAttachOps(row.UUID, add, del)
	return append(append(ops, u...), att...), err
}
