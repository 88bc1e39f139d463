package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

func newAllocator(t *testing.T, srv *ovsdbtest.Server) *Store {
	t.Helper()
	return &Store{NB: ovntest.DialNB(t, srv), MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: ovsdbtest.Logger(t)}
}

func createNet(t *testing.T, a *Store, in network.Input) {
	t.Helper()
	spec, err := network.Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	ovntest.Switch(spec.Name, spec.ExternalIDs())(t, a.NB)
}

// createPort creates a port of network n1 the way a port's owner does: the
// Tx's allocation and guard, then the port row, in one transaction.
func (s *Store) createPort(ctx context.Context, want Want, name string) (*Claim, error) {
	tx := s.Begin("n1", "create logical port "+name)
	defer tx.Abort()
	for {
		cl, err := tx.Allocate(ctx, want, name)
		if err != nil {
			return nil, err
		}
		p := ovn.Port{Name: name, Network: "n1", Kind: keys.KindContainer, MAC: cl.MAC, IPs: cl.IPs()}
		own, err := s.NB.CreatePortOps(tx.Switch(), p.Row())
		if err != nil {
			return nil, err
		}
		ops, err := tx.Ops()
		if err != nil {
			return nil, err
		}
		res, err := s.NB.TransactResults(ctx, tx.What(), append(ops, own...))
		if retry, err := tx.Commit(ctx, res, err); !retry {
			return cl, err
		}
	}
}

// deletePort deletes a port and frees its addresses in one transaction.
func (s *Store) deletePort(ctx context.Context, name string) error {
	p, err := s.NB.LookupPort(name)
	if err != nil {
		return err
	}
	tx := s.Begin(p.Network, "delete logical port "+name)
	defer tx.Abort()
	for {
		if err := tx.Free(ctx, p); err != nil {
			return err
		}
		own, err := s.NB.DeletePortOps(name)
		if err != nil {
			return err
		}
		ops, err := tx.Ops()
		if err != nil {
			return err
		}
		res, err := s.NB.TransactResults(ctx, tx.What(), append(ops, own...))
		if retry, err := tx.Commit(ctx, res, err); !retry {
			return err
		}
	}
}

// TestIntegrationIPAMPortsAndReservations: ports and reservations share the
// pool; static bindings go to their MAC; releases are reused last; a full
// pool is a clean ipam.ErrExhausted; everything lives in NB.
func TestIntegrationIPAMPortsAndReservations(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a := newAllocator(t, srv)
	createNet(t, a, network.Input{Name: "n1", Subnet4: "10.5.0.0/28", Exclude: []string{"10.5.0.2-10.5.0.3"}})
	ctx := context.Background()

	cl, err := a.createPort(ctx, Want{}, "p1")
	if err != nil {
		t.Fatal(err)
	}
	if got := cl.Addrs[0].String(); got != "10.5.0.4/28" {
		t.Fatalf("first port got %s, want 10.5.0.4/28 (gateway .1 and excluded .2-.3 skipped)", got)
	}
	r, err := a.Reserve(ctx, "n1", "vm-a", netip.Addr{}, false, nil)
	if err != nil || r.String() != "10.5.0.5" {
		t.Fatalf("reserve: %v %v", r, err)
	}
	mac, _ := net.ParseMAC("0a:51:4e:aa:bb:cc")
	if _, err := a.Reserve(ctx, "n1", "vm-b", netip.MustParseAddr("10.5.0.9"), false, mac); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ip   string
		want error
	}{{"10.5.0.4", ErrConflict}, {"10.5.0.5", ErrConflict}, {"10.5.0.2", errs.Invalid}, {"10.6.0.1", errs.Invalid}} {
		if _, err := a.Reserve(ctx, "n1", "x", netip.MustParseAddr(tc.ip), false, nil); !errors.Is(err, tc.want) {
			t.Errorf("reserve %s: %v, want %v", tc.ip, err, tc.want)
		}
	}
	// A port with the bound MAC gets the bound address; asking for it without the MAC is refused.
	if _, err := a.createPort(ctx, Want{IPs: []netip.Addr{netip.MustParseAddr("10.5.0.9")}}, "px"); !errors.Is(err, ErrConflict) {
		t.Fatalf("port asking for a bound address: %v", err)
	}
	cl, err = a.createPort(ctx, Want{MAC: mac}, "p2")
	if err != nil || cl.Addrs[0].Addr().String() != "10.5.0.9" {
		t.Fatalf("static binding: %v %v", cl, err)
	}
	// Everything is in NB, and a second allocator (another daemon) sees it.
	b := newAllocator(t, srv)
	us, err := b.Show("n1")
	if err != nil || us[0].Used != 3 || len(us[0].Reservations) != 2 {
		t.Fatalf("show from a second daemon: %+v %v", us, err)
	}
	checkReleasedLast(t, ctx, a, b)
	checkBindingOutlivesPort(t, ctx, a, mac)
	checkRequestedMAC(t, ctx, a)
}

// checkReleasedLast: release the port p1 (.4): the next allocations use
// the rest first.
func checkReleasedLast(t *testing.T, ctx context.Context, a, b *Store) {
	t.Helper()
	if err := a.deletePort(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; ; i++ {
		ip, err := b.Reserve(ctx, "n1", "fill", netip.Addr{}, false, nil)
		if err != nil {
			if !errors.Is(err, ipam.ErrExhausted) {
				t.Fatalf("fill: %v", err)
			}
			break
		}
		got = append(got, ip.String())
	}
	want := "10.5.0.6 10.5.0.7 10.5.0.8 10.5.0.10 10.5.0.11 10.5.0.12 10.5.0.13 10.5.0.14 10.5.0.4"
	if strings.Join(got, " ") != want {
		t.Fatalf("fill order %v, want %s (the released .4 last)", got, want)
	}
}

// checkBindingOutlivesPort: the bound address stays bound after its port
// goes, until released.
func checkBindingOutlivesPort(t *testing.T, ctx context.Context, a *Store, mac net.HardwareAddr) {
	t.Helper()
	if err := a.deletePort(ctx, "p2"); err != nil {
		t.Fatal(err)
	}
	if us, _ := a.Show("n1"); us[0].Reservations[netip.MustParseAddr("10.5.0.9")].MAC != mac.String() {
		t.Fatalf("static binding lost: %+v", us[0].Reservations)
	}
	if err := a.Release(ctx, "n1", netip.MustParseAddr("10.5.0.9")); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx, "n1", netip.MustParseAddr("10.5.0.9")); !errors.Is(err, errs.NotFound) {
		t.Fatalf("second release: %v", err)
	}
}

// checkRequestedMAC: a requested MAC is accepted only if no port has it yet.
func checkRequestedMAC(t *testing.T, ctx context.Context, a *Store) {
	t.Helper()
	own, _ := net.ParseMAC("0a:51:4e:11:22:33")
	if _, err := a.createPort(ctx, Want{MAC: own}, "p3"); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return a.NB.MACInUse(own.String()) }, "MAC index never saw p3")
	if _, err := a.createPort(ctx, Want{MAC: own}, "p4"); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), own.String()) {
		t.Fatalf("a second port with MAC %s: %v, want a conflict naming it", own, err)
	}
	if err := a.deletePort(ctx, "p3"); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationIPAMConcurrentDaemons: two allocators on two NB
// connections fill one network at once: no address twice, the only
// failures are exhaustion, and NB holds exactly what was handed out.
func TestIntegrationIPAMConcurrentDaemons(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a, b := newAllocator(t, srv), newAllocator(t, srv)
	createNet(t, a, network.Input{Name: "n1", Subnet4: "10.6.0.0/24"})
	ovntest.WaitSwitch(t, b.NB, "n1")
	var mu sync.Mutex
	seen := map[netip.Addr]int{}
	var wg sync.WaitGroup
	var errs []error
	for i, al := range []*Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				ip, err := al.Reserve(context.Background(), "n1", "w", netip.Addr{}, false, nil)
				mu.Lock()
				if err != nil {
					if !errors.Is(err, ipam.ErrExhausted) {
						errs = append(errs, err)
					}
				} else {
					seen[ip] = i
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("failures other than exhaustion: %v", errs[0])
	}
	if len(seen) != 253 {
		t.Fatalf("%d addresses handed out of 253", len(seen))
	}
	// a's cache gets b's last reservations by notification: it may lag the
	// replies by a moment (ovn-nbctl below reads the database itself).
	var res []ovn.Reservation
	if !ovsdbtest.Until(context.Background(), 5*time.Second, func() bool {
		res, _ = a.NB.Reservations("n1")
		return len(res) == 253
	}) {
		t.Fatalf("NB holds %d allocations in a's cache, want 253", len(res))
	}
	rows := strings.Fields(srv.Run("ovn-nbctl", "--db="+srv.Remote, "--bare", "--columns=cidr", "find", "DHCP_Options", "external_ids:quantumnet\\:kind=reservation"))
	uniq := map[string]bool{}
	for _, r := range rows {
		uniq[r] = true
	}
	if len(rows) != 253 || len(uniq) != 253 {
		t.Fatalf("ovn-nbctl sees %d reservation rows, %d distinct", len(rows), len(uniq))
	}
}

// TestIntegrationIPAMConcurrentPorts: two daemons create ports on one
// network at once through the two-phase Tx: the losers of the generation
// guard retry from the winners' state, no address is given twice, and
// deleting every port frees every address.
func TestIntegrationIPAMConcurrentPorts(t *testing.T) {
	srv := ovsdbtest.NewNB(t)
	a, b := newAllocator(t, srv), newAllocator(t, srv)
	createNet(t, a, network.Input{Name: "n1", Subnet4: "10.7.0.0/24"})
	ovntest.WaitSwitch(t, b.NB, "n1")
	ctx := context.Background()
	var mu sync.Mutex
	seen := map[netip.Addr]string{}
	var wg sync.WaitGroup
	errc := make(chan error, 100)
	for d, s := range []*Store{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 30 {
				name := fmt.Sprintf("d%d-p%d", d, i)
				cl, err := s.createPort(ctx, Want{}, name)
				if err != nil {
					errc <- fmt.Errorf("%s: %w", name, err)
					return
				}
				mu.Lock()
				if other, dup := seen[cl.Addrs[0].Addr()]; dup {
					errc <- fmt.Errorf("%s got %s, already %s's", name, cl.Addrs[0], other)
				}
				seen[cl.Addrs[0].Addr()] = name
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { us, err := a.Show("n1"); return err == nil && us[0].Used == 60 }, "a does not see 60 addresses in use")
	for name := range maps.Values(seen) {
		s := a
		if strings.HasPrefix(name, "d1-") {
			s = b
		}
		ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := s.NB.GetPort(name); return err == nil }, "port %s never cached", name)
		if err := s.deletePort(ctx, name); err != nil {
			t.Fatal(err)
		}
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { us, err := b.Show("n1"); return err == nil && us[0].Used == 0 }, "addresses not freed")
}
