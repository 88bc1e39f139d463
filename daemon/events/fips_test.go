package events

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// fipRowOf is a floating IP's reservation row, associated with port ("":
// not associated).
func fipRowOf(uuid, ip, port string) *nbdb.DHCPOptions {
	r := ovn.Reservation{UUID: uuid, Network: "ext", Owner: keys.OwnerFIP, IP: netip.MustParseAddr(ip)}
	if port != "" {
		r.FIPPort, r.FIPFixed = port, netip.MustParseAddr("10.0.0.5")
	}
	return r.Row()
}

// TestFIPIndex: events associate, move and drop floating IPs and name the
// ports they touch; a pass replaces the index; an event older than the
// pass, arriving after it, is corrected by the one that follows.
func TestFIPIndex(t *testing.T) {
	x := newFIPIndex()
	ips := func(port string) []string {
		var out []string
		for _, a := range x.of(port) {
			out = append(out, a.String())
		}
		return out
	}
	check := func(port string, want ...string) {
		t.Helper()
		if got := ips(port); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", port, got, want)
		}
	}
	u1, u2 := "11111111-0000-0000-0000-000000000001", "11111111-0000-0000-0000-000000000002"
	if got := x.event(nil, fipRowOf(u1, "192.0.2.60", "")); len(got) != 0 {
		t.Errorf("an unassociated floating IP touched %v", got)
	}
	if got := x.event(fipRowOf(u1, "192.0.2.60", ""), fipRowOf(u1, "192.0.2.60", "pa")); !slices.Equal(got, []string{"pa"}) {
		t.Errorf("associating touched %v", got)
	}
	x.event(nil, fipRowOf(u2, "192.0.2.51", "pa"))
	check("pa", "192.0.2.51", "192.0.2.60")
	if got := x.event(fipRowOf(u1, "192.0.2.60", "pa"), fipRowOf(u1, "192.0.2.60", "pb")); !slices.Equal(got, []string{"pa", "pb"}) {
		t.Errorf("moving touched %v", got)
	}
	check("pa", "192.0.2.51")
	check("pb", "192.0.2.60")
	x.event(fipRowOf(u2, "192.0.2.51", "pa"), nil)
	check("pa")
	// A pass: u1 on pc, u2 gone. Then a late event of before the pass,
	// and the one after it.
	x.replace([]ovn.Reservation{{UUID: u1, Owner: keys.OwnerFIP, IP: netip.MustParseAddr("192.0.2.60"), FIPPort: "pc"}})
	check("pb")
	check("pc", "192.0.2.60")
	x.event(fipRowOf(u1, "192.0.2.60", "pa"), fipRowOf(u1, "192.0.2.60", "pb"))
	x.event(fipRowOf(u1, "192.0.2.60", "pb"), fipRowOf(u1, "192.0.2.60", "pc"))
	check("pb")
	check("pc", "192.0.2.60")
	if len(x.rows) != 1 || len(x.byPort) != 1 {
		t.Errorf("left over: %v %v", x.rows, x.byPort)
	}
}
