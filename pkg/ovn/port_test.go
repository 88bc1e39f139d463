package ovn

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

func TestParseAddresses(t *testing.T) {
	a := netip.MustParseAddr
	for _, tc := range []struct {
		name    string
		entries []string
		mac     string
		ips     []netip.Addr
	}{
		{"none", nil, "", nil},
		{"empty entry", []string{""}, "", nil},
		{"blank entry", []string{" "}, "", nil},
		{"unknown", []string{"unknown"}, "", nil},
		{"dynamic", []string{"dynamic"}, "", nil},
		{"router", []string{"router"}, "", nil},
		{"mac dynamic", []string{"0a:00:00:00:00:01 dynamic"}, "0a:00:00:00:00:01", nil},
		{"mac only", []string{"0a:00:00:00:00:01"}, "0a:00:00:00:00:01", nil},
		{"dual stack", []string{"0A:00:00:00:00:01 10.0.0.5 fd00::5"}, "0a:00:00:00:00:01", []netip.Addr{a("10.0.0.5"), a("fd00::5")}},
		{"garbage tokens skipped", []string{"0a:00:00:00:00:01 x 10.0.0.5 10.0.0.300"}, "0a:00:00:00:00:01", []netip.Addr{a("10.0.0.5")}},
		{"bad mac", []string{"zz 10.0.0.5"}, "", []netip.Addr{a("10.0.0.5")}},
		{"eui64 is no Ethernet MAC", []string{"00:00:00:00:00:00:00:01 10.0.0.5"}, "", []netip.Addr{a("10.0.0.5")}},
		{"several entries", []string{"", "unknown", "0a:00:00:00:00:02 10.0.0.6", "0a:00:00:00:00:03 10.0.0.7"},
			"0a:00:00:00:00:02", []netip.Addr{a("10.0.0.6"), a("10.0.0.7")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mac, ips := ParseAddresses(tc.entries)
			got := ""
			if mac != nil {
				got = mac.String()
			}
			if got != tc.mac || !slices.Equal(ips, tc.ips) {
				t.Errorf("ParseAddresses(%q) = %q %v, want %q %v", tc.entries, got, ips, tc.mac, tc.ips)
			}
		})
	}
}

func TestPortOf(t *testing.T) {
	up := true
	lsp := &nbdb.LogicalSwitchPort{
		UUID: "u1", Name: "p1", Up: &up,
		Addresses: []string{"0a:00:00:00:00:01 10.0.0.5 fd00::5"},
		Options:   map[string]string{keys.OptRequestedChassis: "a,b", keys.OptActivation: "rarp"},
		ExternalIDs: map[string]string{
			keys.Network: "blue", keys.Kind: keys.KindVM, keys.VMUUID: "vu", keys.VMName: "web", keys.VMState: "migrating",
			keys.Chassis: "a", keys.DNSName: "web", keys.SecurityGroups: "db, web,,", keys.MigrationFrom: "a", keys.MigrationTo: "b",
		},
	}
	p := PortOf(lsp)
	if !p.Managed() || p.Name != "p1" || p.UUID != "u1" || p.Network != "blue" || p.Kind != keys.KindVM || p.VMUUID != "vu" ||
		p.VMName != "web" || p.VMState != "migrating" || p.Chassis != "a" || p.DNSName != "web" || !p.Up ||
		p.RequestedChassis != "a,b" || p.Activation != "rarp" || p.Migration() != "a -> b" {
		t.Errorf("PortOf = %+v", p)
	}
	if !slices.Equal(p.SecurityGroups, []string{"db", "web"}) {
		t.Errorf("groups %q", p.SecurityGroups)
	}
	if p.Addresses() != "0a:00:00:00:00:01 10.0.0.5 fd00::5" {
		t.Errorf("addresses %q", p.Addresses())
	}
	// Defensive: rows are input.
	for _, addrs := range [][]string{nil, {""}, {" "}, {"garbage"}} {
		p := PortOf(&nbdb.LogicalSwitchPort{Name: "x", Addresses: addrs})
		if p.Managed() || p.MAC != nil || p.IPs != nil || p.Addresses() != "" {
			t.Errorf("PortOf(%q) = %+v", addrs, p)
		}
	}
}

func TestPortRow(t *testing.T) {
	p := Port{Name: "p1", Network: "blue", Kind: keys.KindContainer, ContainerID: "c", Ifname: "eth0", Netns: "/n",
		HostIfname: "h", Chassis: "ch", RequestedChassis: "ch", SecurityGroups: []string{"a", "b"},
		IPs: []netip.Addr{netip.MustParseAddr("10.0.0.5")}}
	p.MAC, _ = ParseAddresses([]string{"0a:00:00:00:00:01 x"})
	row := p.Row()
	if row.Addresses[0] != "0a:00:00:00:00:01 10.0.0.5" || row.PortSecurity[0] != row.Addresses[0] || row.Options[keys.OptRequestedChassis] != "ch" {
		t.Errorf("row %+v", row)
	}
	if row.ExternalIDs[keys.SecurityGroups] != "a,b" || row.ExternalIDs[keys.HostIfname] != "h" || len(row.ExternalIDs) != 8 {
		t.Errorf("external_ids %v", row.ExternalIDs)
	}
	if back := PortOf(row); back.Addresses() != p.Addresses() || back.ContainerID != "c" || back.Netns != "/n" {
		t.Errorf("round trip %+v", back)
	}
}

func TestReservationOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		ids  map[string]string
		ok   bool
	}{
		{"reservation", map[string]string{keys.Kind: keys.KindReservation, keys.Network: "blue", keys.Owner: "o", keys.IP: "10.0.0.9", keys.MAC: "0a:00:00:00:00:09"}, true},
		{"dhcp options", map[string]string{keys.Kind: keys.KindDHCP, keys.Network: "blue"}, false},
		{"no address", map[string]string{keys.Kind: keys.KindReservation, keys.Network: "blue"}, false},
		{"bad address", map[string]string{keys.Kind: keys.KindReservation, keys.IP: "10.0.0.300"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, ok := ReservationOf(&nbdb.DHCPOptions{UUID: "u", ExternalIDs: tc.ids})
			if ok != tc.ok {
				t.Fatalf("ok = %v", ok)
			}
			if ok && (r.UUID != "u" || r.Network != "blue" || r.Owner != "o" || r.MAC != "0a:00:00:00:00:09" || r.IP.String() != "10.0.0.9") {
				t.Errorf("%+v", r)
			}
			if ok {
				if back, _ := ReservationOf(r.Row()); back.IP != r.IP || back.MAC != r.MAC || r.Row().Cidr != "10.0.0.9/32" {
					t.Errorf("round trip %+v", back)
				}
			}
		})
	}
}

func TestPortMappingsRoundTrip(t *testing.T) {
	ms := []PortMapping{
		{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"},
		{HostPort: 53, ContainerPort: 53, Protocol: "udp", HostIP: netip.MustParseAddr("fd00::1")},
	}
	s := FormatPortMappings(ms)
	if s != "tcp/8080/80,udp/53/53/fd00::1" {
		t.Fatalf("format: %q", s)
	}
	back := ParsePortMappings(s + ",garbage,tcp/99999/1,tcp/1/2/not-an-ip,")
	if FormatPortMappings(back) != s {
		t.Fatalf("parse: %v", back)
	}
	p := Port{Name: "p", Network: "blue", PortMappings: ms}
	if got := PortOf(p.Row()).PortMappings; FormatPortMappings(got) != s {
		t.Fatalf("row round trip: %v", got)
	}
	if ParsePortMappings("") != nil {
		t.Fatal("empty value has mappings")
	}
}
