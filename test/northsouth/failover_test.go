package northsouth_test

import (
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestGatewayFailover: a container on the lowest-priority gateway chassis
// pings the outside every 20 ms; the active gateway chassis dies (its
// ovn-controller and ovs-vswitchd killed); traffic resumes through the next
// chassis without operator action, and `router show` names it active. The
// dead host is brought back when the test ends.
func TestGatewayFailover(t *testing.T) {
	requireRouter(t)
	external(t)
	network(t, "nsfonet", "10.231.5.0/24")
	newRouter(t, "nsfor", "nsfonet")
	_, r := setGateway(t, "nsfor")
	ch := r.Gateway.Chassis
	if len(ch) < 3 {
		t.Fatalf("gateway chassis %+v: failover needs three", ch)
	}
	sort.Slice(ch, func(i, j int) bool { return ch[i].Priority > ch[j].Priority })
	active, next, last := ch[0].Name, ch[1].Name, ch[len(ch)-1].Name
	// The gateway settles on the highest priority once BFD is up between
	// the chassis (right after set-gateway a lower one may claim it first).
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		r = showRouter(t, "nsfor")
		return r.Gateway != nil && r.Gateway.Active == active
	}, "the gateway never settled on the highest priority chassis "+active)
	dead := hostOf(active)
	if dead == "" || hostOf(last) == "" {
		t.Fatalf("chassis %s or %s is none of the hosts'", active, last)
	}
	c := newContainer(t, hostOf(last), "fo", "nsfonet")
	pingTTL(t, c.NS, outsideIP, 20*time.Second)

	p := startPings(t, c.NS, outsideIP, 20*time.Millisecond)
	time.Sleep(time.Second)
	t.Cleanup(func() { restoreHost(t, dead) })
	killed := killChassis(t, dead)
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		r = showRouter(t, "nsfor")
		return r.Gateway != nil && r.Gateway.Active == next
	}, "router show never named "+next+" active after "+active+" died")
	named := time.Since(killed)
	time.Sleep(2 * time.Second)
	sent, lost, first := p.stop(killed)
	if first.IsZero() {
		t.Fatalf("no reply from the outside after %s died (%d sent, %d lost)", active, sent, lost)
	}
	t.Logf("gateway failover %s -> %s: first reply %v after the kill; router show named %s after %v; %d of %d pings lost",
		active, next, first.Sub(killed).Round(time.Millisecond), next, named.Round(time.Millisecond), lost, sent)
	if _, err := c.Run("ping", "-c", "3", "-i", "0.2", "-W", "1", outsideIP); err != nil {
		t.Errorf("after the failover the container does not reach the outside")
	}
}

// killChassis kills host h's ovn-controller and ovs-vswitchd (SIGKILL, as
// a crash) and returns when.
func killChassis(t *testing.T, h string) time.Time {
	t.Helper()
	var pids []int
	for _, d := range []string{"ovn-controller", "ovs-vswitchd"} {
		b, err := os.ReadFile(nh.Pidfile(h, d))
		if err != nil {
			t.Fatal(err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", nh.Pidfile(h, d), err)
		}
		pids = append(pids, pid)
	}
	at := time.Now()
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
	}
	return at
}

// restoreHost starts what a killChassis stopped (nhost.sh up starts what is
// not running) and waits until host h's daemon is ready again.
func restoreHost(t *testing.T, h string) {
	if out, err := nh.Script("nhost.sh", "up"); err != nil {
		t.Errorf("bringing host %s back: %v\n%s", h, err, out)
		return
	}
	if err := daemons[h].WaitReady(30 * time.Second); err != nil {
		t.Errorf("host %s after its chassis came back: %v", h, err)
	}
}
