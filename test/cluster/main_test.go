// Package cluster runs QuantumNet against clustered OVN: the sandbox's
// Northbound and Southbound are 3-member Raft clusters (scripts/sandbox.sh
// with QN_CLUSTER=3), the daemon lists every member, and the Raft leaders
// are killed with SIGKILL while containers are being added through the
// real CNI plugin. It needs root; without root or OVN it skips, except
// under CI=true. The harness is test/harness; the benchmark of the same
// failover is test/bench/cluster.
package cluster

import (
	"fmt"
	"os"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

const chassis = "chassis-cluster"

var (
	// sbx has its own run dir, host namespace and Raft ports, apart from
	// the e2e sandbox.
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-cl-%d", os.Getpid()), Chassis: chassis,
		Netns: fmt.Sprintf("qn-cl-host-%d", os.Getpid()), Cluster: true, ClusterPort: 20000 + 6*(os.Getpid()%5000)}
	env = harness.New(harness.Setup{Name: "cluster", Root: true, Programs: []string{"ovn-controller"}, Up: sbx.Up})
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }
