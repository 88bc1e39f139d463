// Package e2e runs QuantumNet end to end: a local OVN sandbox (NB, SB,
// northd, OVS on the userspace datapath, ovn-controller), quantumnetd, and
// the quantumnet CNI plugin binary driven through libcni exactly as a
// container runtime drives it, with network namespaces as containers and
// real packets. It needs root; without root or OVN it skips, except under
// CI=true where that is a failure. The harness is test/harness.
package e2e

import (
	"fmt"
	"os"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

const chassis = "chassis-e2e"

var (
	// sbx is the sandbox, its chassis in a network namespace standing for
	// the host.
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-e2e-%d", os.Getpid()), Chassis: chassis,
		Netns: fmt.Sprintf("qn-e2e-host-%d", os.Getpid())}
	env = harness.New(harness.Setup{Name: "e2e", Root: true, Programs: []string{"ovn-controller"}, Up: sbx.Up})
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// daemonConfig is a quantumnetd on the sandbox's chassis.
func daemonConfig() harness.DaemonConfig {
	c := sbx.DaemonConfig()
	c.ReadyTimeout = "15s"
	return c
}

// readyDaemon skips unless the environment is there, then starts a
// quantumnetd on the sandbox and waits until it is ready.
func readyDaemon(t *testing.T) *harness.Daemon {
	t.Helper()
	env.Require(t)
	d := harness.LaunchDaemon(t, daemonConfig())
	d.MustReady()
	return d
}

// launchWith starts a quantumnetd on the sandbox with its config changed by mod.
func launchWith(t *testing.T, mod func(*harness.DaemonConfig)) *harness.Daemon {
	t.Helper()
	c := daemonConfig()
	mod(&c)
	return harness.LaunchDaemon(t, c)
}
