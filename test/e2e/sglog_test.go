package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// aclLog reads the acl_log lines of ovn-controller's log (the sandbox's
// $DIR/ovn-controller.log) that name an ACL.
func aclLog(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(sbx.Dir + "/ovn-controller.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for s.Scan() {
		if l := s.Text(); strings.Contains(l, "|acl_log(") && strings.Contains(l, `name="`+name+`"`) {
			out = append(out, l)
		}
	}
	return out
}

// setLogDrops turns a group's drop logging on or off through the RPC and
// waits until every chassis has the change in its flows.
func setLogDrops(t *testing.T, c api.QuantumNetClient, group string, on bool) {
	t.Helper()
	g, err := c.SetSecurityGroupLogging(harness.Context(t), &api.SecurityGroupLogging{Name: group, LogDrops: on})
	if err != nil {
		t.Fatal(err)
	}
	if g.LogDrops != on {
		t.Fatalf("SetSecurityGroupLogging(%s, %v) returned log_drops=%v", group, on, g.LogDrops)
	}
	sbx.Tool(t, "ovn-nbctl", "--timeout=20", "--wait=hv", "sync")
}

// TestSecurityGroupLogDrops: a group that drops pings logs nothing until
// its drop logging is on; then a dropped ping shows up in ovn-controller's
// log as an acl_log line naming the group (and so does one its restricted
// egress drops); a flood of 2000 packets logs no
// more than the meter lets through; turned off, drops are silent again.
func TestSecurityGroupLogDrops(t *testing.T) {
	e := newSGEnv(t, "e2e-sglog", "10.214.0.0/24", "fd00:214::/64")
	e.group("quiet", "ingress tcp 8080", "egress tcp 443") // the server's egress is restricted
	srv := e.container("sglog-srv", "quiet")
	cli := e.container("sglog-cli")
	c := e.d.MustClient()
	name := secgroup.LogName("quiet", secgroup.RuleDefaultDrop)

	blocked(t, "ping (no icmp rule)", pingOnce(cli.ns, srv.ip4))
	if l := aclLog(t, name); len(l) != 0 {
		t.Fatalf("drops logged before logging is on: %q", l)
	}

	setLogDrops(t, c.QuantumNetClient, "quiet", true)
	if g, err := c.GetSecurityGroup(harness.Context(t), &api.SecurityGroupRef{Name: "quiet"}); err != nil || !g.LogDrops {
		t.Fatalf("GetSecurityGroup: %v, %v: want log_drops", g, err)
	}
	blocked(t, "ping with logging on", pingOnce(cli.ns, srv.ip4))
	var lines []string
	if !ovsdbtest.Until(context.Background(), 5*time.Second, func() bool { lines = aclLog(t, name); return len(lines) > 0 }) {
		t.Fatalf("no acl_log line naming %s within 5 s of a dropped ping", name)
	}
	for _, want := range []string{"verdict=drop", "direction=to-lport", "icmp", "nw_src=" + cli.ip4, "nw_dst=" + srv.ip4} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("acl_log line lacks %q: %s", want, lines[0])
		}
	}
	t.Logf("logged: %s", lines[0])
	egress := secgroup.LogName("quiet", secgroup.RuleDefaultEgressDrop)
	blocked(t, "ping from the server (egress restricted)", pingOnce(srv.ns, cli.ip4))
	if !ovsdbtest.Until(context.Background(), 5*time.Second, func() bool { return len(aclLog(t, egress)) > 0 }) {
		t.Fatalf("no acl_log line naming %s within 5 s of a dropped ping", egress)
	}

	floodIsMetered(t, cli.ns, srv.ip4, name)

	setLogDrops(t, c.QuantumNetClient, "quiet", false)
	before := len(aclLog(t, name))
	for range 3 {
		blocked(t, "ping with logging off", pingOnce(cli.ns, srv.ip4))
	}
	time.Sleep(time.Second) // what would be logged is written within ms of the drop
	if n := len(aclLog(t, name)) - before; n != 0 {
		t.Errorf("%d lines logged after logging was turned off", n)
	}
}

// floodIsMetered sends 2000 UDP datagrams (dropped like the pings: the
// group allows tcp 8080 only) as fast as bash writes them and checks that
// the log grew by no more than the meter allows over the flood's duration:
// rate x seconds + burst, with slack for the seconds the flood straddles
// and for ovn-controller writing the tail after it ends.
func floodIsMetered(t *testing.T, ns, dst, name string) {
	t.Helper()
	const packets = 2000
	time.Sleep(time.Second) // let the meter's bucket refill
	before := len(aclLog(t, name))
	start := time.Now()
	script := fmt.Sprintf("for i in $(seq %d); do echo x >/dev/udp/%s/9999; done", packets, dst)
	if out, err := exec.Command("ip", "netns", "exec", harness.NsName(ns), "bash", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("flood: %v\n%s", err, out)
	}
	took := time.Since(start)
	// Wait until the count settles (ovn-controller logs asynchronously).
	n, last := 0, -1
	ovsdbtest.Until(context.Background(), 5*time.Second, func() bool {
		n = len(aclLog(t, name)) - before
		settled := n == last
		last = n
		time.Sleep(300 * time.Millisecond)
		return settled
	})
	limit := secgroup.LogMeterBurst + int(float64(secgroup.LogMeterRate)*(took.Seconds()+2)) + 10
	t.Logf("a flood of %d datagrams in %v logged %d lines (limit %d)", packets, took.Round(time.Millisecond), n, limit)
	if n == 0 {
		t.Errorf("the flood logged nothing")
	}
	if n > limit {
		t.Errorf("the flood logged %d lines, more than the meter allows (%d)", n, limit)
	}
}
