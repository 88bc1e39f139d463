package nbstore

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/daemon/network"
	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// env: a real NB and SB ovsdb-server, the router store, router r1 with a
// gateway on ext and networks blue and red attached; green exists but is
// not attached.
func newEnv(t *testing.T) (*stacktest.Stack, *Manager) {
	s := stacktest.New(t, true)
	rm := &rtstore.Manager{NB: s.NB, SB: s.SB, Alloc: s.Alloc, MACPrefix: stacktest.MACPrefix, Log: ovsdbtest.Logger(t)}
	s.Wire(rm, rm)
	s.Network(network.Input{Name: "ext", External: true, Physnet: "physnet1", Subnet4: "192.0.2.0/24", Gateway4: "192.0.2.1",
		FIPRange: "192.0.2.50-192.0.2.99"})
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Network(network.Input{Name: "red", Subnet4: "10.2.0.0/24"})
	s.Network(network.Input{Name: "green", Subnet4: "10.3.0.0/24"})
	if _, err := rm.Create(s.Ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"blue", "red"} {
		if _, err := rm.Attach(s.Ctx, "r1", n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rm.SetGateway(s.Ctx, rtstore.GatewayRequest{Router: "r1", Network: "ext", Addr4: netip.MustParseAddr("192.0.2.60")}); err != nil {
		t.Fatal(err)
	}
	return s, &Manager{NB: s.NB, Routers: rm, Log: ovsdbtest.Logger(t)}
}

// TestIntegrationBastion: create writes the transit switch, router port,
// route and address set; peers are added (generated key: a config once;
// given key: none) and removed, their addresses following in the address
// set; bad input is refused naming the field with nothing written; delete
// removes every row.
func TestIntegrationBastion(t *testing.T) {
	s, m := newEnv(t)
	b, err := m.Create(s.Ctx, "b1", "r1", 0)
	if err != nil {
		t.Fatal(err)
	}
	if b.ListenPort != 51820 || b.Endpoint != "192.0.2.60:51820" || b.TunnelRange.String() != "100.96.0.0/24" {
		t.Fatalf("created %+v", b)
	}
	s.Refused("create twice", errs.Conflict, func() error { _, err := m.Create(s.Ctx, "b1", "r1", 0); return err }, "b1")
	s.Refused("port in use", errs.Conflict, func() error { _, err := m.Create(s.Ctx, "b2", "r1", 51820); return err }, "listen_port", "51820")
	s.Refused("no router", errs.NotFound, func() error { _, err := m.Create(s.Ctx, "b2", "r9", 0); return err }, "r9")
	s.Refused("bad port", errs.Invalid, func() error { _, err := m.Create(s.Ctx, "b2", "r1", 99999); return err }, "listen_port")
	if got := s.NBCtl("--bare", "--columns=nexthop,ip_prefix", "find", "Logical_Router_Static_Route", "ip_prefix=\"100.96.0.0/24\""); !strings.Contains(got, "100.97.0.2") {
		t.Fatalf("route of the tunnel range: %q", got)
	}
	if got := s.NBCtl("--bare", "--columns=networks", "list", "Logical_Router_Port", "qnbr-b1"); strings.TrimSpace(got) != "100.97.0.1/29" {
		t.Fatalf("router port: %q", got)
	}

	if got := s.NBCtl("--bare", "--columns=vips", "list", "Load_Balancer", "qnb-ep-b1"); strings.Trim(strings.TrimSpace(got), `"`) != "192.0.2.60:51820=100.97.0.2:51820" {
		t.Fatalf("endpoint load balancer: %q", got)
	}
	peerRefusals(s, m)
	alice, cfg, err := m.AddPeer(s.Ctx, "b1", "alice", []string{"red", "blue"}, "")
	if err != nil {
		t.Fatal(err)
	}
	if alice.Address.String() != "100.96.0.2" || !strings.Contains(cfg, "PrivateKey = ") ||
		!strings.Contains(cfg, "AllowedIPs = 10.1.0.0/24, 10.2.0.0/24") || !strings.Contains(cfg, "Endpoint = 192.0.2.60:51820") ||
		!strings.Contains(cfg, "PublicKey = "+b.PrivateKey.Public().String()) {
		t.Fatalf("alice %+v, config:\n%s", alice, cfg)
	}
	if dump := s.Dump(); strings.Contains(dump, privateOf(t, cfg)) {
		t.Fatal("the peer's private key is in Northbound")
	}
	bobKey, _ := bastion.GenerateKey()
	bob, cfg, err := m.AddPeer(s.Ctx, "b1", "bob", []string{"blue"}, bobKey.Public().String())
	if err != nil || cfg != "" || bob.Address.String() != "100.96.0.3" {
		t.Fatalf("bob: %+v %q %v", bob, cfg, err)
	}
	if _, _, err := m.AddPeer(s.Ctx, "b1", "bob", []string{"blue"}, bobKey.Public().String()); err != nil {
		t.Fatalf("add bob again, same key and grant: %v, want a no-op", err)
	}
	s.Refused("same key twice", errs.Conflict, func() error {
		_, _, err := m.AddPeer(s.Ctx, "b1", "carol", []string{"blue"}, bobKey.Public().String())
		return err
	}, "public_key", "bob")
	if got := addrSet(s); !slices.Equal(got, []string{"100.96.0.2", "100.96.0.3"}) {
		t.Fatalf("address set: %v", got)
	}
	got, err := m.Get("b1")
	if err != nil || len(got.Peers) != 2 || got.Peers[0].Name != "alice" || strings.Join(got.Peers[0].Networks, ",") != "blue,red" {
		t.Fatalf("get: %+v %v", got, err)
	}

	if _, err := m.RemovePeer(s.Ctx, "b1", "alice"); err != nil {
		t.Fatal(err)
	}
	s.Refused("remove twice", errs.NotFound, func() error { _, err := m.RemovePeer(s.Ctx, "b1", "alice"); return err }, "alice")
	if got := addrSet(s); !slices.Equal(got, []string{"100.96.0.3"}) {
		t.Fatalf("address set after remove: %v", got)
	}

	if err := m.Delete(s.Ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"Logical_Switch", "Logical_Switch_Port", "Logical_Router_Port", "Logical_Router_Static_Route", "Address_Set", "Load_Balancer"} {
		if got := s.NBCtl("--bare", "--columns=_uuid", "find", table, "external_ids:\"quantumnet:bastion\"=b1"); strings.TrimSpace(got) != "" {
			t.Fatalf("%s rows of b1 left: %q", table, got)
		}
	}
	if _, err := m.Get("b1"); err == nil {
		t.Fatal("b1 still there")
	}
}

func addrSet(s *stacktest.Stack) []string {
	out := strings.Fields(s.NBCtl("--bare", "--columns=addresses", "list", "Address_Set", "qn_bastion_b1"))
	slices.Sort(out)
	return out
}

func privateOf(t *testing.T, cfg string) string {
	for _, l := range strings.Split(cfg, "\n") {
		if k, ok := strings.CutPrefix(l, "PrivateKey = "); ok {
			return k
		}
	}
	t.Fatal("no private key in the config")
	return ""
}

// peerRefusals: unknown and unattached networks in a grant and a malformed
// public key are refused naming the field, with nothing written.
func peerRefusals(s *stacktest.Stack, m *Manager) {
	s.Refused("unknown network", errs.Invalid, func() error {
		_, _, err := m.AddPeer(s.Ctx, "b1", "alice", []string{"blue", "nope"}, "")
		return err
	}, "networks", "nope")
	s.Refused("not attached", errs.Invalid, func() error {
		_, _, err := m.AddPeer(s.Ctx, "b1", "alice", []string{"green"}, "")
		return err
	}, "networks", "green", "not attached to router r1")
	s.Refused("bad key", errs.Invalid, func() error {
		_, _, err := m.AddPeer(s.Ctx, "b1", "alice", []string{"blue"}, "xyz")
		return err
	}, "public_key")

}
