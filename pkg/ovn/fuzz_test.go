package ovn

import (
	"slices"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// rowIDs parses "k=v" lines into external_ids.
func rowIDs(text string) map[string]string {
	ids := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			ids[k] = v
		}
	}
	return ids
}

// FuzzPortOf: a Logical_Switch_Port with any addresses (entries separated
// by '|') and external_ids never panics PortOf, and what it yields is
// stable: the port's Addresses entry parses back to the same MAC and IPs.
func FuzzPortOf(f *testing.F) {
	f.Add("", "")  // defect 1: addresses [""]
	f.Add(" ", "") // defect 1: addresses [" "]
	f.Add("0a:51:4e:00:00:01 10.0.0.5 fd00::5", keys.Network+"=blue\n"+keys.SecurityGroups+"=web, ,ssh")
	f.Add("router|unknown|dynamic", "")
	f.Add("0a:51:4e:00:00:01|0a:51:4e:00:00:02 10.0.0.6|garbage 10.0.0.7", keys.Kind+"=vm")
	f.Add("00:00:00:00:00:00:00:01 10.0.0.1", "")
	f.Fuzz(func(t *testing.T, addrs, ids string) {
		lsp := &nbdb.LogicalSwitchPort{Name: "p", Addresses: strings.Split(addrs, "|"), ExternalIDs: rowIDs(ids)}
		p := PortOf(lsp)
		if p.MAC != nil && len(p.MAC) != 6 {
			t.Fatalf("PortOf(%q): MAC %v is not 6 bytes", addrs, p.MAC)
		}
		for _, g := range p.SecurityGroups {
			if g == "" || strings.TrimSpace(g) != g || strings.Contains(g, ",") {
				t.Fatalf("PortOf: group %q", g)
			}
		}
		_, _ = p.Managed(), p.Migration()
		entry := p.Addresses()
		if p.MAC == nil {
			if entry != "" {
				t.Fatalf("Addresses() = %q without a MAC", entry)
			}
			return
		}
		mac, ips := ParseAddresses([]string{entry})
		if mac.String() != p.MAC.String() || !slices.Equal(ips, p.IPs) {
			t.Fatalf("Addresses() = %q reads back as %v %v, want %v %v", entry, mac, ips, p.MAC, p.IPs)
		}
	})
}

// FuzzReservationOf: a DHCP_Options row with any external_ids never panics;
// an accepted reservation's Row reads back to it.
func FuzzReservationOf(f *testing.F) {
	f.Add(keys.Kind + "=" + keys.KindReservation + "\n" + keys.IP + "=10.0.0.9\n" + keys.Network + "=blue\n" + keys.Owner + "=me")
	f.Add(keys.Kind + "=" + keys.KindReservation + "\n" + keys.IP + "=fe80::1%eth0\n" + keys.MAC + "=0a:51:4e:00:00:01")
	f.Add(keys.Kind + "=" + keys.KindReservation + "\n" + keys.IP + "=")
	f.Add(keys.Kind + "=dhcp")
	f.Fuzz(func(t *testing.T, ids string) {
		d := &nbdb.DHCPOptions{UUID: "u", ExternalIDs: rowIDs(ids)}
		_ = DHCPRowOf(d)
		r, ok := ReservationOf(d)
		if !ok {
			return
		}
		back, ok := ReservationOf(r.Row())
		back.UUID = r.UUID
		if !ok || back != r {
			t.Fatalf("ReservationOf(%v) = %+v; its Row reads back as %+v, %v", d.ExternalIDs, r, back, ok)
		}
	})
}
