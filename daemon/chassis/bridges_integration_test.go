package chassis

import (
	"context"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationMappedBridges: with CreateMappedBridges the daemon
// creates the mapped bridges (datapath of br-int), leaves a bridge someone
// else made, and removes only its own once unmapped.
func TestIntegrationMappedBridges(t *testing.T) {
	srv := ovsdbtest.New(t, "../../pkg/ovs/vswitchd/vswitch.ovsschema")
	db := "--db=" + srv.Remote
	srv.Run("ovs-vsctl", db, "--no-wait", "init")
	srv.Run("ovs-vsctl", db, "--no-wait", "add-br", "br-theirs")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c, err := ovs.New(ctx, []string{srv.Remote}, nil, ovsdbtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := c.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	cfg := Config{Name: "chassis-x", SBRemotes: []string{"tcp:10.0.0.1:6642"}, EncapType: "geneve", EncapIP: "192.0.2.10",
		Bridge: "br-int", DatapathType: "netdev", BridgeMappings: []string{"physnet1:br-ex", "physnet2:br-theirs"}, CreateMappedBridges: true}
	if _, err := Ensure(ctx, cfg, c); err != nil {
		t.Fatal(err)
	}
	exists := func(br string) bool {
		_, err := srv.TryRun("ovs-vsctl", db, "--no-wait", "br-exists", br)
		return err == nil
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return exists("br-ex") }, "br-ex never created")
	if dp := srv.Run("ovs-vsctl", db, "--no-wait", "get", "Bridge", "br-ex", "datapath_type"); dp != "netdev" {
		t.Fatalf("br-ex datapath_type %s", dp)
	}
	// Unmapped: its own bridge goes, the other stays.
	cfg.BridgeMappings = nil
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		_, err := Ensure(ctx, cfg, c)
		return err == nil && !exists("br-ex")
	}, "br-ex never removed")
	if !exists("br-theirs") || !exists("br-int") {
		t.Fatal("a bridge the daemon did not create for a mapping was removed")
	}
}
