package nbstore

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationIPAMScopedNoClash: the Northbound client loads a
// network's reservations only when it is first used (pkg/ovn scope). A
// fresh daemon, whose cache holds none of the reservations another host
// made, then allocates on that network, at the same time as that host: no
// address is handed out twice, every reservation of the other host counts
// (the owner and MAC a static binding needs included), and a network it
// never used stays unloaded.
func TestIntegrationIPAMScopedNoClash(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a := newAllocator(t, srv)
	createNet(t, a, network.Input{Name: "n1", Subnet4: "10.8.0.0/24"})
	createNet(t, a, network.Input{Name: "n2", Subnet4: "10.9.0.0/24"})
	ctx := ovsdbtest.Context(t, 6*bigTimeout)
	held := map[netip.Addr]string{}
	for i := range 150 {
		ip, err := a.Reserve(ctx, "n1", fmt.Sprintf("a%d", i), netip.Addr{}, false, nil)
		if err != nil {
			t.Fatal(err)
		}
		held[ip] = "a"
	}
	mac, _ := net.ParseMAC("0a:51:4e:00:00:42")
	static, err := a.Reserve(ctx, "n1", "static", netip.Addr{}, false, mac)
	if err != nil {
		t.Fatal(err)
	}
	held[static] = "a"
	if _, err := a.Reserve(ctx, "n2", "a", netip.Addr{}, false, nil); err != nil {
		t.Fatal(err)
	}

	b := newAllocator(t, srv) // the fresh daemon
	ovntest.WaitSwitch(t, b.NB, "n1")
	loaded := func(netName string) int {
		rows, _ := ovs.QueryShallow(b.NB.Conn, nbdb.DHCPOptionsTable, func(d *nbdb.DHCPOptions) bool {
			return d.ExternalIDs[keys.Kind] == keys.KindReservation && d.ExternalIDs[keys.Network] == netName
		})
		return len(rows)
	}
	if n := loaded("n1"); n != 0 {
		t.Fatalf("the fresh daemon's cache holds %d reservations of n1 before using it", n)
	}
	var mu sync.Mutex
	var failures []error
	var wg sync.WaitGroup
	for _, who := range []struct {
		name string
		s    *Store
	}{{"a", a}, {"b", b}, {"b", b}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ip, err := who.s.Reserve(ctx, "n1", who.name, netip.Addr{}, false, nil)
				mu.Lock()
				if err == nil {
					if prev, dup := held[ip]; dup {
						failures = append(failures, fmt.Errorf("%s got %s, held by %s", who.name, ip, prev))
					}
					held[ip] = who.name
				} else if !errors.Is(err, ipam.ErrExhausted) {
					failures = append(failures, err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %v", len(failures), failures[0])
	}
	if len(held) != 253 {
		t.Fatalf("%d addresses held of 253", len(held))
	}
	checkScopedShow(t, a, b, loaded)
	ub, _ := b.Show("n1")
	if e := ub[0].Reservations[static]; e.Owner != "static" || e.MAC != mac.String() {
		t.Fatalf("the fresh daemon sees the static binding %s as %+v", static, e)
	}
}

// checkScopedShow: both daemons account every address of n1 alike, the
// fresh one never loaded n2.
func checkScopedShow(t *testing.T, a, b *Store, loaded func(string) int) {
	t.Helper()
	ua, err := a.Show("n1")
	if err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, bigTimeout, func() bool {
		ub, err := b.Show("n1")
		return err == nil && len(ub) == 1 && len(ua) == 1 && ub[0].Used == ua[0].Used && ub[0].Used == 253
	}, "the fresh daemon's IPAMShow of n1 differs from the other host's (%d used there)", ua[0].Used)
	if n := loaded("n2"); n != 0 || b.NB.InScope("n2") {
		t.Fatalf("the fresh daemon loaded %d reservations of n2, a network it never used", n)
	}
}

// bigTimeout bounds one wait of the scope test.
const bigTimeout = 10 * time.Second
