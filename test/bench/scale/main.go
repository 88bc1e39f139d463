// Command scale benchmarks one chassis with a thousand container
// attachments (run by `make bench` as `go run ./test/bench/scale`, as
// root; `make bench-smoke` runs it with -smoke).
//
// On its own OVN sandbox (scripts/sandbox.sh, the chassis host in a
// namespace) with quantumnetd managing it, it attaches containers through
// the real CNI plugin binary with libcni and measures:
//
//   - CNI ADD p50/p99 with 10, 100, 500 and 1,000 ports already on the
//     host (-levels), side by side with the floor at the same count
//     (harness.FloorAdd: a pre-created logical port and veth, one OVS
//     insert with its iface-id, a monitor wait for ovn-installed); the
//     samples alternate floor and quantumnet;
//   - quantumnetd's RSS at 1,000 ports, then with 10,000 Northbound ports
//     of other chassis (-remote; real rows made with pkg/ovn's builders);
//   - a daemon restart with 1,000 ports: stop, start to ready, and the
//     packets lost by -pairs ping streams (every 10 ms) across it; the
//     same restart with the remote ports too;
//   - CNI GC of every attachment with a valid list missing every -gc-every
//     th one: its time, and that exactly those went (Northbound, OVS).
//
// It prints the tables with the targets MET / NOT MET (n/a with -smoke).
// It is a report, not a test: it exits non-zero only when something failed
// to run or a figure is absurd. Everything it made goes with the sandbox
// (down at the end, also on failure and on Ctrl-C).
package main

import (
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
	flagLevels   = flag.String("levels", "10,100,500,1000", "ports on the host at which ADD is sampled, increasing, comma separated")
	flagSamples  = flag.Int("samples", 20, "timed ADDs per level and contender")
	flagParallel = flag.Int("parallel", 8, "ADDs in flight while filling the host up to a level (untimed)")
	flagRemote   = flag.Int("remote", 10000, "Northbound ports of other chassis for the memory figure (0: none)")
	flagRemoteNs = flag.Int("remote-networks", 10, "networks the remote ports are spread over")
	flagPairs    = flag.Int("pairs", 10, "ping streams (10 ms apart) across the restart")
	flagPerf     = flag.String("perf", "", "record quantumnetd with perf into this directory during the ADD samples, the restarts and GC (perf report -i FILE)")
	flagGCEvery  = flag.Int("gc-every", 10, "GC's valid list misses every Nth attachment")
	flagBin      = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagJSON     = flag.String("json", "", "also write the results as JSON to this file")
	smoke        = harness.SmokeFlag()
)

// Targets (issue 20, "One host, a thousand ports").
const (
	targetRSSMiB   = 100
	targetReady    = 2 * time.Second
	targetRSSPorts = 1000
)

var logf = harness.BenchLogf("scale")

func main() {
	harness.ParseFlags("./test/bench/scale", "One chassis, a thousand container attachments: ADD vs the OVS floor by ports on the host, "+
		"quantumnetd memory, restart with pings, CNI GC (root; its own OVN sandbox).")
	if *smoke {
		if err := harness.FlagDefaults(map[string]string{"levels": "5,20", "samples": "3", "remote": "200",
			"remote-networks": "2", "pairs": "2", "gc-every": "4"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	os.Exit(run())
}

func parseLevels(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("-levels: %q is not a positive count", f)
		}
		out = append(out, n)
	}
	if !slices.IsSorted(out) || len(slices.Compact(slices.Clone(out))) != len(out) {
		return nil, fmt.Errorf("-levels %s: not increasing", s)
	}
	return out, nil
}

func run() (code int) {
	levels, err := parseLevels(*flagLevels)
	if err != nil || *flagSamples < 1 || *flagParallel < 1 || *flagPairs < 1 || *flagGCEvery < 2 || *flagRemote < 0 || *flagRemoteNs < 1 {
		logf("bad flags: %v (-samples, -parallel, -pairs >= 1, -gc-every >= 2, -remote >= 0)", err)
		return 2
	}
	if 2**flagPairs > levels[0]+*flagSamples {
		logf("-pairs %d needs %d attachments, the first level has %d", *flagPairs, 2**flagPairs, levels[0]+*flagSamples)
		return 2
	}
	ctx, stop := harness.Interruptible(logf)
	defer stop()
	b := &bench{BenchWorld: harness.NewBenchWorld("scalebench", "scb", logf), levels: levels}
	defer harness.Finish(&code, time.Now(), b.cleanup, logf)
	if err := b.up(ctx); err != nil {
		b.SetupFailed(err)
		return 1
	}
	rep := &results{Levels: levels, Samples: *flagSamples, Smoke: *smoke}
	err = b.measure(ctx, rep)
	b.phases(rep)
	b.report(os.Stdout, rep)
	if *flagJSON != "" {
		if werr := harness.WriteJSON(*flagJSON, rep); werr != nil {
			logf("%v", werr)
			return 1
		}
	}
	if err != nil {
		logf("FAILED: %v", err)
		logf("quantumnetd log (tail):\n%s", harness.TailFile(b.D.LogPath, 30))
		return 1
	}
	if msg := rep.absurd(); msg != "" {
		logf("absurd figure: %s", msg)
		return 1
	}
	return 0
}
