package cluster

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

// streamN ADDs, streamConc at a time: lean for CI (the benchmark runs 200).
const (
	streamN    = 40
	streamConc = 4
)

// nbAddresses are the IPv4 addresses of network's ports in Northbound.
func nbAddresses(t *testing.T, network string) []string {
	t.Helper()
	out := sbx.Tool(t, "ovn-nbctl", "--bare", "--columns=addresses", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:network="+network)
	var ips []string
	for _, f := range strings.Fields(out) {
		if strings.Count(f, ".") == 3 {
			ips = append(ips, f)
		}
	}
	return ips
}

// TestRaftLeaderFailoverDuringADDs kills the NB leader a third into a
// stream of CNI ADDs and the SB leader at two thirds: every ADD succeeds
// (with retries), no address is handed out twice, and two containers added
// before keep pinging each other.
func TestRaftLeaderFailoverDuringADDs(t *testing.T) {
	env.Require(t)
	c := sbx.DaemonConfig()
	c.ReadyTimeout = "15s"
	d := harness.LaunchDaemon(t, c)
	d.MustReady()
	d.MustNetwork("cl-blue", "--subnet4", "10.211.0.0/24", "--mtu", "1400")
	cni, err := harness.NewCNI(t, env.Bin, harness.ConfList("clnet", "cl-blue", d.Socket, ""))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pair := harness.AddStream(ctx, cni, "clpre", 2, 2, nil)
	t.Cleanup(func() { harness.DelStream(context.Background(), cni, pair) })
	for _, r := range pair {
		if r.Err != nil {
			t.Fatalf("ADD %s before the failover: %v", r.ID, r.Err)
		}
	}
	if err := harness.Ping(pair[0].Netns, pair[1].IP); err != nil {
		t.Fatal(err)
	}

	var lost, pings atomic.Int64
	stop := make(chan struct{})
	pinged := make(chan struct{})
	go func() { // the existing pair, during the whole stream
		defer close(pinged)
		for {
			select {
			case <-stop:
				return
			case <-time.After(300 * time.Millisecond):
			}
			pings.Add(1)
			if harness.Ping(pair[0].Netns, pair[1].IP) != nil {
				lost.Add(1)
			}
		}
	}()
	killed := map[string]int{}
	recs := harness.AddStream(ctx, cni, "clrun", streamN, streamConc, func(i int) {
		for db, at := range map[string]int{harness.ClusterNB: streamN / 3, harness.ClusterSB: 2 * streamN / 3} {
			if i == at {
				killed[db] = killLeader(t, db)
			}
		}
	})
	close(stop)
	<-pinged
	t.Cleanup(func() { harness.DelStream(context.Background(), cni, recs) })
	checkStream(t, recs, killed)
	t.Logf("existing pair: %d of %d ping rounds failed during the stream", lost.Load(), pings.Load())

	seen := map[string]string{}
	for _, ip := range nbAddresses(t, "cl-blue") {
		if prev, dup := seen[ip]; dup {
			t.Errorf("address %s handed out twice in Northbound (%s)", ip, prev)
		}
		seen[ip] = ip
	}
	for _, r := range append(pair, recs...) {
		if _, ok := seen[r.IP]; !ok && r.Err == nil {
			t.Errorf("ADD %s got %s, which no port holds in Northbound", r.ID, r.IP)
		}
	}
	if err := harness.Ping(pair[0].Netns, pair[1].IP); err != nil {
		t.Errorf("the existing pair after both failovers: %v", err)
	}
	if err := harness.Ping(recs[len(recs)-1].Netns, pair[0].IP); err != nil {
		t.Errorf("a container added after the failovers: %v", err)
	}
	if err := sbx.Restore(); err != nil {
		t.Fatal(err)
	}
}

// killLeader kills db's Raft leader and returns which member it was.
func killLeader(t *testing.T, db string) int {
	n, err := sbx.WaitLeader(db, 20*time.Second)
	if err != nil {
		t.Error(err)
		return 0
	}
	if err := sbx.KillMember(db, n); err != nil {
		t.Error(err)
	}
	t.Logf("killed the %s leader (member %d) at %s", db, n, time.Now().Format("15:04:05.000"))
	return n
}

// checkStream asserts every ADD succeeded, each with its own address.
func checkStream(t *testing.T, recs []harness.AddRecord, killed map[string]int) {
	t.Helper()
	ips := map[string]string{}
	retried := 0
	var slowest time.Duration
	for _, r := range recs {
		if r.Err != nil {
			t.Errorf("ADD %s failed after %d tries: %v", r.ID, r.Tries, r.Err)
			continue
		}
		if other, dup := ips[r.IP]; dup {
			t.Errorf("ADD %s got %s, already given to %s", r.ID, r.IP, other)
		}
		ips[r.IP] = r.ID
		if r.Tries > 1 {
			retried++
		}
		slowest = max(slowest, r.Took)
	}
	t.Log(fmt.Sprintf("%d ADDs, %d retried, slowest %v; killed leaders %v", len(recs), retried, slowest.Round(time.Millisecond), killed))
}
