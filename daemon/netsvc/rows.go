package netsvc

import (
	"net/netip"
	"strings"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Reads of the ports' and reservations' external ids this package needs,
// each in one place.
// TODO(merge): ovn.Port view (branch core, pkg/ovn/view.go) and its
// reservation view replace these helpers.

// portNetwork is the network of a workload's port ("" for a port that is
// not QuantumNet's, or a service port).
func portNetwork(p *nbdb.LogicalSwitchPort) string { return p.ExternalIDs[keys.Network] }

// portServiceOf is the network a service port serves ("" for others).
func portServiceOf(p *nbdb.LogicalSwitchPort) string { return p.ExternalIDs[keys.ServiceOf] }

// portDNSName is the DNS label of a port ("" if unnamed).
func portDNSName(p *nbdb.LogicalSwitchPort) string { return p.ExternalIDs[keys.DNSName] }

// portAddrs are the IP addresses of a port's first addresses entry ("MAC
// IP..."); ok is false while it has none.
func portAddrs(p *nbdb.LogicalSwitchPort) (addrs []netip.Addr, ok bool) {
	if len(p.Addresses) == 0 {
		return nil, false
	}
	f := strings.Fields(p.Addresses[0])
	if len(f) < 2 {
		return nil, false
	}
	for _, s := range f[1:] {
		if a, err := netip.ParseAddr(s); err == nil {
			addrs = append(addrs, a)
		}
	}
	return addrs, true
}

// dhcpRow is what a DHCP_Options row says about itself: its network, its
// kind (keys.KindDHCP, keys.KindDHCP6 or keys.KindReservation) and, for a
// reservation, its owner and address.
type dhcpRow struct {
	network, kind, owner string
	ip                   netip.Addr
}

func dhcpRowOf(d *nbdb.DHCPOptions) dhcpRow {
	r := dhcpRow{network: d.ExternalIDs[keys.Network], kind: d.ExternalIDs[keys.Kind], owner: d.ExternalIDs[keys.Owner]}
	r.ip, _ = netip.ParseAddr(d.ExternalIDs[keys.IP])
	return r
}
