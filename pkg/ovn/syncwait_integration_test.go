package ovn_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationWaitSB: after WaitSB returns, Southbound already holds
// what ovn-northd made of a switch created just before (no polling), and
// WaitSB on a Northbound no ovn-northd serves ends with the context.
func TestIntegrationWaitSB(t *testing.T) {
	nb, nbSrv := ovntest.NewNB(t)
	sbSrv := ovsdbtest.NewSB(t)
	ovsdbtest.Northd(t, nbSrv, sbSrv)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := nb.WaitSB(ctx); err != nil { // northd's first pass
		t.Fatal(err)
	}
	for i, name := range []string{"ws-a", "ws-b", "ws-c"} {
		nbctl(nbSrv, "ls-add", name)
		if err := nb.WaitSB(ctx); err != nil {
			t.Fatal(err)
		}
		got := sbSrv.Run("ovn-sbctl", "--db="+sbSrv.Remote, "--bare", "--columns=external_ids", "list", "Datapath_Binding")
		if n := strings.Count(got, "name="); n != i+1 || !strings.Contains(got, "name="+name) {
			t.Fatalf("after WaitSB, Southbound datapaths:\n%s\nwant %d with %s", got, i+1, name)
		}
	}

	lone, _ := ovntest.NewNB(t)
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	if err := lone.WaitSB(short); err != nil {
		t.Fatalf("WaitSB without an NB_Global row: %v, want nil (nothing to wait for)", err)
	}
}
