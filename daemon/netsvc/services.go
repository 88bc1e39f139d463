package netsvc

import (
	"reflect"
	"strings"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Service names: a network's load balancers are names of its resolver
// (<name>.<domain>, and SRV records per listener; see daemon/dns). Only
// the load balancer's own network's resolver answers them, as with the
// names of ports: a network routed to it forwards its domain upstream.

// serviceOf reads a Load_Balancer row of QuantumNet's: the load
// balancer's network, its label and its service (ok false: not ours, or
// malformed).
func serviceOf(row *nbdb.LoadBalancer) (netName, label string, svc qndns.Service, ok bool) {
	if row == nil || row.ExternalIDs[keys.LB] == "" {
		return "", "", svc, false
	}
	proto := "tcp"
	if row.Protocol != nil && *row.Protocol != "" {
		proto = strings.ToLower(*row.Protocol)
	}
	l, err := lb.FromIDs(row.ExternalIDs, proto)
	if err != nil || l.Network == "" || l.Name == "" {
		return "", "", svc, false
	}
	if l.VIP.IsValid() {
		svc.Addrs = append(svc.Addrs, l.VIP)
	}
	for _, x := range l.Listeners {
		if x.Port <= 0 || x.Port > 65535 {
			continue
		}
		// TODO(lead, merge): use the listener's name (lb.Listener.Name,
		// "" meaning its port) once lb has it:
		// qndns.PortName(strings.ToLower(x.Name), uint16(x.Port)).
		svc.Ports = append(svc.Ports, qndns.ServicePort{Name: qndns.PortName("", uint16(x.Port)), Proto: proto, Port: uint16(x.Port)})
	}
	return l.Network, strings.ToLower(l.Name), svc, true
}

// Services returns the services of a network: its load balancers, by
// label (read from the cache).
func (m *Manager) Services(netName string) map[string]qndns.Service {
	rows, err := m.NB.LBs()
	if err != nil {
		return nil
	}
	out := map[string]qndns.Service{}
	for i := range rows {
		if n, label, svc, ok := serviceOf(&rows[i]); ok && n == netName {
			out[label] = svc
		}
	}
	return out
}

// lbMatters reports whether a change of a Load_Balancer row changes a
// network's names (a member's change, or health, does not).
func lbMatters(old, cur *nbdb.LoadBalancer) bool {
	type view struct {
		net, label string
		svc        qndns.Service
		ok         bool
	}
	read := func(r *nbdb.LoadBalancer) view {
		n, label, svc, ok := serviceOf(r)
		return view{n, label, svc, ok}
	}
	return !reflect.DeepEqual(read(old), read(cur))
}
