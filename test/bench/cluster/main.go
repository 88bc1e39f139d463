// Command cluster benchmarks CNI ADD latency around a Raft leader failover
// (run by `make bench` as `go run ./test/bench/cluster`, as root).
//
// It starts its own sandbox with NB and SB as 3-member Raft clusters
// (scripts/sandbox.sh, QN_CLUSTER=3; own run dir, host namespace and Raft
// ports), a quantumnetd listing every member, and streams -n CNI ADDs
// through the real plugin, -parallel at a time. A third of the way in it
// kills the NB leader with SIGKILL, at two thirds the SB leader. It prints
// p50/p99/max of ADD latency (first attempt to success, retries included)
// for the ADDs done before the first kill, those in flight at some moment
// within -window after a kill, and the rest; the time until each cluster had a new leader; and fails
// if an ADD never succeeded or an address was handed out twice.
//
// Everything it creates is removed at the end, also on failure.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagN        = flag.Int("n", 200, "CNI ADDs in the stream")
	flagParallel = flag.Int("parallel", 4, "ADDs in flight at a time")
	flagWindow   = flag.Duration("window", 2*time.Second, "ADDs in flight within this long after a kill count as during the failover")
	flagJSON     = flag.String("json", "", "also write the results as JSON to this file")
	flagBin      = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagSmoke    = harness.SmokeFlag() // -n 12, -parallel 2
)

func logf(format string, a ...any) { fmt.Fprintf(os.Stderr, "cluster: "+format+"\n", a...) }

func main() {
	harness.ParseFlags("./test/bench/cluster", "CNI ADD latency around NB and SB Raft leader failovers (root, clustered OVN sandbox).")
	if *flagSmoke {
		if err := harness.FlagDefaults(map[string]string{"n": "12", "parallel": "2"}); err != nil {
			logf("%v", err)
			os.Exit(2)
		}
	}
	os.Exit(bench())
}

// bench runs the benchmark and returns the exit code.
func bench() (code int) {
	code = 1
	t0 := time.Now()
	var env *harness.Env
	defer harness.Finish(&code, t0, func() error {
		if env != nil {
			env.Close()
		}
		return nil
	}, logf)
	sbx := &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-bcl-%d", os.Getpid()), Chassis: "chassis-bcl",
		Netns: fmt.Sprintf("qn-bcl-host-%d", os.Getpid()), Cluster: true, ClusterPort: 30000 + 6*(os.Getpid()%5000)}
	env = harness.New(harness.Setup{Name: "benchcl", Root: true, Programs: []string{"ovn-controller"}, Prebuilt: *flagBin, Up: sbx.Up})
	if err := env.Start(); err != nil {
		logf("%v", err)
		return
	}
	if err := run(env, sbx); err != nil {
		logf("%v", err)
		return
	}
	return 0
}

// kill is one leader kill: when, which member, and when a new leader was seen.
type kill struct {
	DB       string
	Member   int
	At       time.Time
	Election time.Duration
}

func run(env *harness.Env, sbx *harness.Sandbox) error {
	c := sbx.DaemonConfig()
	c.Dir = filepath.Join(env.Tmp, "d")
	c.LogLevel = "info"
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	d, err := harness.StartDaemon(c)
	if d != nil {
		defer d.Stop()
	}
	if err != nil {
		return err
	}
	if err := d.WaitReady(60 * time.Second); err != nil {
		return err
	}
	if out, err := d.Qnetctl("network", "create", "bcl", "--subnet4", "10.212.0.0/20", "--mtu", "1400"); err != nil {
		return fmt.Errorf("network create: %v\n%s", err, out)
	}
	defer d.Qnetctl("network", "delete", "bcl")
	list, err := libcni.ConfListFromBytes([]byte(harness.ConfList("bclnet", "bcl", d.Socket, "")))
	if err != nil {
		return err
	}
	cni := &harness.CNI{Config: libcni.NewCNIConfigWithCacheDir([]string{env.Bin}, filepath.Join(env.Tmp, "cache"), nil), List: list}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()

	var mu sync.Mutex
	var kills []*kill
	var wg sync.WaitGroup
	n := *flagN
	recs := harness.AddStream(ctx, cni, "bcl", n, *flagParallel, func(i int) {
		for db, at := range map[string]int{harness.ClusterNB: n / 3, harness.ClusterSB: 2 * n / 3} {
			if i != at {
				continue
			}
			k := &kill{DB: db, At: time.Now()}
			var err error
			if k.Member, err = sbx.WaitLeader(db, 20*time.Second); err == nil {
				err = sbx.KillMember(db, k.Member)
			}
			if err != nil {
				logf("kill %s leader: %v", db, err)
			}
			k.At = time.Now()
			mu.Lock()
			kills = append(kills, k)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := sbx.WaitLeader(db, 60*time.Second); err == nil {
					k.Election = time.Since(k.At)
				}
			}()
		}
	})
	wg.Wait()
	defer harness.DelStream(context.Background(), cni, recs)
	defer sbx.Restore()
	return report(recs, kills)
}
