package netsvc

import (
	"reflect"
	"slices"
	"strings"

	qndns "github.com/quantumnet/quantumnet/daemon/dns"
	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Service names: a network's load balancers are names of its resolver
// (<name>.<domain>, and SRV records per listener; see daemon/dns), and of
// its DNS row for OVN native DNS (A and AAAA only: OVN answers no SRV).
// Only the load balancer's own network answers them, as with the names of
// ports: a network routed to it forwards its domain upstream.

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
		svc.Ports = append(svc.Ports, qndns.ServicePort{Name: x.ListenerName(), Proto: proto, Port: uint16(x.Port)})
	}
	return l.Network, strings.ToLower(lb.Label(l.Name)), svc, true
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

// WithServices adds the load balancers' names (<label>.<domain> to their
// VIPs, and each VIP's reverse name to <label>.<domain>) to records
// (OVNRecords of the network's ports) and returns them: a load balancer's
// name replaces a port's of the same label (the port keeps its reverse
// name), as the resolver answers.
func WithServices(records map[string]string, domain string, svcs map[string]qndns.Service) map[string]string {
	for label, svc := range svcs {
		var as []string
		fq := label + "." + domain
		for _, a := range svc.Addrs {
			a = a.Unmap().WithZone("")
			as = append(as, a.String())
			records[ReverseName(a)] = fq
		}
		if len(as) == 0 {
			delete(records, fq)
			continue
		}
		slices.Sort(as)
		records[fq] = strings.Join(slices.Compact(as), " ")
	}
	return records
}
