// Command dns benchmarks a network's resolver (run by `make bench` as
// `go run ./test/bench/dns`, as root): queries per second and latency
// for the network's own names (A of its ports, PTR of their addresses) and
// for forwarded names, side by side with dnsmasq serving the same records
// on the same machine, in one run, measured by dnsperf.
//
// The world is test/e2e's: the OVN sandbox (scripts/sandbox.sh) with its
// chassis in a network namespace standing for the host, quantumnetd, and
// one network with -ports named ports attached by the real CNI plugin
// through libcni (each port's name p<i>.dnsb.test). The resolver is the
// daemon's, on its real address (its own namespace behind an OVN
// localport). dnsmasq runs in a container namespace attached to the same
// network (so both are reached from the client the same way: the client's
// veth, the userspace datapath, the server's veth), with the same records
// (addn-hosts; local= for the domain and the subnet's reverse zone, so
// unknown names are NXDOMAIN as with QuantumNet) and no cache
// (cache-size=0: QuantumNet caches nothing, so every forwarded query is
// forwarded by both). The forwarded zone fwd.test is served by a second
// dnsmasq, the upstream of both, in the host's namespace on a veth whose
// other end is in dnsmasq's namespace.
//
// dnsperf runs in a client container: per query class and contender, a
// saturation run (-l seconds, -q outstanding: queries per second, and the
// latency p99 under that load) and a fixed-rate run (-Q: the latency p99
// at a load both sustain), -rounds times, interleaved, medians reported.
// QuantumNet's resolver keeps its reliability bounds (issue 15): at most 64
// forwards in flight per network (beyond: SERVFAIL at once), 32 TCP
// connections, 5 s TCP idle; dnsperf's default of 100 outstanding queries is
// above the forward cap, so the forwarded rows show what it does.
//
// It exits 0 unless something failed to run or an answer is wrong (a
// sample of A, PTR and forwarded answers from each contender is checked:
// the A record is the port's address), or a figure is absurd (no query
// answered). Missed targets are reported, not failed. Everything it
// creates is removed at the end, also on failure and on Ctrl-C.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagPorts    = flag.Int("ports", 200, "named ports on the network (the resolver's and dnsmasq's records)")
	flagFwd      = flag.Int("fwd-names", 1000, "names in the forwarded zone")
	flagSeconds  = flag.Int("l", 5, "seconds per dnsperf run")
	flagRounds   = flag.Int("rounds", 3, "runs per query class and contender (interleaved; medians reported)")
	flagOut      = flag.Int("q", 100, "dnsperf's outstanding queries in the saturation runs (its default)")
	flagRate     = flag.Int("rate", 2000, "queries per second of the fixed-rate (latency) runs")
	flagParallel = flag.Int("parallel", 4, "CNI ADDs at a time while making the ports")
	flagBin      = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagJSON     = flag.String("json", "", "also write the results as JSON to this file")
	smoke        = harness.SmokeFlag()
)

const (
	network = "dnsbench"
	subnet4 = "10.236.0.0/22"
	domain  = "dnsb.test"
	fwdZone = "fwd.test"
	upAddr  = "169.254.53.1" // the upstream, in the host's namespace
	dmqUp   = "169.254.53.2" // dnsmasq's end of the veth to the upstream
)

var logf = harness.BenchLogf("dns")

func main() {
	harness.ParseFlags("./test/bench/dns", "DNS: queries per second and p99 of a network's resolver (local A, PTR, forwarded) vs dnsmasq with the same records, by dnsperf (root; OVN).")
	if *smoke {
		if err := harness.FlagDefaults(map[string]string{"ports": "10", "fwd-names": "50", "l": "1", "rounds": "1", "rate": "200"}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
	}
	if *flagPorts < 1 || *flagPorts > 1000 || *flagSeconds < 1 || *flagRounds < 1 || *flagRate < 1 || *flagFwd < 1 {
		fmt.Fprintln(os.Stderr, "-ports must be 1..1000; -l, -rounds, -rate and -fwd-names at least 1")
		os.Exit(2)
	}
	os.Exit(run())
}

func run() (code int) {
	ctx, stop := harness.Interruptible(logf)
	defer stop()
	b := &bench{BenchWorld: harness.NewBenchWorld("dnsbench", "dnsb", logf)}
	defer harness.Finish(&code, time.Now(), b.cleanup, logf)
	if err := b.up(ctx); err != nil {
		b.SetupFailed(err)
		return 1
	}
	if err := b.verify(); err != nil {
		logf("answers: %v", err)
		return 1
	}
	rep, err := b.measure(ctx)
	if err != nil {
		logf("measure: %v", err)
		return 1
	}
	report(os.Stdout, rep)
	if *flagJSON != "" {
		if err := harness.WriteJSON(*flagJSON, rep); err != nil {
			logf("%v", err)
			return 1
		}
	}
	if err := b.verify(); err != nil { // the servers still answer right after the load
		logf("answers after the runs: %v", err)
		return 1
	}
	return rep.absurd()
}
