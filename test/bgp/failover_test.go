package bgp_test

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGatewayFailover: when the active gateway chassis dies (its
// ovn-controller and ovs-vswitchd killed; its quantumnetd and BGP session
// live on), the router's gateway address moves to the next chassis' next
// hop: the dead one withdraws it, the new one announces it.
func TestGatewayFailover(t *testing.T) {
	env.Require(t)
	gw, _ := setup(t, "bgpfo", "bgpfonet", "10.232.5.0/24")
	before := fromGateway(t, "bgpfo", gw+"/32")
	t.Cleanup(func() { restoreHost(t, before) })
	killChassis(t, before)
	var after string
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if h := activeHost(t, "bgpfo"); h != "" && h != before {
			after = h
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if after == "" {
		t.Fatalf("the gateway of bgpfo never left host %s", before)
	}
	if h := fromGateway(t, "bgpfo", gw+"/32"); h == before {
		t.Fatalf("FRR still reaches %s via the dead chassis %s", gw, before)
	}
	t.Logf("gateway %s moved from %s (%s) to %s (%s) in FRR's RIB", gw, before, addrs[before], after, addrs[after])
}

// killChassis kills host h's ovn-controller and ovs-vswitchd.
func killChassis(t testing.TB, h string) {
	t.Helper()
	for _, d := range []string{"ovn-controller", "ovs-vswitchd"} {
		b, err := os.ReadFile(nh.Pidfile(h, d))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", nh.Pidfile(h, d), err)
		}
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
	}
}

// restoreHost brings host h's chassis back (nhost.sh up is idempotent).
func restoreHost(t testing.TB, h string) {
	if out, err := nh.Script("nhost.sh", "up"); err != nil {
		t.Errorf("bringing host %s back: %v\n%s", h, err, out)
		return
	}
	if err := daemons[h].WaitReady(30 * time.Second); err != nil {
		t.Errorf("host %s after its chassis came back: %v", h, err)
	}
}
