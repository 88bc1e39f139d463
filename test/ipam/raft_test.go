package ipam_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestIntegrationIPAMRaftLeaderKilled: a daemon on a 3-member Northbound
// Raft cluster (every member listed) reserves 200 addresses, 4 at a time;
// the leader is killed with SIGKILL a third of the way in, and the new
// leader at two thirds (after the first rejoined). Every reservation
// succeeds (retries allowed), no address is held twice, and NB holds every
// acknowledged one for its owner. It needs no root: the sandbox's
// clustered version, with CNI ADDs, is test/cluster.
func TestIntegrationIPAMRaftLeaderKilled(t *testing.T) {
	env.Require(t)
	cl := ovsdbtest.NewNBCluster(t)
	d := harness.LaunchDaemon(t, harness.DaemonConfig{Bin: env.Bin, NB: strings.Join(cl.Remotes(), ","), Chassis: "chassis-raft", LogLevel: "info"})
	c := d.MustClient()
	if _, err := c.CreateNetwork(context.Background(), &api.Network{Name: "raft", Subnet4: "10.40.0.0/22"}); err != nil {
		t.Fatal(err)
	}
	const total, workers = 200, 4
	var next, retries atomic.Int64
	var mu sync.Mutex
	acked := map[string]string{}
	var failed []string
	var slowest time.Duration
	killed := killLeaders(t, cl, &next, total)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := next.Add(1); i <= total; i = next.Add(1) {
				owner := fmt.Sprintf("o%d", i)
				start := time.Now()
				addr, err := reserveRetrying(c, owner, &retries)
				mu.Lock()
				if err != nil {
					failed = append(failed, owner+": "+err.Error())
				} else if prev := acked[addr]; prev != "" {
					failed = append(failed, fmt.Sprintf("%s handed to %s and %s", addr, prev, owner))
				} else {
					acked[addr] = owner
				}
				slowest = max(slowest, time.Since(start))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	<-killed
	t.Logf("%d reserved, %d retries, slowest %v", len(acked), retries.Load(), slowest.Round(time.Millisecond))
	if len(failed) > 0 {
		t.Fatalf("%d failures, e.g. %s", len(failed), failed[0])
	}
	u, err := c.IPAMShow(context.Background(), &api.NetworkRef{Name: "raft"})
	if err != nil {
		t.Fatal(err)
	}
	// An address is never held twice (NB's rows are keyed by address), every
	// acknowledged one is held by its owner. A reservation whose commit
	// reached the cluster but whose reply died with the leader is retried
	// and leaves the owner a second one: IPAMReserve is not idempotent per
	// owner (CNI ADD is, per container and interface). Those are counted.
	held := map[string]string{}
	for _, r := range u.Subnets[0].Reservations {
		if prev, dup := held[r.Address]; dup {
			t.Errorf("NB holds %s twice (%s, %s)", r.Address, prev, r.Owner)
		}
		held[r.Address] = r.Owner
	}
	for addr, owner := range acked {
		if held[addr] != owner {
			t.Fatalf("acknowledged %s for %s, NB holds it for %q", addr, owner, held[addr])
		}
	}
	extra := len(held) - len(acked)
	t.Logf("NB holds %d reservations: %d acknowledged, %d from commits whose reply was lost in a failover", len(held), len(acked), extra)
	if len(acked) != total || extra < 0 || int64(extra) > retries.Load() {
		t.Fatalf("NB holds %d reservations, %d acknowledged of %d, %d retries", len(held), len(acked), total, retries.Load())
	}
}

// killLeaders kills the leader once a third of total requests have
// started, restarts it and kills the new leader at two thirds; the channel
// closes when done.
func killLeaders(t *testing.T, cl *ovsdbtest.Cluster, next *atomic.Int64, total int64) <-chan struct{} {
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		var first int
		for i, at := range []int64{total / 3, 2 * total / 3} {
			for next.Load() < at {
				time.Sleep(time.Millisecond)
			}
			if i == 1 {
				cl.Members[first].Start() // rejoins from its file
			}
			n, err := cl.WaitLeader(30 * time.Second)
			if err != nil {
				t.Error(err)
				return
			}
			cl.Members[n].Kill()
			first = n
			t.Logf("killed leader member %d after %d requests", n, at)
		}
	}()
	return killed
}

// reserveRetrying reserves an address for owner, retrying for 60 s what
// fails while the cluster elects a leader (a retry after an answer that
// was lost returns the owner's existing reservation).
func reserveRetrying(c *rpcclient.Client, owner string, retries *atomic.Int64) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		r, err := c.IPAMReserve(ctx, &api.IPAMReserveRequest{Network: "raft", Owner: owner})
		cancel()
		if err == nil {
			return r.Address, nil
		}
		if time.Now().After(deadline) {
			return "", err
		}
		retries.Add(1)
		time.Sleep(100 * time.Millisecond)
	}
}
