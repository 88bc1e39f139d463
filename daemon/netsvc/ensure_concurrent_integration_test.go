package netsvc_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// TestIntegrationEnsureThenAllocate: recording the resolvers does not
// look like a concurrent allocation to IPAM's optimistic guard: the next
// port is allocated in one transaction, without a retry (which first waits
// up to 2 s for a generation that never comes).
func TestIntegrationEnsureThenAllocate(t *testing.T) {
	e := newEnv(t)
	d := e.connect()
	e.createNet(dual, d)
	e.ensure(d, "blue")
	before, start := e.srv.Requests("transact"), time.Now()
	e.createPort(d, "blue", "p1", "web")
	if n := e.srv.Requests("transact") - before; n != 1 {
		t.Errorf("creating a port after Ensure: %d transactions (in %v), want 1", n, time.Since(start))
	}
}

// race has two daemons ensure a fresh network at the same moment, both
// successfully, and waits until both caches hold the result.
func (e *env) race(name string, d1, d2 *daemon) {
	e.t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, 2)
	for j, d := range []*daemon{d1, d2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[j] = d.m.Ensure(e.ctx, name)
		}()
	}
	close(start)
	wg.Wait()
	for j, err := range errs {
		if err != nil {
			e.t.Errorf("%s: daemon %d: %v", name, j+1, err)
		}
	}
	e.settle(d1, d2)
}

// raceInput is the i-th network of a race. With ranges its resolvers need
// no reservation: both daemons go straight to the service rows' transaction.
func raceInput(i int, ranged bool) network.Input {
	in := dual
	in.Name, in.Subnet4, in.Subnet6 = fmt.Sprintf("n%d", i), fmt.Sprintf("10.%d.0.0/24", 20+i), fmt.Sprintf("fd00:%d::/64", 20+i)
	if ranged {
		in.Range4, in.Range6 = fmt.Sprintf("10.%d.0.10-10.%d.0.100", 20+i, 20+i), fmt.Sprintf("fd00:%d::100-fd00:%d::1ff", 20+i, 20+i)
	}
	return in
}

// TestIntegrationEnsureConcurrent: two daemons ensure a fresh network at
// the same moment: one set of service rows (the loser retries).
func TestIntegrationEnsureConcurrent(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.connect(), e.connect()
	for i := range 5 {
		in := raceInput(i, i%2 == 0)
		name := in.Name
		e.createNet(in, d1, d2)
		e.race(name, d1, d2)
		svc := map[string]string{keys.ServiceOf: name}
		count := func(table string, ids map[string]string) int { return len(e.rows(table, nil, ids)) }
		for _, c := range []struct {
			what string
			n    int
		}{
			{"routers", count(nbdb.LogicalRouterTable, svc)},
			{"router ports", count(nbdb.LogicalRouterPortTable, svc)},
			{"DHCPv4 rows", count(nbdb.DHCPOptionsTable, map[string]string{keys.Network: name, keys.Kind: keys.KindDHCP})},
			{"DHCPv6 rows", count(nbdb.DHCPOptionsTable, map[string]string{keys.Network: name, keys.Kind: keys.KindDHCP6})},
			{"DNS rows", count(nbdb.DNSTable, svc)},
			{"service switch ports", count(nbdb.LogicalSwitchPortTable, svc)},
			{"resolver ports", len(e.srv.Rows(nbdb.LogicalSwitchPortTable, []string{"_uuid"}, "name="+netsvc.ResolverName(name)))},
			{"router switch ports", len(e.srv.Rows(nbdb.LogicalSwitchPortTable, []string{"_uuid"}, "name="+netsvc.RouterLSPName(name)))},
		} {
			want := 1
			if c.what == "service switch ports" {
				want = 2
			}
			if c.n != want {
				t.Errorf("%s: %d %s, want %d", name, c.n, c.what, want)
			}
		}
		ls := e.switchRow(name)
		if n := len(ls.Set("ports")); n != 2 {
			t.Errorf("%s: %d switch ports, want 2", name, n)
		}
		if n := len(ls.Set("dns_records")); n != 1 {
			t.Errorf("%s: %d dns_records, want 1", name, n)
		}
		r4, r6 := recorded(ls)
		want := netsvc.ResolverMAC(name) + " " + r4 + " " + r6
		if a := e.port(netsvc.ResolverName(name)).Set("addresses"); r4 == "" || r6 == "" || !slices.Equal(a, []string{want}) {
			t.Errorf("%s: resolver port addresses %v, recorded resolvers %q %q", name, a, r4, r6)
		}
	}
}

// TestIntegrationEnsureConcurrentReservations: after the same race, the
// network's resolver reservations are the recorded resolver addresses and
// no others.
func TestIntegrationEnsureConcurrentReservations(t *testing.T) {
	e := newEnv(t)
	d1, d2 := e.connect(), e.connect()
	for i := range 5 {
		in := raceInput(i, false)
		e.createNet(in, d1, d2)
		e.race(in.Name, d1, d2)
		r4, r6 := recorded(e.switchRow(in.Name))
		want := []string{r4, r6}
		slices.Sort(want)
		if got := e.resolverReservations(in.Name); !slices.Equal(got, want) {
			t.Errorf("%s: resolver reservations %v, want only the recorded resolvers' %v", in.Name, got, want)
		}
	}
}
