// Package e2e runs the whole local stack over TLS: a sandbox
// (scripts/sandbox.sh with QN_SSL=1) whose NB, SB and local OVS database
// listen on pssl: with ovs-pki certificates, ovn-northd and ovn-controller
// connected with ssl:, and a quantumnetd using ssl: for all three; CNI ADDs
// through the real plugin and pings. It needs root; without root or OVN
// it skips, except under CI=true.
package e2e

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-ssl-%d", os.Getpid()), Chassis: "chassis-ssl",
		Netns: fmt.Sprintf("qn-ssl-host-%d", os.Getpid()), SSL: true, SSLPort: 40000 + 3*(os.Getpid()%5000)}
	env = harness.New(harness.Setup{Name: "tlse2e", Root: true, Programs: []string{"ovn-controller", "ovs-pki"}, Up: sbx.Up})
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// TestContainersOverSSL: the daemon reaches NB, SB and OVS over ssl: (it
// becomes ready: chassis registered by ovn-controller over ssl), two
// containers are added and ping each other (ovn-controller, over ssl,
// installed their ports).
func TestContainersOverSSL(t *testing.T) {
	env.Require(t)
	c := sbx.DaemonConfig()
	c.ReadyTimeout = "15s"
	d := harness.LaunchDaemon(t, c)
	d.MustReady()
	d.MustNetwork("ssl-blue", "--subnet4", "10.213.0.0/24", "--mtu", "1400")
	cni, err := harness.NewCNI(t, env.Bin, harness.ConfList("sslnet", "ssl-blue", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	recs := harness.AddStream(harness.Context(t), cni, "ssl", 2, 2, nil)
	t.Cleanup(func() { harness.DelStream(context.Background(), cni, recs) })
	for _, r := range recs {
		if r.Err != nil || r.Tries != 1 {
			t.Fatalf("ADD %s over ssl: %d tries: %v", r.ID, r.Tries, r.Err)
		}
	}
	if err := harness.Ping(recs[0].Netns, recs[1].IP); err != nil {
		t.Fatal(err)
	}
	if got := sbx.Tool(t, "ovs-vsctl", "get", "Open_vSwitch", ".", "external_ids:ovn-remote"); got != fmt.Sprintf("%q", c.SB) {
		t.Errorf("ovn-controller's ovn-remote = %s, want %s", got, c.SB)
	}
}
