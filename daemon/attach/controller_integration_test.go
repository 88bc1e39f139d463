package attach

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/chassis"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovs/ovstest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// fakeController makes dir look like ovn-controller's run directory
// (pidfile, ovn-controller.<pid>.ctl) with its control socket at sock.
func fakeController(t *testing.T, dir, sock string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "ovn-controller.pid"), []byte("4242\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(sock, filepath.Join(dir, "ovn-controller.4242.ctl")); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationControllerLiveness (defect 14): with the chassis
// registered, a dead or hung ovn-controller makes STATUS not ready and ADD
// fail at once as unavailable, naming ovn-controller. The control socket
// stands in for ovn-controller's: a real ovsdb-server's (same unixctl
// protocol), then the server killed; and a socket that never answers.
func TestIntegrationControllerLiveness(t *testing.T) {
	nb, _ := ovntest.NewNB(t)
	sb, sbSrv := ovntest.NewSB(t)
	oc, ovsSrv := ovstest.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := oc.EnsureBridge(ctx, "br-int", "netdev"); err != nil {
		t.Fatal(err)
	}
	sbSrv.Run("ovn-sbctl", "--db="+sbSrv.Remote, "chassis-add", "chassis-h", "geneve", "127.0.0.1")
	alive, hung, none := t.TempDir(), t.TempDir(), t.TempDir()
	fakeController(t, alive, ovsSrv.Control)
	l, err := net.Listen("unix", filepath.Join(hung, "h.ctl"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accepts, never answers
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	fakeController(t, hung, filepath.Join(hung, "h.ctl"))

	m := &Manager{NB: nb, SB: sb, OVS: oc, Chassis: "chassis-h", Bridge: "br-int", Log: ovsdbtest.Logger(t)}
	m.Reconciled.Store(true)
	probe := func(dirs ...string) {
		m.Controller = &chassis.ControllerProbe{Dirs: dirs, Timeout: 300 * time.Millisecond, Cache: time.Nanosecond}
	}
	probe(none, alive)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return len(m.Ready()) == 0 }, "not ready with ovn-controller alive: %v", m.Ready())

	ovsSrv.Kill() // the "controller" dies; its pidfile and socket stay
	probe(alive)
	expectDown(t, m, "dead")
	probe(hung)
	expectDown(t, m, "hung")
	probe(none) // no pidfile anywhere: ovn-controller is not local, no opinion
	if p := m.Ready(); len(p) != 0 && strings.Contains(strings.Join(p, ";"), "ovn-controller (") {
		t.Errorf("without a pidfile: %v", p)
	}
}

func expectDown(t *testing.T, m *Manager, what string) {
	t.Helper()
	p := strings.Join(m.Ready(), "; ")
	if !strings.Contains(p, "ovn-controller") {
		t.Errorf("%s ovn-controller: STATUS problems %q, want ovn-controller named", what, p)
	}
	start := time.Now()
	_, err := m.Add(context.Background(), Request{ContainerID: "c1", Ifname: "eth0", Netns: "/proc/self/ns/net", Network: "blue", CNINetwork: "n"})
	if !errors.Is(err, errs.Unavailable) || !strings.Contains(err.Error(), "ovn-controller") || time.Since(start) > 2*time.Second {
		t.Errorf("%s ovn-controller: ADD = %v after %v, want unavailable at once, naming ovn-controller", what, err, time.Since(start))
	}
}
