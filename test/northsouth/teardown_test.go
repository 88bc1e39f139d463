package northsouth_test

import (
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestDeleteLeavesNothing: a router with two networks, a gateway and a
// floating IP on a container, all deleted through qnetctl (the shared
// external network too), leave no NAT, router, HA chassis group, gateway
// chassis or BFD row, and no localnet patch port or bridge beyond the
// sandbox's on any chassis. The other tests clean up after themselves, so
// "nothing" is global.
func TestDeleteLeavesNothing(t *testing.T) {
	requireRouter(t)
	external(t)
	network(t, "nsdel1", "10.231.30.0/24")
	network(t, "nsdel2", "10.231.31.0/24")
	newRouter(t, "nsdelr", "nsdel1", "nsdel2")
	qn(t, "router", "route", "add", "nsdelr", "198.51.100.0/24", "via", outsideIP)
	setGateway(t, "nsdelr")
	c := newContainer(t, "c", "del", "nsdel1")
	const addr = "192.0.2.160"
	qn(t, "fip", "create", extNet, "--address", addr)
	qn(t, "fip", "associate", addr, c.Port)
	serveTCP(t, c.NS, 8084)
	tcpSource(t, nh.Vars["QN_OUTSIDE_NETNS"], addr, 8084, 20*time.Second)
	ovsdbtest.Eventually(t, 15*time.Second, func() bool { return len(nbRows(t, "ovn-sbctl", "BFD")) > 0 || bfdOnTunnels() },
		"BFD never came up between the gateway chassis")

	qn(t, "fip", "disassociate", addr)
	qn(t, "fip", "delete", addr)
	c.Del(t)
	qn(t, "router", "route", "delete", "nsdelr", "198.51.100.0/24")
	qn(t, "router", "clear-gateway", "nsdelr")
	qn(t, "router", "detach", "nsdelr", "nsdel1")
	qn(t, "router", "detach", "nsdelr", "nsdel2")
	qn(t, "router", "delete", "nsdelr")
	qn(t, "network", "delete", "nsdel1")
	qn(t, "network", "delete", "nsdel2")
	qn(t, "network", "delete", extNet)

	for _, tb := range [][2]string{{"ovn-nbctl", "NAT"}, {"ovn-nbctl", "Logical_Router"}, {"ovn-nbctl", "Logical_Router_Port"},
		{"ovn-nbctl", "HA_Chassis_Group"}, {"ovn-nbctl", "Gateway_Chassis"}, {"ovn-nbctl", "BFD"}, {"ovn-nbctl", "Logical_Router_Static_Route"},
		{"ovn-sbctl", "HA_Chassis_Group"}, {"ovn-sbctl", "BFD"}} {
		if rows := nbRows(t, tb[0], tb[1]); len(rows) > 0 {
			t.Errorf("%s: %d %s row(s) left after deleting everything", tb[0], len(rows), tb[1])
		}
	}
	// ovn-controller removes the localnet patch ports once the external
	// network is gone; no bridge beyond the sandbox's own.
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		for _, h := range nh.Names() {
			if vsctl(h, "--bare", "--columns=name", "find", "Interface", "type=patch") != "" {
				return false
			}
		}
		return true
	}, "patch ports left on a chassis after the external network was deleted")
	for _, h := range nh.Names() {
		for _, br := range strings.Fields(vsctl(h, "list-br")) {
			if br != "br-int" && br != "br-phy" && br != "br-ex" {
				t.Errorf("host %s: bridge %s left", h, br)
			}
		}
	}
}

// bfdOnTunnels reports whether some chassis runs BFD on a Geneve tunnel.
func bfdOnTunnels() bool {
	for _, h := range nh.Names() {
		if strings.Contains(vsctl(h, "--bare", "--columns=bfd_status", "find", "Interface", "type=geneve"), "state=up") {
			return true
		}
	}
	return false
}
