package attach

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// cluster is one Northbound and one Southbound shared by the hosts of a
// test; each host is a Manager with its own local OVS database, on the
// test's kernel (the chassis-qualified host interface names keep them
// apart).
type cluster struct {
	t     *testing.T
	nbSrv *ovsdbtest.Server
	nb    *ovn.NB
	sb    *ovn.SB
	sbSrv *ovsdbtest.Server
	hosts int
}

// host is one daemon's attachment manager and its OVS database.
type host struct {
	m   *Manager
	srv *ovsdbtest.Server
	// hold pauses ovn-controller's part: new interfaces stay not installed.
	hold *atomic.Bool
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (veths and network namespaces)")
	}
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	needRoot(t)
	spec, err := network.Parse(network.Input{Name: "blue", Subnet4: "10.77.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	red, err := network.Parse(network.Input{Name: "red", Subnet4: "10.78.0.0/24", Subnet6: "fd78::/64"})
	if err != nil {
		t.Fatal(err)
	}
	nb, nbSrv := ovntest.NewNB(t, ovntest.Switch("blue", spec.ExternalIDs()), ovntest.Switch("red", red.ExternalIDs()))
	sb, sbSrv := ovntest.NewSB(t)
	return &cluster{t: t, nbSrv: nbSrv, nb: nb, sb: sb, sbSrv: sbSrv}
}

// host starts a daemon's attachment manager for chassis, reconciled and
// ready; ovn-controller's part (ovn-installed on new interfaces) is played
// by a loop of the test.
func (c *cluster) host(chassis string) *host {
	t := c.t
	t.Helper()
	c.hosts++
	c.sbSrv.Run("ovn-sbctl", "--db="+c.sbSrv.Remote, "chassis-add", chassis, "geneve", fmt.Sprintf("127.0.0.%d", c.hosts))
	nb := ovntest.DialNB(t, c.nbSrv)
	oc, osrv := ovstest.New(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if _, err := oc.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	log := ovsdbtest.Logger(t).With("chassis", chassis)
	store := &nbstore.Store{NB: nb, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log}
	m := &Manager{NB: nb, SB: c.sb, OVS: oc, Ports: &lport.Ports{NB: nb, Store: store}, Chassis: chassis,
		Bridge: "br-int", Datapath: "netdev", ReadyTimeout: 10 * time.Second, Log: log}
	ovntest.WaitSwitch(t, nb, "blue")
	hold := &atomic.Bool{}
	go markInstalled(ctx, osrv, hold)
	m.Reconciled.Store(true)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return len(m.Ready()) == 0 }, "host %s not ready: %v", chassis, m.Ready())
	return &host{m: m, srv: osrv, hold: hold}
}

// markInstalled plays ovn-controller: every interface gets
// external_ids:ovn-installed=true.
func markInstalled(ctx context.Context, srv *ovsdbtest.Server, hold *atomic.Bool) {
	for ctx.Err() == nil {
		if hold.Load() {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		out, err := srv.TryRun("ovs-vsctl", "--db="+srv.Remote, "--no-wait", "--timeout=5", "--bare",
			"--columns=name,external_ids", "list", "Interface")
		if err == nil {
			for _, row := range strings.Split(out, "\n\n") {
				f := strings.Fields(row)
				if len(f) == 0 || strings.Contains(row, "ovn-installed=\"true\"") {
					continue
				}
				name := f[0]
				_, _ = srv.TryRun("ovs-vsctl", "--db="+srv.Remote, "--no-wait", "--timeout=5",
					"set", "Interface", name, "external_ids:ovn-installed=true")
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(30 * time.Millisecond):
		}
	}
}

// netns creates a network namespace standing for a container.
func netns(t *testing.T, name string) string {
	t.Helper()
	name = fmt.Sprintf("qnat-%s-%d", name, os.Getpid()%100000)
	exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/var/run/netns/" + name
}

// ovsPort says whether host's OVS database has the port called name.
func (h *host) ovsPort(name string) bool {
	_, err := h.m.OVS.GetPort(name)
	return err == nil
}

func req(id, ifname, ns string) Request {
	return Request{ContainerID: id, Ifname: ifname, Netns: ns, Network: "blue", CNINetwork: "qn"}
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
