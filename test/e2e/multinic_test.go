package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestTwoNetworksOneContainer (issue 15, defect 10): two containers, each
// on two networks (eth0 and eth1); both ADDs succeed, only eth0 carries
// the default route, the containers ping each other on both networks, the
// second result lists no default route, CHECK and DEL pass.
func TestTwoNetworksOneContainer(t *testing.T) {
	d := readyDaemon(t)
	d.MustNetwork("e2e-mn-a", "--subnet4", "10.211.0.0/24")
	d.MustNetwork("e2e-mn-b", "--subnet4", "10.212.0.0/24")
	t.Cleanup(func() {
		d.Qnetctl("network", "delete", "e2e-mn-a")
		d.Qnetctl("network", "delete", "e2e-mn-b")
	})
	ca, err := harness.NewCNI(t, env.Bin, harness.ConfList("mna", "e2e-mn-a", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	cb, err := harness.NewCNI(t, env.Bin, harness.ConfList("mnb", "e2e-mn-b", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	ns := map[string]string{"x": harness.Netns(t, "mnx"), "y": harness.Netns(t, "mny")}
	addr := map[string]string{}
	var rts []struct {
		c  *harness.CNI
		rt *libcni.RuntimeConf
	}
	for _, ctr := range []string{"x", "y"} {
		for i, c := range []*harness.CNI{ca, cb} {
			ifname := []string{"eth0", "eth1"}[i]
			rt := harness.RT("mn-"+ctr, ns[ctr], ifname)
			res, err := c.Config.AddNetworkList(harness.Context(t), c.List, rt)
			if err != nil {
				t.Fatalf("ADD %s %s: %v", ctr, ifname, err)
			}
			cur := mustCurrent(t, res)
			if i == 1 && len(cur.Routes) != 0 {
				t.Errorf("second network's result lists routes %v; the default route is eth0's", cur.Routes)
			}
			addr[ctr+ifname] = addrOf(t, res)
			rts = append(rts, struct {
				c  *harness.CNI
				rt *libcni.RuntimeConf
			}{c, rt})
		}
		out, err := exec.Command("ip", "-n", harness.NsName(ns[ctr]), "-4", "route", "show", "default").CombinedOutput()
		if err != nil || strings.Count(string(out), "default") != 1 || !strings.Contains(string(out), "dev eth0") {
			t.Fatalf("container %s default routes: %v\n%s", ctr, err, out)
		}
	}
	for _, ifname := range []string{"eth0", "eth1"} {
		if err := harness.Ping(ns["x"], addr["y"+ifname]); err != nil {
			t.Errorf("x -> y on %s: %v", ifname, err)
		}
	}
	for _, r := range rts {
		if err := r.c.Config.CheckNetworkList(harness.Context(t), r.c.List, r.rt); err != nil {
			t.Errorf("CHECK %s/%s: %v", r.rt.ContainerID, r.rt.IfName, err)
		}
	}
	for _, r := range rts {
		if err := r.c.Config.DelNetworkList(harness.Context(t), r.c.List, r.rt); err != nil {
			t.Errorf("DEL %s/%s: %v", r.rt.ContainerID, r.rt.IfName, err)
		}
	}
	for _, n := range []string{"e2e-mn-a", "e2e-mn-b"} {
		if p := sbx.NBPorts(t, n); len(p) != 0 {
			t.Errorf("ports left on %s: %v", n, p)
		}
	}
}

// TestDelWhileDaemonDown (issue 15, defect 5): a DEL while the daemon is
// stopped succeeds for the runtime and is recorded; the daemon finishes it
// when it is back: no logical port, OVS port or veth left.
func TestDelWhileDaemonDown(t *testing.T) {
	env.Require(t)
	pending := filepath.Join(t.TempDir(), "pending-del")
	d := launchWith(t, func(c *harness.DaemonConfig) {
		c.WrapEnv = append(c.WrapEnv, api.PendingDelDirEnv+"="+pending)
	})
	d.MustReady()
	d.MustNetwork("e2e-pd", "--subnet4", "10.213.0.0/24")
	t.Cleanup(func() { d.Qnetctl("network", "delete", "e2e-pd") })
	c, err := harness.NewCNI(t, env.Bin, harness.ConfList("pd", "e2e-pd", d.Socket, `,"timeout":"5s","pendingDelDir":"`+pending+`"`))
	if err != nil {
		t.Fatal(err)
	}
	hostBefore := sbx.HostLinks("qnc")
	rt := harness.RT("pd-1", harness.Netns(t, "pd"), "eth0")
	if _, err := c.Config.AddNetworkList(harness.Context(t), c.List, rt); err != nil {
		t.Fatal(err)
	}
	d.Stop()
	if err := c.Config.DelNetworkList(harness.Context(t), c.List, rt); err != nil {
		t.Fatalf("DEL with the daemon stopped: %v", err)
	}
	if recs, err := api.ReadPendingDels(pending); err != nil || len(recs) != 1 {
		t.Fatalf("pending DELs: %v, %v; want one", recs, err)
	}
	if p := sbx.NBPorts(t, "e2e-pd"); len(p) != 1 {
		t.Fatalf("before the restart: ports %v", p)
	}
	d.MustStart()
	d.MustReady()
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		recs, _ := api.ReadPendingDels(pending)
		return len(sbx.NBPorts(t, "e2e-pd")) == 0 && len(recs) == 0 && len(sbx.HostLinks("qnc")) == len(hostBefore)
	}, "the recorded DEL was not finished: ports %v, links %v (were %v)", sbx.NBPorts(t, "e2e-pd"), sbx.HostLinks("qnc"), hostBefore)
	_ = os.RemoveAll(pending)
}
