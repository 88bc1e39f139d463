package vm

import (
	"errors"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// gaps records what a Manager's Observer is told of network gaps.
type gaps struct{ c chan [2]time.Duration }

func (g *gaps) Handoff(bool, time.Duration) {}
func (g *gaps) NetworkGap(downtime, activation time.Duration) {
	g.c <- [2]time.Duration{downtime, activation}
}

// TestIntegrationNetworkGap: after the guest resumed here, the gap is
// reported once every port of the domain is active here in Southbound
// (one bound here, one activated here by its RARP), with libvirt's
// downtime; nothing when libvirt has no downtime.
func TestIntegrationNetworkGap(t *testing.T) {
	s := stacktest.New(t, true)
	s.Wire(nil, nil)
	s.Network(network.Input{Name: "blue", Subnet4: "10.1.0.0/24"})
	s.Chassis("gap-a", "10.0.0.1", "")
	s.Chassis("gap-b", "10.0.0.2", "")
	s.Northd()
	g := &gaps{c: make(chan [2]time.Duration, 4)}
	a := &Manager{NB: s.NB, Ports: s.Ports, Chassis: "gap-a", ReadyTimeout: 5 * time.Second, Log: ovsdbtest.Logger(t)}
	b := &Manager{NB: s.NB, Ports: s.Ports, Chassis: "gap-b", ReadyTimeout: 5 * time.Second, Log: ovsdbtest.Logger(t), Observer: g, SB: s.SB}
	dom := Domain{Name: "gap1", UUID: "66666666-2222-3333-4444-555555555555", NICs: []NIC{
		{InterfaceID: "gapn0", MAC: "52:54:00:00:00:51", Network: "blue"}, {InterfaceID: "gapn1", MAC: "52:54:00:00:00:52", Network: "blue"}}}
	if _, err := a.Prepare(s.Ctx, dom); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return len(b.portsOf(dom.UUID)) == 2 }, "the ports in b's cache")
	if err := b.MigrateIn(s.Ctx, dom); err != nil { // both chassis, RARP activation
		t.Fatal(err)
	}
	for _, p := range []string{"gapn0", "gapn1"} { // once northd made the binding
		ovsdbtest.Eventually(t, 10*time.Second, func() bool {
			_, err := s.SBSrv.TryRun("ovn-sbctl", "--db="+s.SBSrv.Remote, "lsp-bind", p, "gap-a")
			return err == nil
		}, "%s has no binding", p)
		ovsdbtest.Eventually(t, 5*time.Second, func() bool { return s.SB.BoundChassis(p) == "gap-a" }, "%s bound at the source", p)
	}

	resumed := time.Now()
	b.MeasureGap(dom.UUID, resumed, func() (time.Duration, error) { return 40 * time.Millisecond, nil })
	time.Sleep(50 * time.Millisecond)
	select {
	case got := <-g.c:
		t.Fatalf("a gap reported while the ports are still at the source: %v", got)
	default:
	}
	s.SBCtl("set", "Port_Binding", "gapn0", "options:additional-chassis-activated=gap-b") // as ovn-controller does on the RARP
	s.SBCtl("lsp-unbind", "gapn1")
	s.SBCtl("lsp-bind", "gapn1", "gap-b")
	select {
	case got := <-g.c:
		if got[0] != 40*time.Millisecond || got[1] < 50*time.Millisecond {
			t.Errorf("gap: downtime %v, activation %v; want 40ms and at least the 50ms the ports waited", got[0], got[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no gap reported once the ports were active here: %s", s.SBCtl("--columns=logical_port,chassis,options", "list", "Port_Binding"))
	}

	b.MeasureGap(dom.UUID, time.Now(), func() (time.Duration, error) { return 0, errors.New("no downtime") })
	select {
	case got := <-g.c:
		t.Fatalf("a gap reported without libvirt's downtime: %v", got)
	case <-time.After(200 * time.Millisecond):
	}
}
