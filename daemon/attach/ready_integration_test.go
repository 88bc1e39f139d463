package attach

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationHealth: the daemon reports what keeps it from serving ADD
// (NB, OVS, br-int, chassis in SB) and becomes ready once all are there.
func TestIntegrationHealth(t *testing.T) {
	nb, nbSrv := ovntest.NewNB(t)
	sb, sbSrv := ovntest.NewSB(t)
	oc, _ := ovstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := ovsdbtest.Logger(t)
	m := &Manager{NB: nb, SB: sb, OVS: oc, Chassis: "chassis-h", Bridge: "br-int", Log: log}
	p := strings.Join(m.Ready(), "; ")
	if !strings.Contains(p, "bridge br-int does not exist") || !strings.Contains(p, "chassis chassis-h is not registered") {
		t.Fatalf("problems: %q", p)
	}
	if _, err := oc.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	sbSrv.Run("ovn-sbctl", "--db="+sbSrv.Remote, "chassis-add", "chassis-h", "geneve", "127.0.0.1")
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		p := m.Ready()
		return len(p) == 1 && strings.Contains(p[0], "reconciling")
	}, "still not ready but for the start-up reconcile: %v", m.Ready())
	m.Reconciled.Store(true)
	if p := m.Ready(); len(p) != 0 {
		t.Fatalf("not ready: %v", p)
	}
	// Northbound going away is reported.
	nbSrv.Stop()
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return strings.Contains(strings.Join(m.Ready(), ";"), "Northbound")
	}, "NB loss not reported")
	nbSrv.Start()
	ovsdbtest.Eventually(t, 15*time.Second, func() bool { return len(m.Ready()) == 0 }, "not ready again after NB came back: %v", m.Ready())
}
