package nbstore

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// A floating IP has one user. Two daemons, each checking its own cache,
// race to take the same floating IP: one puts a load balancer's listeners
// on it, the other gives it a port forward or associates it with a port.
// Many rounds, each daemon on either side: never do both win, and the
// loser gets a conflict (or, once its cache has the winner, the refusal
// naming it) and wrote nothing.
func TestIntegrationFIPRace(t *testing.T) {
	e := fipEnv(t)
	fip := mustAddr("192.0.2.60")
	e.rt.FIPUsers = e.m.FIPUsers
	m2 := e.secondDaemon()
	rt2 := &rtstore.Manager{NB: m2.NB, SB: e.SB, Alloc: m2.Alloc, MACPrefix: stacktest.MACPrefix, Log: e.m.Log, FIPUsers: m2.FIPUsers}
	e.port("pb", "blue")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, ok := m2.NB.PortByName("pb"); return ok }, "second daemon's cache")
	type daemon struct {
		m  *Manager
		rt *rtstore.Manager
	}
	ds := [2]daemon{{e.m, e.rt}, {m2, rt2}}
	others := map[string]func(d daemon) error{
		"forward": func(d daemon) error {
			_, err := d.rt.AddForward(e.ctx, rtstore.ForwardRequest{Address: fip, Protocol: "tcp", Port: 2222, Target: "pb", TargetPort: 22})
			return err
		},
		"association": func(d daemon) error {
			_, err := d.rt.AssociateFIP(e.ctx, fip, "pb", netip.Addr{})
			return err
		},
	}
	web := lb.LoadBalancer{Name: "web", Network: "blue", VIP: mustAddr("10.0.0.100")}
	takers := map[string]func(d daemon) error{ // "web" takes the floating IP
		"create": func(d daemon) error { l := web; l.FIP = fip; _, err := d.m.Create(e.ctx, l); return err },
		"set":    func(d daemon) error { _, err := d.m.Update(e.ctx, "web", &fip, nil); return err },
	}
	others["load balancer"] = func(d daemon) error {
		_, err := d.m.Create(e.ctx, lb.LoadBalancer{Name: "web2", Network: "blue", VIP: mustAddr("10.0.0.101"), FIP: fip})
		return err
	}
	undo := map[string]func(d daemon) error{
		"forward":       func(d daemon) error { _, err := d.rt.DeleteForward(e.ctx, fip, "tcp", 2222); return err },
		"association":   func(d daemon) error { _, err := d.rt.DisassociateFIP(e.ctx, fip); return err },
		"load balancer": func(d daemon) error { return d.m.Delete(e.ctx, "web2") },
	}
	const rounds = 8
	for _, mode := range []string{"create", "set"} {
		for _, other := range []string{"forward", "association", "load balancer"} {
			wins := map[string]int{}
			for i := range rounds {
				a, b := ds[i%2], ds[1-i%2]
				if mode == "set" {
					e.must(e.m.Create(e.ctx, web))
					ovsdbtest.Eventually(t, 5*time.Second, func() bool { return m2.NB.GetLB("web") != nil }, "second daemon's cache")
				}
				round := fmt.Sprintf("load balancer %s vs %s, round %d", mode, other, i)
				lbErr, otherErr := race(func() error { return takers[mode](a) }, func() error { return others[other](b) })
				switch {
				case lbErr == nil && otherErr == nil:
					t.Fatalf("%s: both took floating IP %s", round, fip)
				case lbErr != nil && otherErr != nil:
					t.Fatalf("%s: both lost: %v; %v", round, lbErr, otherErr)
				case lbErr == nil:
					wins["web"]++
					e.lost(round, otherErr, fip)
				default:
					wins[other]++
					e.lost(round, lbErr, fip)
				}
				e.oneFIPUser(round, mode == "create" && lbErr != nil)
				if otherErr == nil {
					e.must(nil, undo[other](b))
				}
				if mode == "set" || lbErr == nil {
					e.must(nil, e.m.Delete(e.ctx, "web"))
				}
				for _, d := range ds { // both caches: the floating IP free again
					ovsdbtest.Eventually(t, 5*time.Second, func() bool {
						fw, _ := d.m.NB.ForwardRows(fip)
						nat, _ := d.m.NB.NATsOf(func(n *nbdb.NAT) bool { return n.ExternalIDs[keys.FIP] == fip.String() })
						return d.m.NB.GetLB("web") == nil && len(fw) == 0 && len(nat) == 0 && len(d.m.FIPUsers(fip)) == 0
					}, "%s: floating IP free again", round)
				}
			}
			t.Logf("load balancer %s vs %s: wins %v in %d rounds", mode, other, wins, rounds)
		}
	}
}

// race runs f and g at once and returns their errors.
func race(f, g func() error) (ef, eg error) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	wg.Add(2)
	go func() { defer wg.Done(); <-start; ef = f() }()
	go func() { defer wg.Done(); <-start; eg = g() }()
	close(start)
	wg.Wait()
	return ef, eg
}

// lost checks a loser's error: a conflict or in-use refusal naming the
// floating IP.
func (e *routedEnv) lost(round string, err error, fip netip.Addr) {
	e.t.Helper()
	if !errors.Is(err, errs.Conflict) && !errors.Is(err, errs.InUse) {
		e.t.Fatalf("%s: loser's error %v, want a conflict or in-use refusal", round, err)
	}
	if !strings.Contains(err.Error(), fip.String()) {
		e.t.Fatalf("%s: loser's error %q does not name %s", round, err, fip)
	}
}

// oneFIPUser checks Northbound after a round: one user of the floating IP
// 192.0.2.60, and no reservation left by load balancer web if its creation
// lost.
func (e *routedEnv) oneFIPUser(round string, webLost bool) {
	e.t.Helper()
	lbs := strings.Fields(e.NBCtl("--bare", "--columns=name", "find", "Load_Balancer", "external_ids:\""+keys.LBFIP+"\"=192.0.2.60"))
	fwds := strings.Fields(e.NBCtl("--bare", "--columns=name", "find", "Load_Balancer", "external_ids:\""+keys.Forward+"\"=192.0.2.60"))
	nats := strings.Fields(e.NBCtl("--bare", "--columns=external_ip", "find", "NAT", "external_ip=192.0.2.60"))
	res := e.lbReservations("web", "blue")
	if len(lbs)+len(fwds)+len(nats) != 1 || (webLost && (len(res) > 0 || e.NBCtl("--bare", "--columns=name", "find", "Load_Balancer", "name="+ovn.LBRowName("web")) != "")) {
		e.t.Fatalf("%s: want one user, have load balancers %v, forwards %v, NAT %v (web's reservations %v)", round, lbs, fwds, nats, res)
	}
}
