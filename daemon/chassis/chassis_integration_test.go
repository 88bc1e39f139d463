package chassis

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationChassisConfig: the daemon writes what ovn-controller needs
// into a real Open_vSwitch database, keeps other keys, creates br-int, and
// puts back a value someone changed.
func TestIntegrationChassisConfig(t *testing.T) {
	srv := ovsdbtest.NewOVS(t)
	db := "--db=" + srv.Remote
	srv.Run("ovs-vsctl", db, "--no-wait", "set", "Open_vSwitch", ".", "external_ids:hostname=keepme")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := ovstest.Open(t, srv) // Run connects it
	cfg := Config{Name: "chassis-x", SBRemotes: []string{"tcp:10.0.0.1:6642", "tcp:10.0.0.2:6642"}, EncapType: "geneve",
		EncapIP: "192.0.2.10", Bridge: "br-int", DatapathType: "netdev", BridgeMappings: []string{"physnet1:br-ex"}}
	go Run(ctx, cfg, c, 50*time.Millisecond, ovsdbtest.Logger(t))

	get := func(key string) string {
		out, err := srv.TryRun("ovs-vsctl", db, "--no-wait", "get", "Open_vSwitch", ".", "external_ids:"+key)
		if err != nil {
			return ""
		}
		return strings.Trim(out, `"`)
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return get("ovn-encap-ip") == "192.0.2.10" }, "external_ids never written")
	want := map[string]string{
		"system-id": "chassis-x", "ovn-remote": "tcp:10.0.0.1:6642,tcp:10.0.0.2:6642", "ovn-encap-type": "geneve",
		"ovn-bridge": "br-int", "ovn-bridge-datapath-type": "netdev", "ovn-bridge-mappings": "physnet1:br-ex", "hostname": "keepme",
	}
	for k, v := range want {
		if got := get(k); got != v {
			t.Errorf("external_ids:%s = %q, want %q", k, got, v)
		}
	}
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		_, err := srv.TryRun("ovs-vsctl", db, "--no-wait", "br-exists", "br-int")
		return err == nil
	}, "br-int never created")
	if dp := srv.Run("ovs-vsctl", db, "--no-wait", "get", "Bridge", "br-int", "datapath_type"); strings.Trim(dp, `"`) != "netdev" {
		t.Errorf("br-int datapath_type %s", dp)
	}
	if fm := srv.Run("ovs-vsctl", db, "--no-wait", "get", "Bridge", "br-int", "fail_mode"); fm != "secure" {
		t.Errorf("br-int fail_mode %s", fm)
	}
	// Drift is corrected.
	srv.Run("ovs-vsctl", db, "--no-wait", "set", "Open_vSwitch", ".", "external_ids:ovn-encap-ip=198.51.100.1")
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return get("ovn-encap-ip") == "192.0.2.10" }, "drifted encap ip never corrected")
	// Nothing is written while everything is in place.
	before := srv.Requests("transact")
	time.Sleep(300 * time.Millisecond)
	if after := srv.Requests("transact"); after != before {
		t.Errorf("%d transactions while nothing changed", after-before)
	}
}
