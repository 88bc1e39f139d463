// Package crash kills quantumnetd with SIGKILL at random points of its
// operations (CNI ADD and DEL, security group changes, network create and
// delete, VM prepare and release through the qemu hook), restarts it, runs CNI GC with the attachments the runtime still
// holds, and checks that nothing leaked or was handed out twice: logical
// ports, OVS ports, veths, address reservations, resolver endpoints, ACLs;
// and that every surviving container still pings. The run is seeded and
// prints its seed: -seed N (or QN_CRASH_SEED=N) replays it. It needs root
// and OVN (scripts/sandbox.sh); without them it skips, except under
// CI=true.
package crash

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

const chassis = "chassis-crash"

var (
	seedFlag  = flag.Int64("seed", 0, "random seed of the crash matrix (0: QN_CRASH_SEED, else the clock)")
	itersFlag = flag.Int("iterations", 150, "kills in the crash matrix")

	// sbx is the sandbox, its chassis in a network namespace standing for
	// the host.
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-crash-%d", os.Getpid()), Chassis: chassis,
		Netns: fmt.Sprintf("qn-crash-host-%d", os.Getpid())}
	env = harness.New(harness.Setup{Name: "crash", Root: true, Programs: []string{"ovn-controller"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl", "quantumnet-qemu-hook"}, Up: sbx.Up})
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }
