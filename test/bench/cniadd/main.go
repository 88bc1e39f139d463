// Command cniadd benchmarks CNI ADD latency (run by `make bench` as
// `go run ./test/bench/cniadd`, as root).
//
// Contenders, each invoked through its real binary with libcni, the way a
// container runtime does:
//
//   - quantumnet: bin/quantumnet talking to a quantumnetd this program starts
//     against the local OVN sandbox (scripts/sandbox.sh), on its own network;
//   - bridge+host-local: the reference plugins of containernetworking/plugins
//     (the module version in go.mod), built into a temporary directory;
//   - shell: test/bench/cniadd/shell-cni.sh, a naive OVN plugin in bash
//     (ovn-nbctl, ip, ethtool, ovs-vsctl, wait-until ovn-installed);
//   - floor: no plugin, the OVS/OVN work of an ADD and nothing else (see
//     floor.go): its logical port and veth made beforehand (not timed),
//     timed one libovsdb insert of the OVS port and the wait for
//     ovn-installed. QuantumNet's overhead over it is printed.
//
// It prints where quantumnet's ADD time goes, a line per phase, from the
// daemon's log ("attached" lines: prep, ipam, nbtxn, veth_create, nb, veth,
// ovs, ovs_batch, installed, total) and the plugin-side latency (the rest: plugin start, RPC).
//
// For each contender it measures -n ADDs one after another and -n ADDs with
// -parallel at a time, each ADD into a fresh network namespace created
// beforehand (not timed). After each phase every attachment is deleted (not
// timed) and the harness verifies nothing is left. It prints a table with
// p50/p99/mean/ADDs/s and ratios against quantumnet, quantumnetd's memory,
// and whether the targets are met. It is a report, not a test: it exits 0
// unless something failed to run.
//
// Everything it creates (sandbox if it was down, daemon, network, logical
// switch, bridge, namespaces, veths, temp dir) is removed at the end, also
// on failure and on Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/test/harness"
)

const (
	cniVersion   = "1.1.0"
	qnSubnet     = "10.77.0.0/16"
	bridgeSubnet = "10.78.0.0/16"
	shellNet16   = "10.79" // shell baseline: 10.79.0.0/16
	bridgeName   = "qnbenchbr0"
	nsPrefix     = "qnbench-"
	ifname       = "eth0"
	refPlugins   = "github.com/containernetworking/plugins"
)

// Contender names.
const (
	cQN     = "quantumnet"
	cBridge = "bridge+host-local"
	cShell  = "shell"
	cFloor  = "floor"
)

var (
	flagN        = flag.Int("n", 100, "ADDs per contender and mode")
	flagParallel = flag.Int("parallel", 8, "ADDs in flight at a time in the parallel mode")
	flagJSON     = flag.String("json", "", "also write the results as JSON to this file")
	flagWarmup   = flag.Int("warmup", 3, "untimed ADD+DEL rounds per contender before measuring")
	flagBin      = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl already built, e.g. bin (default: build them)")
	flagKeep     = flag.Bool("keep-tmp", false, "keep the temp dir (daemon log, configs) at the end")
	flagSmoke    = harness.SmokeFlag() // -n 3, -parallel 2, -warmup 1
)

func main() {
	harness.ParseFlags("./test/bench/cniadd", "CNI ADD latency of quantumnet vs bridge+host-local vs a shell OVN plugin (root, local OVN sandbox).")
	if *flagSmoke {
		if err := harness.FlagDefaults(map[string]string{"n": "3", "parallel": "2", "warmup": "1"}); err != nil {
			logf("%v", err)
			os.Exit(2)
		}
	}
	os.Exit(run())
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "cniadd: "+format+"\n", a...)
}

// ---------------------------------------------------------------- state

type bench struct {
	h                *harness.Env
	repo, bin, tmp   string
	pluginDir        string
	cni              *libcni.CNIConfig // ADDs and phase DELs: libcni's default exec
	cniDetached      *libcni.CNIConfig // cleanup DELs: plugins in their own process group
	pid              int
	stderrLog        *os.File
	sandboxStarted   bool
	env              map[string]string // sandbox.sh env
	daemon           *harness.Daemon
	daemonVersion    string
	network          string // quantumnet network, once created
	shellSwitch      string // shell baseline logical switch, once created
	shellOwner       string
	bridgeOurs       bool // bridgeName did not exist before this run
	hostLocalDir     string
	contenders       []*contender
	nsMu             sync.Mutex
	namespaces       map[string]bool // created and not yet deleted
	seq              int
	rssStart, hwmEnd int64
	rssEnd           int64
	loadStart        string
	problems         []string // odd things seen (reported at the end)
	floor            *floor
	pluginStartP50   float64 // ms: quantumnet plugin's VERSION exec
	dialP50          float64 // ms: rpcclient.Dial (connect, handshake, Hello)
}

type contender struct {
	name   string
	short  string
	list   *libcni.NetworkConfigList
	verify func(ctx context.Context, atts []*attachment) error
	// Not a CNI plugin (list nil): prepare (not timed) readies the
	// attachments of a phase, addFn is the timed ADD, delFn the DEL.
	prepare      func(ctx context.Context, atts []*attachment) error
	addFn, delFn func(ctx context.Context, a *attachment) error
	mu           sync.Mutex
	live         map[string]*attachment // ADD attempted, not yet deleted
}

type attachment struct {
	id     string // CNI_CONTAINERID
	ns     string // netns name
	path   string // netns path
	result *current.Result
}

func (a *attachment) rt() *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: a.id, NetNS: a.path, IfName: ifname}
}

func (b *bench) problem(format string, a ...any) {
	msg := fmt.Sprintf(format, a...)
	b.problems = append(b.problems, msg)
	logf("NOTE: %s", msg)
}

// ---------------------------------------------------------------- run

func run() (code int) {
	if *flagN < 1 || *flagParallel < 1 || *flagWarmup < 0 {
		logf("-n and -parallel must be >= 1, -warmup >= 0")
		return 2
	}
	// The first SIGINT/SIGTERM stops the measurements; the cleanup still
	// runs (later signals are ignored until it is done).
	ctx, stop := harness.Interruptible(logf)
	defer stop() // runs last: after the cleanup

	b := &bench{pid: os.Getpid(), namespaces: map[string]bool{}}
	defer harness.Finish(&code, time.Now(), b.cleanup, logf)

	if err := b.setup(ctx); err != nil {
		logf("setup failed: %v", err)
		b.dumpLogs()
		return 1
	}
	if r, err := harness.ProcStatus(b.daemon.Pid()); err == nil {
		b.rssStart = r["VmRSS"]
	}
	results, failed := b.measure(ctx)
	b.pluginStart(ctx)
	if ctx.Err() != nil {
		logf("interrupted")
		return 130
	}
	if b.finish(results) || failed {
		b.dumpLogs()
		return 1
	}
	return 0
}

// measure runs each contender's warm-up, then its sequential and parallel
// phases; a failure ends that contender's phases (failed is true).
func (b *bench) measure(ctx context.Context) (results []*phaseResult, failed bool) {
	for _, c := range b.contenders {
		if ctx.Err() != nil {
			break
		}
		if err := b.warmup(ctx, c); err != nil {
			logf("%s: warm-up failed: %v", c.name, err)
			results = append(results, &phaseResult{Contender: c.name, Mode: "warm-up", Error: err.Error()})
			failed = true
			continue
		}
		for _, par := range []int{1, *flagParallel} {
			if ctx.Err() != nil {
				break
			}
			pr := b.phase(ctx, c, *flagN, par)
			results = append(results, pr)
			if pr.Error != "" {
				if ctx.Err() == nil {
					logf("%s %s: %s", c.name, pr.Mode, pr.Error)
				}
				failed = true
				break
			}
		}
	}
	return results, failed
}

// finish reads quantumnetd's memory and log, prints the report and writes
// it to -json; it is true when writing failed.
func (b *bench) finish(results []*phaseResult) (failed bool) {
	if st, err := harness.ProcStatus(b.daemon.Pid()); err == nil {
		b.rssEnd, b.hwmEnd = st["VmRSS"], st["VmHWM"]
	} else {
		b.problem("reading quantumnetd memory: %v", err)
	}
	b.scanDaemonLog()
	rep := b.report(results)
	if *flagJSON != "" {
		if err := harness.WriteJSON(*flagJSON, rep); err != nil {
			logf("writing %s: %v", *flagJSON, err)
			return true
		}
	}
	return false
}
