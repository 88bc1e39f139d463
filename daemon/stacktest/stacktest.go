// Package stacktest is the test harness of the daemon's Northbound stores
// that sit above networks and ports (routers, load balancers): a real,
// private Northbound (and, if asked, Southbound) ovsdb-server with the
// stores below them wired as in main — the IPAM store, the network
// services, the network store and the port transaction — and the steps
// their tests repeat: create a network or a port, register a chassis, run
// ovn-northd or a second daemon's clients, and check that a refused
// request wrote nothing.
//
// The store under test is built on the Stack's clients and handed back
// with Wire, because the network store asks it what keeps a network
// (netstore.Users) and the port transaction asks it for operations of a
// port's deletion (lport.NAT).
package stacktest

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	ipamstore "github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// MACPrefix is the stack's MAC prefix (ports, floating IPs).
var MACPrefix = [3]byte{0x0a, 0x51, 0x4e}

// Stack is a Northbound (and Southbound) with the stores below routers and
// load balancers.
type Stack struct {
	T     testing.TB
	Ctx   context.Context // cancelled when the test ends
	NBSrv *ovsdbtest.Server
	SBSrv *ovsdbtest.Server // nil without SB
	NB    *ovn.NB
	SB    *ovn.SB // nil without SB
	Alloc *ipamstore.Store
	Svc   *netsvc.Manager
	// Nets and Ports are set by Wire.
	Nets  *netstore.Manager
	Ports *lport.Ports
}

// New starts the databases (the Southbound too if sb) and the stores that
// need nothing from the store under test.
func New(t testing.TB, sb bool) *Stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &Stack{T: t, Ctx: ctx}
	s.NB, s.NBSrv = ovntest.NewNB(t)
	if sb {
		s.SB, s.SBSrv = ovntest.NewSB(t)
	}
	log := ovsdbtest.Logger(t)
	s.Alloc = &ipamstore.Store{NB: s.NB, MACPrefix: MACPrefix, Log: log}
	s.Svc = &netsvc.Manager{NB: s.NB, Alloc: s.Alloc, Log: log}
	return s
}

// Wire builds the network store and the port transaction with the store
// under test as what keeps networks (users) and as the source of a port
// deletion's extra operations (nat; nil: none).
func (s *Stack) Wire(users netstore.Users, nat lport.NAT) {
	s.Nets = &netstore.Manager{NB: s.NB, Services: s.Svc, Users: users, Log: ovsdbtest.Logger(s.T)}
	s.Ports = &lport.Ports{NB: s.NB, Store: s.Alloc, DHCP: s.Svc, NAT: nat}
}

// Network creates a network with its services (a tenant network: once its
// gateway port is in the cache).
func (s *Stack) Network(in network.Input) {
	s.T.Helper()
	spec, err := network.Parse(in)
	if err != nil {
		s.T.Fatal(err)
	}
	if err := s.Nets.Create(s.Ctx, spec); err != nil {
		s.T.Fatal(err)
	}
	if !spec.External {
		ovsdbtest.Eventually(s.T, 5*time.Second, func() bool { return s.NB.GetRouterPort(netsvc.RouterPortName(in.Name)) != nil },
			"gateway port of %s", in.Name)
	}
}

// Port creates a container's port on a network, created by chassis (""
// none), and returns it as read back.
func (s *Stack) Port(name, netName, chassis string) ovn.Port {
	s.T.Helper()
	p := ovn.Port{Name: name, Network: netName, Kind: keys.KindContainer, ContainerID: "c-" + name, Ifname: "eth0",
		Chassis: chassis, RequestedChassis: chassis}
	if _, err := s.Ports.Create(s.Ctx, p, ipamstore.Want{}); err != nil {
		s.T.Fatal(err)
	}
	got, err := s.NB.LookupPort(name)
	if err != nil {
		s.T.Fatal(err)
	}
	return got
}

// Chassis registers a Southbound chassis mapping physnets (mappings ""
// none) and waits for it in the cache.
func (s *Stack) Chassis(name, ip, mappings string) {
	s.T.Helper()
	s.SBCtl("chassis-add", name, "geneve", ip)
	if mappings != "" {
		s.SBCtl("set", "Chassis", name, "other_config:ovn-bridge-mappings="+mappings)
	}
	ovsdbtest.Eventually(s.T, 5*time.Second, func() bool {
		ch, err := s.SB.GetChassis(name)
		return err == nil && (mappings == "" || len(ovn.BridgeMappings(ch)) > 0)
	}, "chassis %s", name)
}

// Northd runs a real ovn-northd on the stack's databases (New with sb)
// until the test ends.
func (s *Stack) Northd() {
	s.T.Helper()
	ovsdbtest.Northd(s.T, s.NBSrv, s.SBSrv)
}

// NBCtl runs ovn-nbctl on the Northbound with args and returns its output.
func (s *Stack) NBCtl(args ...string) string {
	s.T.Helper()
	return s.NBSrv.Run("ovn-nbctl", append([]string{"--db=" + s.NBSrv.Remote, "--timeout=10"}, args...)...)
}

// SBCtl runs ovn-sbctl on the Southbound with args and returns its output.
func (s *Stack) SBCtl(args ...string) string {
	s.T.Helper()
	return s.SBSrv.Run("ovn-sbctl", append([]string{"--db=" + s.SBSrv.Remote, "--timeout=10"}, args...)...)
}

// SecondDaemon is another daemon's view of the same Northbound: its own
// client (its cache loaded) and its own IPAM store.
func (s *Stack) SecondDaemon() (*ovn.NB, *ipamstore.Store) {
	s.T.Helper()
	nb := ovntest.DialNB(s.T, s.NBSrv)
	return nb, &ipamstore.Store{NB: nb, MACPrefix: MACPrefix, Log: ovsdbtest.Logger(s.T)}
}

// Dump is the whole Northbound database.
func (s *Stack) Dump() string {
	s.T.Helper()
	return s.NBSrv.Run("ovsdb-client", "dump", s.NBSrv.Remote, "OVN_Northbound")
}

// Refused checks that f fails with an error of kind whose text has every
// one of names, and leaves Northbound as it was.
func (s *Stack) Refused(what string, kind error, f func() error, names ...string) {
	s.T.Helper()
	before := s.Dump()
	err := f()
	if err == nil || !errors.Is(err, kind) {
		s.T.Fatalf("%s: %v, want an error of kind %v", what, err, kind)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			s.T.Fatalf("%s: %q does not name %q", what, err, n)
		}
	}
	if after := s.Dump(); after != before {
		s.T.Fatalf("%s: Northbound changed by a refused request", what)
	}
}

// AtOnce runs f(0), ..., f(n-1) in goroutines at once (two daemons'
// requests racing) and fails the test if any returned an error.
func AtOnce(t testing.TB, n int, f func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- f(i)
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil {
			t.Fatal(err)
		}
	}
}
