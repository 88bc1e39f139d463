// Package ipam_test drives address allocation through real quantumnetd
// processes against one real Northbound ovsdb-server: two daemons racing on
// one network, and a daemon killed with SIGKILL in the middle of a stream.
package ipam_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// env builds quantumnetd; the daemons need no root and no sandbox, only a
// Northbound ovsdb-server each test starts (pkg/ovsdbtest).
var env = harness.New(harness.Setup{Name: "ipam", Binaries: []string{"quantumnetd"}})

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// startDaemon runs quantumnetd against nb only (SB and OVS are absent: IPAM
// needs neither) and returns it with a client, once it serves with NB
// connected.
func startDaemon(t *testing.T, nb, name string) (*harness.Daemon, *rpcclient.Client) {
	t.Helper()
	d := harness.LaunchDaemon(t, harness.DaemonConfig{Bin: env.Bin, NB: nb, Chassis: name, LogLevel: "warn"})
	return d, d.MustClient()
}

// TestIntegrationIPAMTwoDaemons: two daemons, two NB connections, 2 x 2,000
// allocations on one /20 at the same time: no address twice, every failure a
// clean exhaustion error, NB holding exactly what was handed out.
func TestIntegrationIPAMTwoDaemons(t *testing.T) {
	env.Require(t)
	nb := ovsdbtest.NewNB(t)
	_, c1 := startDaemon(t, nb.Remote, "chassis-1")
	_, c2 := startDaemon(t, nb.Remote, "chassis-2")
	// A /20 narrowed to 3,800 addresses, so that 4,000 requests run it dry.
	if _, err := c1.CreateNetwork(context.Background(), &api.Network{Name: "race", Subnet4: "10.20.0.0/20", Range4: "10.20.0.10-10.20.14.225"}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		_, err := c2.GetNetwork(context.Background(), &api.NetworkRef{Name: "race"})
		return err == nil
	}, "second daemon never saw the network")
	const perDaemon, workers = 2000, 16
	var mu sync.Mutex
	got := map[string]string{}
	var dups, other []string
	exhausted := 0
	var wg sync.WaitGroup
	start := time.Now()
	for di, c := range []*rpcclient.Client{c1, c2} {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < perDaemon; i += workers {
					owner := fmt.Sprintf("d%d-%d", di+1, i)
					r, err := c.IPAMReserve(context.Background(), &api.IPAMReserveRequest{Network: "race", Owner: owner})
					mu.Lock()
					switch {
					case status.Code(err) == codes.ResourceExhausted:
						exhausted++
					case err != nil:
						other = append(other, err.Error())
					case got[r.Address] != "":
						dups = append(dups, r.Address+" to "+got[r.Address]+" and "+owner)
					default:
						got[r.Address] = owner
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	t.Logf("4,000 allocations by two daemons in %v: %d handed out, %d exhausted", time.Since(start), len(got), exhausted)
	if len(dups) > 0 {
		t.Fatalf("%d addresses handed out twice, e.g. %s", len(dups), dups[0])
	}
	if len(other) > 0 {
		t.Fatalf("%d failures other than exhaustion, e.g. %s", len(other), other[0])
	}
	if len(got) != 3800 || exhausted != 200 {
		t.Fatalf("%d handed out and %d exhausted, want 3800 and 200", len(got), exhausted)
	}
	// NB holds exactly those allocations, with their owners.
	u, err := c2.IPAMShow(context.Background(), &api.NetworkRef{Name: "race"})
	if err != nil {
		t.Fatal(err)
	}
	if s := u.Subnets[0]; s.Used != 3800 || s.Free != 0 || len(s.Reservations) != 3800 {
		t.Fatalf("NB says used %d free %d reservations %d", s.Used, s.Free, len(s.Reservations))
	}
	for _, r := range u.Subnets[0].Reservations {
		if got[r.Address] != r.Owner {
			t.Fatalf("NB has %s for %s, the daemon answered %q", r.Address, r.Owner, got[r.Address])
		}
	}
}

// TestIntegrationIPAMRestart: 10,000 allocations on a /16, the daemon killed
// with SIGKILL in the middle, restarted, the stream finished: every
// acknowledged address is still held by its owner, none is held twice, and
// the rest of the pool is free.
func TestIntegrationIPAMRestart(t *testing.T) {
	env.Require(t)
	nb := ovsdbtest.NewNB(t)
	d, c := startDaemon(t, nb.Remote, "chassis-1")
	if _, err := c.CreateNetwork(context.Background(), &api.Network{Name: "big", Subnet4: "10.30.0.0/16"}); err != nil {
		t.Fatal(err)
	}
	const total, workers = 10000, 16
	st := &stream{t: t, network: "big", workers: workers, acked: map[string]string{}}
	// Kill the daemon while the stream runs.
	go st.killAt(d, 4000)
	st.run(c, total)
	<-d.Done()
	killedAt := len(st.acked)
	_, c2 := startDaemon(t, nb.Remote, "chassis-1")
	st.run(c2, total) // the rest of the stream, on the restarted daemon
	u, err := c2.IPAMShow(context.Background(), &api.NetworkRef{Name: "big"})
	if err != nil {
		t.Fatal(err)
	}
	held := heldByOwner(t, u.Subnets[0].Reservations)
	for addr, owner := range st.acked {
		if held[addr] != owner {
			t.Fatalf("acknowledged %s for %s, NB holds it for %q", addr, owner, held[addr])
		}
	}
	s := u.Subnets[0]
	if s.Used != uint64(len(held)) || s.Used+s.Free+s.Reserved != s.Size {
		t.Fatalf("pool accounting after restart: %+v (NB holds %d)", s, len(held))
	}
	acked, failed := len(st.acked), st.failed
	// Unacknowledged commits are at most the requests in flight at the kill.
	if extra := len(held) - acked; extra < 0 || extra > failed {
		t.Fatalf("NB holds %d allocations, %d acknowledged, %d in flight at the kill", len(held), acked, failed)
	}
	if killedAt >= total || acked+failed != total || failed > workers {
		t.Fatalf("killed after %d of %d; %d acknowledged, %d failed", killedAt, total, acked, failed)
	}
	t.Logf("killed after %d acknowledged; %d in flight, %d of them committed; %d acknowledged in all", killedAt, failed, len(held)-acked, acked)
	first := netip.MustParseAddr("10.30.0.2")
	if _, ok := held[first.String()]; !ok {
		t.Fatalf("first address %s not handed out", first)
	}
}

// stream is a numbered stream of reservations (owners o00000, o00001, ...)
// made by workers at a time, across daemons: what was acknowledged to
// whom, and how many requests failed (in flight when a daemon died).
type stream struct {
	t       *testing.T
	network string
	workers int
	mu      sync.Mutex
	acked   map[string]string // address -> owner
	next    int
	failed  int
}

// run reserves through c until the stream reaches stopAt; a worker whose
// request fails stops (the daemon died: that request may or may not have
// committed). An address acknowledged twice is an error.
func (st *stream) run(c *rpcclient.Client, stopAt int) {
	var wg sync.WaitGroup
	for range st.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				st.mu.Lock()
				i := st.next
				if i >= stopAt {
					st.mu.Unlock()
					return
				}
				st.next++
				st.mu.Unlock()
				owner := fmt.Sprintf("o%05d", i)
				r, err := c.IPAMReserve(context.Background(), &api.IPAMReserveRequest{Network: st.network, Owner: owner})
				if err != nil {
					st.mu.Lock()
					st.failed++
					st.mu.Unlock()
					return // the daemon died: this request may or may not have committed
				}
				st.mu.Lock()
				if prev, dup := st.acked[r.Address]; dup {
					st.t.Errorf("%s acknowledged to %s and %s", r.Address, prev, owner)
				}
				st.acked[r.Address] = owner
				st.mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// killAt kills d with SIGKILL once n addresses are acknowledged.
func (st *stream) killAt(d *harness.Daemon, n int) {
	for {
		st.mu.Lock()
		got := len(st.acked)
		st.mu.Unlock()
		if got >= n {
			d.Kill()
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// heldByOwner maps NB's reservations, address to owner; an owner holding
// two addresses is an error.
func heldByOwner(t *testing.T, rs []*api.IPAMReservation) map[string]string {
	t.Helper()
	held := map[string]string{}
	byOwner := map[string]string{}
	for _, r := range rs {
		held[r.Address] = r.Owner
		if prev, dup := byOwner[r.Owner]; dup {
			t.Errorf("owner %s holds %s and %s", r.Owner, prev, r.Address)
		}
		byOwner[r.Owner] = r.Address
	}
	return held
}
