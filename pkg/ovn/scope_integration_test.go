package ovn_test

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// reserveN writes n plain reservations of network from first on, in one
// transaction (another host's).
func reserveN(t *testing.T, nb *ovn.NB, network string, first netip.Addr, n int) {
	t.Helper()
	var all []ovn.Reservation
	a := first
	for i := range n {
		all = append(all, ovn.Reservation{Network: network, Owner: fmt.Sprintf("w%d", i), IP: a})
		a = a.Next()
	}
	insert(t, nb, all...)
}

func insert(t *testing.T, nb *ovn.NB, rs ...ovn.Reservation) {
	t.Helper()
	ctx := ovsdbtest.Context(t, 10*time.Second)
	var ops []ovsdb.Operation
	for _, r := range rs {
		o, err := nb.InsertReservationOps(r)
		if err != nil {
			t.Fatal(err)
		}
		ops = append(ops, o...)
	}
	if _, err := nb.TransactResults(ctx, "reserve", ops); err != nil {
		t.Fatalf("insert reservations: %v", err)
	}
}

// cached counts the DHCP_Options rows in nb's cache that pred keeps.
func cached(t *testing.T, nb *ovn.NB, pred func(d *nbdb.DHCPOptions) bool) int {
	t.Helper()
	rows, err := ovs.QueryShallow(nb.Conn, nbdb.DHCPOptionsTable, pred)
	if err != nil {
		t.Fatal(err)
	}
	return len(rows)
}

func plainOf(network string) func(d *nbdb.DHCPOptions) bool {
	return func(d *nbdb.DHCPOptions) bool {
		r, ok := ovn.ReservationOf(d)
		return ok && r.Network == network && r.Owner != keys.OwnerFIP && r.Owner != keys.OwnerResolver
	}
}

// TestIntegrationNBReservationScope: a fresh client loads no plain
// reservation, but every row it reads on every network (DHCP options, the
// floating IPs', the resolvers'); reading a network's reservations loads
// all of them, with their columns, and keeps them current; other networks
// stay unloaded; a reconnect keeps the scope.
func TestIntegrationNBReservationScope(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a := ovntest.DialNB(t, srv) // another host, which writes
	ctx := ovsdbtest.Context(t, 30*time.Second)
	for i, n := range []string{"near", "far"} {
		if _, err := a.CreateSwitch(ctx, n, map[string]string{keys.Subnet4: fmt.Sprintf("10.%d.0.0/24", 70+i)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.DHCPv4(ctx, "far", "10.71.0.0/24", map[string]string{"lease_time": "3600"}); err != nil {
		t.Fatal(err)
	}
	reserveN(t, a, "near", netip.MustParseAddr("10.70.0.10"), 3)
	reserveN(t, a, "far", netip.MustParseAddr("10.71.0.10"), 40)
	fip := ovn.Reservation{Network: "far", Owner: keys.OwnerFIP, IP: netip.MustParseAddr("10.71.0.200"),
		FIPPort: "p1", FIPFixed: netip.MustParseAddr("10.70.0.5")}
	dns := ovn.Reservation{Network: "far", Owner: keys.OwnerResolver, IP: netip.MustParseAddr("10.71.0.254")}
	bound := ovn.Reservation{Network: "far", Owner: "static", MAC: "0a:51:4e:00:00:01", IP: netip.MustParseAddr("10.71.0.100")}
	insert(t, a, fip, dns, bound)

	b := ovntest.DialNB(t, srv) // the fresh daemon
	if n := cached(t, b, plainOf("far")) + cached(t, b, plainOf("near")); n != 0 {
		t.Fatalf("a fresh client cached %d plain reservations, want none before they are read", n)
	}
	if b.InScope("far") || b.InScope("near") {
		t.Fatal("a fresh client has networks in scope")
	}
	checkAlwaysLoaded(t, b, fip, dns)

	rs, err := b.Reservations("far")
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 43 || !b.InScope("far") {
		t.Fatalf("Reservations(far) = %d rows (in scope %v), want 43", len(rs), b.InScope("far"))
	}
	checkColumns(t, b, bound)
	if n := cached(t, b, plainOf("near")); n != 0 {
		t.Fatalf("reading far loaded %d reservations of near", n)
	}

	// Changes of a network in scope arrive; of one outside, not until read.
	reserveN(t, a, "far", netip.MustParseAddr("10.71.0.60"), 2)
	reserveN(t, a, "near", netip.MustParseAddr("10.70.0.60"), 2)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return cached(t, b, plainOf("far")) == 43 },
		"far's new reservations never reached the client (%d cached)", cached(t, b, plainOf("far")))
	if n := cached(t, b, plainOf("near")); n != 0 {
		t.Fatalf("near is not in scope but %d of its reservations are cached", n)
	}
	if rs, err := b.Reservations("near"); err != nil || len(rs) != 5 {
		t.Fatalf("Reservations(near) = %d, %v; want 5", len(rs), err)
	}

	// A restart of the server: the reconnect asks for the same scope.
	srv.Stop()
	srv.Start()
	ovsdbtest.Eventually(t, 20*time.Second, a.Connected, "the writer never reconnected")
	reserveN(t, a, "far", netip.MustParseAddr("10.71.0.80"), 1)
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		return b.Connected() && cached(t, b, plainOf("far")) == 44 && cached(t, b, plainOf("near")) == 5
	}, "after a reconnect the client caches far %d (want 44), near %d (want 5)", cached(t, b, plainOf("far")), cached(t, b, plainOf("near")))
	checkAlwaysLoaded(t, b, fip, dns)

	// ReservationsOf an owner of any network loads everything.
	// (w1 holds one address in each batch but the last.)
	if rs, err := b.ReservationsOf("w1"); err != nil || len(rs) != 4 {
		t.Fatalf("ReservationsOf(w1) = %v, %v; want 4", rs, err)
	}
}

// checkAlwaysLoaded: the rows a host reads on every network are cached
// without their network in scope: the DHCP options, a floating IP (with
// its association) and a resolver's address.
func checkAlwaysLoaded(t *testing.T, b *ovn.NB, fip, dns ovn.Reservation) {
	t.Helper()
	if b.NetworkDHCP("far", keys.KindDHCP) == "" {
		t.Fatal("the DHCP options row of far is not cached")
	}
	if row := b.NetworkDHCPRow("far", keys.KindDHCP); row == nil || row.Cidr != "10.71.0.0/24" || row.Options["lease_time"] != "3600" {
		t.Fatalf("the DHCP options row of far lacks columns: %+v", row)
	}
	fips, err := b.ReservationsOf(keys.OwnerFIP)
	if err != nil || len(fips) != 1 || fips[0].IP != fip.IP || fips[0].FIPPort != "p1" || fips[0].FIPFixed != fip.FIPFixed {
		t.Fatalf("ReservationsOf(fip) = %+v, %v; want the floating IP with its association", fips, err)
	}
	rs, err := b.ReservationsOwned("far", keys.OwnerResolver)
	if err != nil || len(rs) != 1 || rs[0].IP != dns.IP {
		t.Fatalf("ReservationsOwned(far, resolver) = %+v, %v", rs, err)
	}
}

// checkColumns: a reservation read after its network loaded has every
// column the daemon reads (cidr, owner, MAC, address).
func checkColumns(t *testing.T, b *ovn.NB, want ovn.Reservation) {
	t.Helper()
	rows, err := ovs.Query(b.Conn, func(d *nbdb.DHCPOptions) bool { return d.ExternalIDs[keys.IP] == want.IP.String() })
	if err != nil || len(rows) != 1 {
		t.Fatalf("reservation %s: %d rows, %v", want.IP, len(rows), err)
	}
	got, ok := ovn.ReservationOf(&rows[0])
	if !ok || got.Owner != want.Owner || got.MAC != want.MAC || rows[0].Cidr != want.IP.String()+"/32" {
		t.Fatalf("reservation %s cached as %+v (cidr %q), want %+v", want.IP, got, rows[0].Cidr, want)
	}
}

// TestIntegrationNBWholeMonitor: WholeMonitor loads every reservation at
// once (the peer of the benchmark).
func TestIntegrationNBWholeMonitor(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a := ovntest.DialNB(t, srv)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	if _, err := a.CreateSwitch(ctx, "far", map[string]string{keys.Subnet4: "10.71.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	reserveN(t, a, "far", netip.MustParseAddr("10.71.0.10"), 5)
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := ovn.NewNB(cctx, []string{srv.Remote}, nil, ovsdbtest.Logger(t), ovn.WholeMonitor())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	if n := cached(t, b, plainOf("far")); n != 5 || !b.InScope("far") {
		t.Fatalf("WholeMonitor cached %d reservations of far, want 5", n)
	}
}

// TestIntegrationNBLocalNetworks: the networks a daemon loads at start are
// those of the ports of its chassis.
func TestIntegrationNBLocalNetworks(t *testing.T) {
	nb, _ := ovntest.NewNB(t)
	ctx := ovsdbtest.Context(t, 10*time.Second)
	for _, p := range []ovn.Port{{Name: "a", Network: "n1", Chassis: "h1"}, {Name: "b", Network: "n2", Chassis: "h1"},
		{Name: "c", Network: "n2", Chassis: "h1"}, {Name: "d", Network: "n3", Chassis: "h2"}} {
		ls := waitOrCreate(t, ctx, nb, p.Network)
		if err := nb.CreatePort(ctx, ls, p.Row()); err != nil {
			t.Fatal(err)
		}
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		got, err := nb.LocalNetworks("h1")
		slices.Sort(got)
		return err == nil && slices.Equal(got, []string{"n1", "n2"})
	}, "LocalNetworks(h1) never became [n1 n2]")
	if err := nb.NeedNetworks(ctx, "n1", "n2"); err != nil || !nb.InScope("n1") || !nb.InScope("n2") || nb.InScope("n3") {
		t.Fatalf("NeedNetworks(n1, n2): %v; in scope n1 %v n2 %v n3 %v", err, nb.InScope("n1"), nb.InScope("n2"), nb.InScope("n3"))
	}
}

func waitOrCreate(t *testing.T, ctx context.Context, nb *ovn.NB, network string) *nbdb.LogicalSwitch {
	t.Helper()
	if ls, err := nb.GetSwitch(network); err == nil {
		return ls
	}
	if _, err := nb.CreateSwitch(ctx, network, map[string]string{keys.Subnet4: "10.72.0.0/24"}); err != nil {
		t.Fatal(err)
	}
	return waitSwitch(t, nb, network)
}

// TestIntegrationNBReservationScopeCluster: against a Raft cluster, whose
// reconnects resume with monitor_cond_since (only the changes since the
// last transaction seen), a network loaded before the leader dies stays
// loaded and current, and one loaded after loads in full.
func TestIntegrationNBReservationScopeCluster(t *testing.T) {
	cl := ovsdbtest.NewNBCluster(t)
	ctx := ovsdbtest.Context(t, 60*time.Second)
	open := func() *ovn.NB {
		cctx, cancel := context.WithCancel(context.Background())
		nb, err := ovn.NewNB(cctx, cl.Remotes(), nil, ovsdbtest.Logger(t))
		if err != nil {
			cancel()
			t.Fatal(err)
		}
		t.Cleanup(func() { nb.Close(); cancel() })
		if err := nb.WaitConnected(ctx); err != nil {
			t.Fatal(err)
		}
		return nb
	}
	a, b := open(), open()
	for i, n := range []string{"far", "near"} {
		if _, err := a.CreateSwitch(ctx, n, map[string]string{keys.Subnet4: fmt.Sprintf("10.%d.0.0/24", 74+i)}); err != nil {
			t.Fatal(err)
		}
	}
	reserveN(t, a, "far", netip.MustParseAddr("10.74.0.10"), 20)
	waitSwitch(t, b, "far")
	if rs, err := b.Reservations("far"); err != nil || len(rs) != 20 {
		t.Fatalf("Reservations(far) = %d, %v; want 20", len(rs), err)
	}
	leader := cl.Leader()
	cl.Members[leader].Kill()
	if _, err := cl.WaitLeader(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 30*time.Second, func() bool { return a.Connected() && b.Connected() }, "the clients never reconnected")
	reserveN(t, a, "far", netip.MustParseAddr("10.74.0.60"), 3)
	reserveN(t, a, "near", netip.MustParseAddr("10.75.0.60"), 2)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return cached(t, b, plainOf("far")) == 23 },
		"after the leader died far has %d reservations cached, want 23", cached(t, b, plainOf("far")))
	if n := cached(t, b, plainOf("near")); n != 0 {
		t.Fatalf("near is not in scope but %d of its reservations are cached", n)
	}
	if rs, err := b.Reservations("near"); err != nil || len(rs) != 2 {
		t.Fatalf("Reservations(near) after the reconnect = %d, %v; want 2", len(rs), err)
	}
	cl.Members[leader].Start()
}
