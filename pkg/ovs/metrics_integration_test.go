package ovs_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// With MetricsRegistry set, a connection's disconnects are counted under
// quantumnet_ovsdb_disconnects_total{db=...}: a server restart is one.
func TestIntegrationOVSDisconnectsCounted(t *testing.T) {
	reg := prometheus.NewRegistry()
	ovs.MetricsRegistry = reg
	t.Cleanup(func() { ovs.MetricsRegistry = nil })
	srv := ovsdbtest.NewOVS(t)
	c := ovstest.Dial(t, srv)
	count := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "quantumnet_ovsdb_disconnects_total" {
				for _, m := range mf.GetMetric() {
					for _, l := range m.GetLabel() {
						if l.GetName() == "db" && l.GetValue() == "ovs" {
							return m.GetCounter().GetValue()
						}
					}
				}
			}
		}
		t.Fatal("no quantumnet_ovsdb_disconnects_total{db=\"ovs\"}")
		return 0
	}
	if n := count(); n != 0 {
		t.Fatalf("disconnects before any: %v", n)
	}
	srv.Stop()
	ovsdbtest.Eventually(t, 3*time.Second, func() bool { return !c.Connected() }, "still connected after the server stopped")
	srv.Start()
	ovsdbtest.Eventually(t, 10*time.Second, c.Connected, "the client did not reconnect")
	if n := count(); n != 1 {
		t.Errorf("disconnects after one restart: %v, want 1", n)
	}
	if n := testutil.CollectAndCount(reg, "quantumnet_ovsdb_monitors"); n != 1 {
		t.Errorf("quantumnet_ovsdb_monitors: %d series, want 1", n)
	}
}
