package nbstore

import (
	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// NetworkLBs lists the load balancers of network (sorted by name) with
// their VIP, protocol and listeners, for the network's resolver: each is
// lb.ServiceNames(&l, domain) — <name>.<domain> → VIP (A or AAAA), and
// _<listener>._<proto>.<name>.<domain> → SRV 0 0 <listener port>
// <name>.<domain>. O(load balancers).
func (m *Manager) NetworkLBs(network string) ([]lb.LoadBalancer, error) {
	return m.list(func(r *nbdb.LoadBalancer) bool { return r.ExternalIDs[keys.Network] == network })
}

// DNSNames are l's service names in its network's DNS domain (none when
// the network cannot be read).
func (m *Manager) DNSNames(l *lb.LoadBalancer) []string {
	_, spec, err := m.netOf(l.Network)
	if err != nil || spec.DNSDomain == "" {
		return nil
	}
	return lb.ServiceNames(l, spec.DNSDomain)
}
