package netsvc_test

import (
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/miekg/dns"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

var dual = network.Input{Name: "blue", Subnet4: "10.8.0.0/24", Subnet6: "fd00:8::/64", DNSDomain: "blue.internal"}

// TestIntegrationEnsureDualStack: a fresh dual-stack network gets its DHCP
// rows, its router with router advertisements, the router's switch port,
// the resolver's localport with addresses recorded and reserved, and its
// DNS row.
func TestIntegrationEnsureDualStack(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(dual, d)
	before := e.srv.Requests("transact")
	e.ensure(d, "blue")
	if n := e.srv.Requests("transact") - before; n == 0 {
		t.Fatal("Ensure of a fresh network wrote nothing")
	}

	rmac := netsvc.RouterMAC("blue")
	v4 := e.dhcp("blue", keys.KindDHCP)
	if v4.Str("cidr") != "10.8.0.0/24" {
		t.Errorf("DHCPv4 cidr %q", v4.Str("cidr"))
	}
	checkMap(t, "DHCPv4 options", v4.Map("options"), map[string]string{
		"server_id": "10.8.0.1", "server_mac": rmac, "router": "10.8.0.1", "lease_time": "3600", "mtu": "1400",
		"domain_name": `"blue.internal"`, "dns_server": "10.8.0.254"})
	v6 := e.dhcp("blue", keys.KindDHCP6)
	if v6.Str("cidr") != "fd00:8::/64" {
		t.Errorf("DHCPv6 cidr %q", v6.Str("cidr"))
	}
	checkMap(t, "DHCPv6 options", v6.Map("options"), map[string]string{"server_id": rmac, "dns_server": "fd00:8::f:ffff"})

	ls := e.switchRow("blue")
	lr := e.srv.Row(nbdb.LogicalRouterTable, []string{"ports", "external_ids"}, "name="+netsvc.RouterName("blue"))
	lrp := e.srv.Row(nbdb.LogicalRouterPortTable, []string{"_uuid", "mac", "networks", "ipv6_ra_configs"}, "name="+netsvc.RouterPortName("blue"))
	checkSet(t, "router ports", lr.Set("ports"), []string{lrp.Str("_uuid")})
	if lr.Map("external_ids")[keys.ServiceOf] != "blue" {
		t.Errorf("router external_ids %v", lr.Map("external_ids"))
	}
	if lrp.Str("mac") != rmac {
		t.Errorf("router port mac %s, want %s", lrp.Str("mac"), rmac)
	}
	checkSet(t, "router port networks", lrp.Set("networks"), []string{"10.8.0.1/24", "fd00:8::1/64"})
	ra := lrp.Map("ipv6_ra_configs")
	if ra["address_mode"] != "dhcpv6_stateful" || ra["mtu"] != "1400" || ra["send_periodic"] != "true" {
		t.Errorf("ipv6_ra_configs %v", ra)
	}
	rs := e.port(netsvc.RouterLSPName("blue"))
	if rs.Str("type") != "router" || !slices.Equal(rs.Set("addresses"), []string{"router"}) || rs.Map("options")["router-port"] != netsvc.RouterPortName("blue") {
		t.Errorf("router switch port %v", rs)
	}
	res := e.port(netsvc.ResolverName("blue"))
	wantAddr := netsvc.ResolverMAC("blue") + " 10.8.0.254 fd00:8::f:ffff"
	if res.Str("type") != "localport" || !slices.Equal(res.Set("addresses"), []string{wantAddr}) {
		t.Errorf("resolver port: type %q addresses %v, want localport [%s]", res.Str("type"), res.Set("addresses"), wantAddr)
	}
	checkSet(t, "switch ports", ls.Set("ports"), []string{rs.Str("_uuid"), res.Str("_uuid")})
	if r4, r6 := recorded(ls); r4 != "10.8.0.254" || r6 != "fd00:8::f:ffff" {
		t.Errorf("recorded resolvers %q %q, want 10.8.0.254 fd00:8::f:ffff", r4, r6)
	}
	if got := e.resolverReservations("blue"); !slices.Equal(got, []string{"10.8.0.254", "fd00:8::f:ffff"}) {
		t.Errorf("resolver reservations in NB %v", got)
	}
	reservations, err := d.nb.Reservations("blue")
	if err != nil {
		t.Fatal(err)
	}
	var owned []string
	for _, r := range reservations {
		if r.Owner == keys.OwnerResolver {
			owned = append(owned, r.IP.String())
		}
	}
	checkSet(t, "nb.Reservations of the resolver", owned, []string{"10.8.0.254", "fd00:8::f:ffff"})
	dr := e.dnsRow("blue")
	checkSet(t, "switch dns_records", ls.Set("dns_records"), []string{dr.Str("_uuid")})
	if len(dr.Map("records")) != 0 {
		t.Errorf("DNS records of a network without ports: %v", dr.Map("records"))
	}
	// What the manager tells about it.
	r, err := d.m.Resolvers("blue")
	if err != nil || r.V4.String() != "10.8.0.254" || r.V6.String() != "fd00:8::f:ffff" {
		t.Errorf("Resolvers: %+v %v", r, err)
	}
	p4, p6 := d.m.PortDHCP("blue")
	if p4 == nil || p6 == nil || *p4 != v4.Str("_uuid") || *p6 != v6.Str("_uuid") {
		t.Errorf("PortDHCP: %v %v, want %s %s", p4, p6, v4.Str("_uuid"), v6.Str("_uuid"))
	}
}

// TestIntegrationEnsureIdempotent: once in place, Ensure writes nothing
// and every row keeps its UUID.
func TestIntegrationEnsureIdempotent(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(dual, d)
	e.createPort(d, "blue", "p1", "web")
	e.settle(d)
	e.ensure(d, "blue")
	state := e.dbState()
	before := e.srv.Requests("transact")
	for range 3 {
		if err := d.m.Ensure(e.ctx, "blue"); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.srv.Requests("transact") - before; n != 0 {
		t.Errorf("Ensure of a network in place: %d transactions, want none", n)
	}
	if after := e.dbState(); after != state {
		t.Errorf("rows changed:\nbefore\n%s\nafter\n%s", state, after)
	}
}

// TestIntegrationEnsurePorts: the ports of the network get the DHCP rows;
// the DNS row follows their names, a rename and a deletion.
func TestIntegrationEnsurePorts(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(dual, d)
	e.ensure(d, "blue")
	web := e.createPort(d, "blue", "p-web", "web")
	e.createPort(d, "blue", "p-none", "")
	e.settle(d)
	for _, p := range []string{"p-web", "p-none"} {
		if r := e.port(p); r.Str("dhcpv4_options") != "" || r.Str("dhcpv6_options") != "" {
			t.Fatalf("port %s created with DHCP references: %v", p, r)
		}
	}
	e.ensure(d, "blue")
	v4, v6 := e.dhcp("blue", keys.KindDHCP).Str("_uuid"), e.dhcp("blue", keys.KindDHCP6).Str("_uuid")
	for _, p := range []string{"p-web", "p-none"} {
		if r := e.port(p); r.Str("dhcpv4_options") != v4 || r.Str("dhcpv6_options") != v6 {
			t.Errorf("port %s: dhcpv4_options %q dhcpv6_options %q, want %s %s", p, r.Str("dhcpv4_options"), r.Str("dhcpv6_options"), v4, v6)
		}
	}
	if len(web.Addrs) != 2 {
		t.Fatalf("port addresses %v", web.Addrs)
	}
	reverse := func(a netip.Addr) string {
		r, err := dns.ReverseAddr(a.String())
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(r, ".")
	}
	records := func(label string) map[string]string {
		fq := label + ".blue.internal"
		return map[string]string{
			fq:                    web.Addrs[0].String() + " " + web.Addrs[1].String(),
			reverse(web.Addrs[0]): fq,
			reverse(web.Addrs[1]): fq,
		}
	}
	checkMap(t, "DNS records", e.dnsRow("blue").Map("records"), records("web"))

	// Renamed.
	lsp, err := d.nb.GetPort("p-web")
	if err != nil {
		t.Fatal(err)
	}
	lsp.ExternalIDs[keys.DNSName] = "www"
	if err := d.nb.UpdatePort(e.ctx, lsp, &lsp.ExternalIDs); err != nil {
		t.Fatal(err)
	}
	e.settle(d)
	e.ensure(d, "blue")
	checkMap(t, "DNS records after the rename", e.dnsRow("blue").Map("records"), records("www"))

	// Deleted.
	if err := d.ps.Delete(e.ctx, "p-web"); err != nil {
		t.Fatal(err)
	}
	e.settle(d)
	e.ensure(d, "blue")
	if r := e.dnsRow("blue").Map("records"); len(r) != 0 {
		t.Errorf("DNS records after the deletion: %v", r)
	}
	if r := e.port("p-none"); r.Str("dhcpv4_options") != v4 || r.Str("dhcpv6_options") != v6 {
		t.Errorf("p-none lost its DHCP references: %v", r)
	}
}

// TestIntegrationEnsureSettingsChange: a change of the network's settings
// reaches the DHCP rows (updated in place) and the router advertisements.
func TestIntegrationEnsureSettingsChange(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	spec := e.createNet(dual, d)
	e.ensure(d, "blue")
	v4uuid, v6uuid := e.dhcp("blue", keys.KindDHCP).Str("_uuid"), e.dhcp("blue", keys.KindDHCP6).Str("_uuid")

	in := spec.Input()
	in.LeaseTime, in.MTU = 60, 1380
	in.DNSServers = []string{"192.0.2.53", "2001:db8::53"}
	in.NTPServers = []string{"192.0.2.123"}
	in.Routes = []string{"192.168.10.0/24=10.8.0.250"}
	changed, err := network.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	ls, err := d.nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	// As UpdateNetwork does: the settings' keys rewritten, the others kept.
	maps.Copy(ls.ExternalIDs, changed.ExternalIDs())
	ops, err := d.nb.UpdateOps(ls, &ls.ExternalIDs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.nb.TransactResults(e.ctx, "change network", ops); err != nil {
		t.Fatal(err)
	}
	e.settle(d)
	e.ensure(d, "blue")

	v4 := e.dhcp("blue", keys.KindDHCP)
	checkMap(t, "DHCPv4 options", v4.Map("options"), map[string]string{
		"server_id": "10.8.0.1", "server_mac": netsvc.RouterMAC("blue"), "router": "10.8.0.1", "lease_time": "60", "mtu": "1380",
		"domain_name": `"blue.internal"`, "dns_server": "192.0.2.53", "ntp_server": "192.0.2.123",
		"classless_static_route": "{192.168.10.0/24,10.8.0.250, 0.0.0.0/0,10.8.0.1}"})
	v6 := e.dhcp("blue", keys.KindDHCP6)
	checkMap(t, "DHCPv6 options", v6.Map("options"), map[string]string{"server_id": netsvc.RouterMAC("blue"), "dns_server": "2001:db8::53"})
	if v4.Str("_uuid") != v4uuid || v6.Str("_uuid") != v6uuid {
		t.Errorf("DHCP rows replaced instead of updated")
	}
	lrp := e.srv.Row(nbdb.LogicalRouterPortTable, []string{"ipv6_ra_configs"}, "name="+netsvc.RouterPortName("blue"))
	if mtu := lrp.Map("ipv6_ra_configs")["mtu"]; mtu != "1380" {
		t.Errorf("RA mtu %q, want 1380", mtu)
	}
	if got := e.resolverReservations("blue"); !slices.Equal(got, []string{"10.8.0.254", "fd00:8::f:ffff"}) {
		t.Errorf("resolver reservations after the change %v", got)
	}
}

// TestIntegrationEnsureRange: with allocation ranges, the resolver takes an
// address outside them, which needs no reservation.
func TestIntegrationEnsureRange(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(network.Input{Name: "green", Subnet4: "10.9.0.0/24", Range4: "10.9.0.10-10.9.0.100",
		Subnet6: "fd00:9::/64", Range6: "fd00:9::100-fd00:9::1ff"}, d)
	e.ensure(d, "green")
	if r4, r6 := recorded(e.switchRow("green")); r4 != "10.9.0.254" || r6 != "fd00:9::f:ffff" {
		t.Errorf("recorded resolvers %q %q, want 10.9.0.254 fd00:9::f:ffff", r4, r6)
	}
	if got := e.resolverReservations("green"); len(got) != 0 {
		t.Errorf("resolver addresses outside the ranges reserved: %v", got)
	}
	want := netsvc.ResolverMAC("green") + " 10.9.0.254 fd00:9::f:ffff"
	if a := e.port(netsvc.ResolverName("green")).Set("addresses"); !slices.Equal(a, []string{want}) {
		t.Errorf("resolver addresses %v, want %s", a, want)
	}
	if server := e.dhcp("green", keys.KindDHCP).Map("options")["dns_server"]; server != "10.9.0.254" {
		t.Errorf("DHCPv4 dns_server %q", server)
	}
}

// TestIntegrationEnsureNoRoom: an IPv4 subnet whose one usable address is
// taken gets no IPv4 resolver; DHCP names the gateway. (A /30 is the
// natural case, but network.Parse takes IPv4 subnets up to /29: a /29
// with four of its five host addresses excluded.)
func TestIntegrationEnsureNoRoom(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(network.Input{Name: "tiny", Subnet4: "10.10.0.0/29", Exclude: []string{"10.10.0.2-10.10.0.5"}, Subnet6: "fd00:10::/64"}, d)
	p := e.createPort(d, "tiny", "p1", "")
	if p.Addrs[0].String() != "10.10.0.6" {
		t.Fatalf("the port got %v, want the one usable address 10.10.0.6", p.Addrs)
	}
	e.settle(d)
	e.ensure(d, "tiny")
	if r4, r6 := recorded(e.switchRow("tiny")); r4 != "" || r6 != "fd00:10::f:ffff" {
		t.Errorf("recorded resolvers %q %q, want none for IPv4, fd00:10::f:ffff", r4, r6)
	}
	want := netsvc.ResolverMAC("tiny") + " fd00:10::f:ffff"
	if a := e.port(netsvc.ResolverName("tiny")).Set("addresses"); !slices.Equal(a, []string{want}) {
		t.Errorf("resolver addresses %v, want %s", a, want)
	}
	if server := e.dhcp("tiny", keys.KindDHCP).Map("options")["dns_server"]; server != "10.10.0.1" {
		t.Errorf("DHCPv4 dns_server %q, want the gateway 10.10.0.1", server)
	}
	if got := e.resolverReservations("tiny"); !slices.Equal(got, []string{"fd00:10::f:ffff"}) {
		t.Errorf("resolver reservations %v", got)
	}
	if r := e.port("p1"); r.Str("dhcpv4_options") == "" {
		t.Errorf("port without DHCPv4 options: %v", r)
	}
}

// TestIntegrationEnsureEmptyAddresses: a named port of the network whose
// addresses entry is empty (a row written by hand, or by a bug elsewhere)
// has no DNS record; Ensure does not fail, let alone panic.
func TestIntegrationEnsureEmptyAddresses(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(dual, d)
	ls, err := d.nb.GetSwitch("blue")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.nb.CreatePort(e.ctx, ls, &nbdb.LogicalSwitchPort{Name: "odd", Addresses: []string{""},
		ExternalIDs: map[string]string{keys.Network: "blue", keys.DNSName: "odd"}}); err != nil {
		t.Fatal(err)
	}
	e.settle(d)
	err = func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return d.m.Ensure(e.ctx, "blue")
	}()
	if err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	e.settle(d)
	if r := e.dnsRow("blue").Map("records"); len(r) != 0 {
		t.Errorf("DNS records %v, want none", r)
	}
}

// TestIntegrationDeleteSwitch: a network with only service ports is deleted
// with all its service rows; one with a workload port is refused; another
// network keeps its rows.
func TestIntegrationDeleteSwitch(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(dual, d)
	e.createNet(network.Input{Name: "red", Subnet4: "10.11.0.0/24", Subnet6: "fd00:11::/64"}, d)
	e.ensure(d, "blue")
	e.ensure(d, "red")
	e.createPort(d, "red", "w1", "web")
	e.settle(d)
	e.ensure(d, "red")
	redBefore := e.rows(nbdb.DHCPOptionsTable, []string{"_uuid"}, map[string]string{keys.Network: "red"})
	if len(redBefore) != 4 { // DHCPv4, DHCPv6, two resolver reservations
		t.Fatalf("red: %d DHCP_Options rows, want 4", len(redBefore))
	}

	if err := d.nb.DeleteSwitch(e.ctx, "blue"); err != nil {
		t.Fatalf("delete a network with only service ports: %v", err)
	}
	for _, c := range []struct {
		table string
		ids   map[string]string
	}{
		{nbdb.LogicalSwitchTable, map[string]string{keys.Network: "blue"}},
		{nbdb.LogicalRouterTable, map[string]string{keys.ServiceOf: "blue"}},
		{nbdb.LogicalRouterPortTable, map[string]string{keys.ServiceOf: "blue"}},
		{nbdb.LogicalSwitchPortTable, map[string]string{keys.ServiceOf: "blue"}},
		{nbdb.DHCPOptionsTable, map[string]string{keys.Network: "blue"}},
		{nbdb.DNSTable, map[string]string{keys.ServiceOf: "blue"}},
	} {
		if rs := e.rows(c.table, nil, c.ids); len(rs) != 0 {
			t.Errorf("after deleting blue: %d %s rows left: %v", len(rs), c.table, rs)
		}
	}

	err := d.nb.DeleteSwitch(e.ctx, "red")
	if !errors.Is(err, ovn.ErrInUse) {
		t.Fatalf("delete a network with a workload port: %v, want ErrInUse", err)
	}
	if got := e.rows(nbdb.DHCPOptionsTable, []string{"_uuid"}, map[string]string{keys.Network: "red"}); len(got) != len(redBefore) {
		t.Errorf("red: %d DHCP_Options rows after the refused deletion, want %d", len(got), len(redBefore))
	}
	e.one(nbdb.LogicalRouterTable, nil, map[string]string{keys.ServiceOf: "red"})
	e.one(nbdb.DNSTable, nil, map[string]string{keys.ServiceOf: "red"})
	e.port(netsvc.ResolverName("red"))
	e.port(netsvc.RouterLSPName("red"))
}
