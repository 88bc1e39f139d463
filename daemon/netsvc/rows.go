package netsvc

import (
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// dhcpNetwork is the network whose services a DHCP_Options row concerns:
// its DHCP rows and its resolver's reservations ("" for other rows, whose
// changes wake nothing).
func dhcpNetwork(d *nbdb.DHCPOptions) string {
	r := ovn.DHCPRowOf(d)
	if r.Kind == keys.KindReservation && r.Owner != keys.OwnerResolver {
		return ""
	}
	return r.Network
}
