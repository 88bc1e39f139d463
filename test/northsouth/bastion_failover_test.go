package northsouth_test

import (
	"os/exec"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestBastionFailover: the bastion follows its router's gateway: when the
// active gateway chassis dies, the next one starts the device with the
// key from Northbound and the operator's peer, with the same config,
// reaches its network again after a re-handshake.
func TestBastionFailover(t *testing.T) {
	requireRouter(t)
	if _, err := exec.LookPath("wg"); err != nil {
		t.Skip("wg (wireguard-tools) is not installed: scripts/deps.sh")
	}
	external(t)
	network(t, "nsbfonet", "10.231.10.0/24")
	newRouter(t, "nsbfor", "nsbfonet")
	_, r := setGateway(t, "nsbfor")
	ch := r.Gateway.Chassis
	if len(ch) < 3 {
		t.Fatalf("gateway chassis %+v: failover needs three", ch)
	}
	sort.Slice(ch, func(i, j int) bool { return ch[i].Priority > ch[j].Priority })
	active, next, last := ch[0].Name, ch[1].Name, ch[len(ch)-1].Name
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		r = showRouter(t, "nsbfor")
		return r.Gateway != nil && r.Gateway.Active == active
	}, "the gateway never settled on "+active)
	c := newContainer(t, hostOf(last), "bfo", "nsbfonet")
	qn(t, "bastion", "create", "nsbfo", "--router", "nsbfor", "--listen-port", "51830")
	later(t, "bastion", "delete", "nsbfo")
	cfg := qn(t, "bastion", "peer", "add", "nsbfo", "carol", "--networks", "nsbfonet")
	outside := nh.Vars["QN_OUTSIDE_NETNS"]
	wgPeer(t, outside, strings.Replace(cfg, "PersistentKeepalive = 25", "PersistentKeepalive = 1", 1), "10.231.10.0/24")
	ping := func() bool {
		return exec.Command("ip", "netns", "exec", outside, "ping", "-c1", "-W1", c.IP).Run() == nil
	}
	ovsdbtest.Eventually(t, 30*time.Second, ping, "the operator does not reach its network before the failover")

	dead := hostOf(active)
	t.Cleanup(func() { restoreHost(t, dead) })
	killed := killChassis(t, dead)
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		r = showRouter(t, "nsbfor")
		return r.Gateway != nil && r.Gateway.Active == next
	}, "router show never named "+next+" active")
	ovsdbtest.Eventually(t, 60*time.Second, ping, "the operator does not reach its network after the failover")
	t.Logf("bastion failover %s -> %s: the operator reaches its network again %v after the kill",
		active, next, time.Since(killed).Round(100*time.Millisecond))
}
