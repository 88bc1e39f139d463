package nbstore

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// second is another daemon's router store on the env's databases.
func (e *env) second() *Manager {
	e.t.Helper()
	nb, alloc := e.SecondDaemon()
	return &Manager{NB: nb, SB: e.sb, Alloc: alloc, Log: ovsdbtest.Logger(e.t)}
}

// TestIntegrationConcurrentDaemons: two daemons setting gateways and
// creating floating IPs on one external network at once never hand out
// one address twice (IPAM's optimistic guard covers the reservations made
// inside the routers' transactions).
func TestIntegrationConcurrentDaemons(t *testing.T) {
	e := newEnv(t)
	e.network(ext)
	m2 := e.second()
	var names []string
	for i := range 6 {
		name := fmt.Sprintf("r%d", i)
		if _, err := e.m.Create(e.ctx, name); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	// Each router: its gateway (i even) and a floating IP (i odd), by one
	// of the two daemons.
	stacktest.AtOnce(t, 2*len(names), func(i int) error {
		name := names[i/2]
		m := []*Manager{e.m, m2}[(i/2)%2]
		if i%2 == 1 {
			_, err := m.CreateFIP(e.ctx, "ext", netip.Addr{})
			return err
		}
		ovsdbtest.Eventually(t, 10*time.Second, func() bool { return m.NB.GetUserRouter(name) != nil }, "router %s in the cache", name)
		_, err := m.SetGateway(e.ctx, GatewayRequest{Router: name, Network: "ext", NoSNAT: true})
		return err
	})
	seen := map[string]string{}
	for _, r := range e.rows("DHCP_Options", []string{"cidr", "external_ids"}) {
		ip := r.Map("external_ids")["quantumnet:ip"]
		if owner, dup := seen[ip]; dup && ip != "" {
			t.Fatalf("%s reserved twice: %s and %s", ip, owner, r.Map("external_ids")["quantumnet:owner"])
		}
		seen[ip] = r.Map("external_ids")["quantumnet:owner"]
	}
	if len(seen) != 6*2+6 { // 6 gateways (IPv4 and IPv6), 6 floating IPs
		t.Fatalf("%d reservations, want 18: %v", len(seen), seen)
	}
}
