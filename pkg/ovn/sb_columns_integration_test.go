package ovn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovn/sbdb"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationSBColumns: the Southbound client keeps a port binding's
// chassis and options (what BoundChassis and PortOption read) and not the
// columns it never reads, such as the copy of the port's external_ids.
func TestIntegrationSBColumns(t *testing.T) {
	sb, srv := ovntest.NewSB(t)
	sbctl := func(args ...string) string {
		return strings.TrimSpace(srv.Run("ovn-sbctl", append([]string{"--db=" + srv.Remote}, args...)...))
	}
	sbctl("chassis-add", "ch-cols", "geneve", "127.0.0.1")
	dp := sbctl("create", "Datapath_Binding", "tunnel_key=7")
	sbctl("create", "Port_Binding", "logical_port=p-cols", "datapath="+dp, "tunnel_key=3",
		`mac="00:00:00:00:00:07 10.0.0.7"`, "type=localport", "external_ids:quantumnet-owner=somebody", "options:activated-chassis=ch-cols")
	sbctl("lsp-bind", "p-cols", "ch-cols")
	// A second binding on the datapath: the cache's indexes must tell
	// the two apart.
	sbctl("create", "Port_Binding", "logical_port=p-cols2", "datapath="+dp, "tunnel_key=4")
	sbctl("lsp-bind", "p-cols2", "ch-cols")
	for _, p := range []string{"p-cols", "p-cols2"} {
		ovsdbtest.Eventually(t, 10*time.Second, func() bool { return sb.BoundChassis(p) == "ch-cols" },
			"the binding of %s to ch-cols never reached the client (chassis column)", p)
	}
	if got := sb.PortOption("p-cols", "activated-chassis"); got != "ch-cols" {
		t.Fatalf("PortOption = %q, want ch-cols (options column)", got)
	}
	pb := &sbdb.PortBinding{LogicalPort: "p-cols"}
	if err := sb.Get(context.Background(), pb); err != nil {
		t.Fatal(err)
	}
	if len(pb.ExternalIDs) != 0 || len(pb.MAC) != 0 || pb.Type != "" {
		t.Fatalf("the client keeps columns it does not read: %+v", pb)
	}
}
