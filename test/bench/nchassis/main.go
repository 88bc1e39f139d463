// Command nchassis benchmarks QuantumNet on many chassis (run by `make
// bench` as `go run ./test/bench/nchassis`, as root).
//
// For each chassis count of the curve (-curve, and -hosts, the headline)
// it brings up scripts/nhost.sh with that many hosts (each a network
// namespace with its own OVS on the userspace datapath, ovn-controller and
// quantumnetd; one central NB, SB and ovn-northd; Geneve between them), and
// then:
//
//   - adds -per containers on every chassis through the real CNI plugin and
//     that chassis' quantumnetd, all chassis at once (-parallel in flight
//     per chassis): ADD p50/p99/max per chassis and over all;
//   - reads, from /proc, the CPU time and memory of ovn-northd and the NB
//     and SB ovsdb-servers during those ADDs, and per chassis those of
//     ovn-controller, ovs-vswitchd and quantumnetd, the machine's CPU busy
//     share, ovn-controller's recomputes (inc-engine/show-stats), the SB
//     size and the OpenFlow flows on each br-int;
//   - pings a sample of -pairs container pairs on different chassis
//     (every ordered chassis pair at least once when -pairs allows): a pair
//     that does not answer fails the run;
//   - -netruns times: creates a new network and measures the time until a
//     container on each chassis (added through the plugin right after the
//     create) pings one on the next chassis: the network is usable on all
//     chassis.
//
// It prints a table per chassis count and a curve, with the targets MET or
// NOT MET (n/a with -smoke), and exits non-zero when something failed to
// run, an ADD never succeeded or a ping pair failed; not on a missed target.
// Everything it creates is removed at the end of each round, also on
// failure and on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagHosts      = flag.Int("hosts", 8, "chassis of the headline round (2 to 9)")
	flagCurve      = flag.String("curve", "2,4", "more chassis counts measured for the curve, comma separated (\"\": only -hosts)")
	flagPer        = flag.Int("per", 50, "containers added on each chassis")
	flagParallel   = flag.Int("parallel", 1, "ADDs in flight per chassis (all chassis add at once)")
	flagPairs      = flag.Int("pairs", 64, "container pairs on different chassis pinged (sampled)")
	flagNetRuns    = flag.Int("netruns", 3, "new networks created, each measured until usable on all chassis")
	flagIdle       = flag.Duration("idle", 3*time.Second, "how long the idle chassis' CPU is measured before the ADDs")
	flagMonitorAll = flag.Bool("monitor-all", false, "set ovn-monitor-all=true on every chassis (ovn-controller monitors the whole SB, no condition changes)")
	flagJSON       = flag.String("json", "", "also write the results as JSON to this file")
	flagBin        = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagSmoke      = harness.SmokeFlag() // -hosts 3, -curve "", -per 3, -pairs 6, -netruns 1
)

var logf = harness.BenchLogf("nchassis")

func main() {
	harness.ParseFlags("./test/bench/nchassis", "CNI ADD, cross-chassis pings, central CPU/memory and new-network time on N chassis (root, scripts/nhost.sh).")
	if *flagSmoke {
		if err := harness.FlagDefaults(map[string]string{"hosts": "3", "curve": "", "per": "3", "pairs": "6", "netruns": "1", "idle": "1s"}); err != nil {
			logf("%v", err)
			os.Exit(2)
		}
	}
	counts, err := chassisCounts(*flagHosts, *flagCurve)
	if err == nil && (*flagPer < 1 || *flagParallel < 1 || *flagPairs < 1 || *flagNetRuns < 1) {
		err = fmt.Errorf("-per, -parallel, -pairs and -netruns must be >= 1")
	}
	if err != nil {
		logf("%v", err)
		os.Exit(2)
	}
	os.Exit(run(counts))
}

// chassisCounts is the sorted, distinct chassis counts of the run.
func chassisCounts(hosts int, curve string) ([]int, error) {
	counts := []int{hosts}
	for _, f := range strings.Split(curve, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, fmt.Errorf("-curve: %q is not a number", f)
		}
		counts = append(counts, n)
	}
	for _, n := range counts {
		if n < 2 || n > 9 {
			return nil, fmt.Errorf("chassis counts must be 2 to 9 (scripts/nhost.sh), got %d", n)
		}
	}
	slices.Sort(counts)
	return slices.Compact(counts), nil
}

// run measures every chassis count, the smallest first, and prints the
// report; it returns the exit code.
func run(counts []int) (code int) {
	ctx, stop := harness.Interruptible(logf)
	defer stop()
	code = 1
	env := harness.New(harness.Setup{Name: "nchassis", Root: true, Prebuilt: *flagBin,
		Programs: []string{"ovn-controller", "ovn-nbctl", "ovn-sbctl", "ovn-appctl", "ovs-ofctl", "ping", "ethtool"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl"}})
	defer harness.Finish(&code, time.Now(), func() error { env.Close(); return nil }, logf)
	logf("building the binaries (-bin: prebuilt ones)")
	if err := env.Start(); err != nil {
		logf("%v", err)
		return 1
	}
	var rounds []*round
	failed := false
	for _, n := range counts {
		if ctx.Err() != nil {
			break
		}
		r := &round{N: n}
		rounds = append(rounds, r)
		if err := measureRound(ctx, env, r); err != nil {
			r.Error = err.Error()
			logf("%d chassis: %v", n, err)
			failed = true
		}
	}
	if ctx.Err() != nil {
		return 130
	}
	if err := report(rounds); err != nil {
		logf("%v", err)
		return 1
	}
	if failed {
		return 1
	}
	return 0
}

// measureRound brings n chassis up, measures them and takes them down.
func measureRound(ctx context.Context, env *harness.Env, r *round) (err error) {
	w := &world{env: env, n: r.N}
	defer func() {
		if cerr := w.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	t0 := time.Now()
	if err := w.up(); err != nil {
		w.dumpLogs()
		return err
	}
	r.UpSeconds = time.Since(t0).Seconds()
	r.IdleCPU = w.idleCPU(ctx)
	logf("%d chassis up in %.1f s (idle: their OVS and ovn-controllers use %.1f%% of one core); adding %d containers on each, all chassis at once",
		r.N, r.UpSeconds, 100*r.IdleCPU, *flagPer)
	if err := w.addPhase(ctx, r); err != nil {
		w.dumpLogs()
		return err
	}
	logf("%d chassis: pinging %d container pairs across chassis", r.N, *flagPairs)
	if err := w.pingMatrix(ctx, r); err != nil {
		return err
	}
	for i := 0; i < *flagNetRuns && ctx.Err() == nil; i++ {
		if err := w.newNetwork(ctx, r, i); err != nil {
			w.dumpLogs()
			return err
		}
	}
	return ctx.Err()
}
