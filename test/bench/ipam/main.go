// Command ipam benchmarks address allocation (run as `go run ./test/bench/ipam`,
// part of `make bench`). It measures, side by side in one run:
//
//  1. Allocations and releases per second on a /16 at 0 %, 50 % and 99 %
//     full, for
//     - host-local (containernetworking/plugins at the version pinned in
//     go.mod), its real binary driven as a CNI IPAM plugin exactly as a
//     runtime drives it (one process per ADD/DEL, config on stdin, CNI_*
//     environment, a real network namespace path), on its own data dir;
//     the fill levels are reached by writing its state files directly
//     (one file per address, "<container id>\r\n<ifname>", and
//     last_reserved_ip.0), as host-local itself writes them;
//     - quantumnetd, a real daemon process against a real Northbound
//     ovsdb-server (Southbound and OVS absent, chassis.manage=false), filled
//     through its API (IPAMReserve, concurrently) and measured through
//     pkg/api clients, sequentially (one client) and concurrently
//     (-workers clients);
//     and the ratios quantumnetd / host-local, with the target (at 50 %
//     full, through the daemon, at least 50x host-local; one request at a
//     time on both sides decides). Then the daemon's network is filled to
//     100 % and refused reservations (ResourceExhausted) are timed, back to
//     back and each right after a commit.
//  2. The in-process bitmap allocator alone (go test -bench ./ipam/):
//     ns/op and allocs/op, target under 1 µs.
//  3. The rebuild of -rebuild reservations (65,000) from Northbound: the
//     network is brought to exactly that many reservations through the
//     daemon, and a small second network (bench-near) to a few; the
//     daemon is stopped and a fresh one started, once per way of loading
//     Northbound (per network, the default: a network's reservations load
//     when it is first used; and all at start, [ovn]
//     load_all_reservations), one after the other. Each is timed from its
//     start until IPAMShow of bench-near answers in full (ready: a daemon
//     serving its own network with 65,000 reservations of another in NB),
//     then until IPAMShow of the big network answers with all of them,
//     with its memory at both points; then the server's share of a full
//     load (a raw monitor request on a plain connection); then, in this
//     process with the daemon's own code (pkg/ovn + daemon/alloc), both
//     ways again: the monitor load, the live heap of the cache, and the
//     pool rebuild alone. Targets: ready <= 1 s, rebuild < 1 s, and the
//     first IPAMShow of the big network < 1 s.
//
// The section 1 target is judged on a /16 and section 3's on 65,000
// reservations only (-quick reports them as n/a).
//
// It prints tables with the targets and whether they are met; -json FILE
// also writes the results. It is a report: it exits 0 unless something
// failed to run. Everything it starts (ovsdb-server, quantumnetd, a netns
// holder, host-local runs) and its temp dir are removed at the end, also on
// failure and on Ctrl-C. -quick is a small, fast run.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	flagQuick      = flag.Bool("quick", false, "small, fast run: a /20, -n 60, -rebuild 4000, -benchtime 100ms, -max-phase 3s (explicit flags win)")
	flagSmoke      = harness.SmokeFlag() // a /24, -n 5, 4 workers, -rebuild 100, -benchtime 100x, -max-phase 2s
	flagPrefix     = flag.Int("prefix", 16, "prefix length of the benchmark subnet 10.40.0.0/PREFIX (16..24)")
	flagN          = flag.Int("n", 300, "operations per measured phase (ADDs / reserves, then as many DELs / releases)")
	flagWorkers    = flag.Int("workers", 16, "concurrent clients for the daemon's concurrent phases and its pre-fill")
	flagFills      = flag.String("fills", "0,50,99", "fill levels in percent, ascending")
	flagMaxPhase   = flag.Duration("max-phase", 10*time.Second, "time cap of one host-local phase (it stops early, reporting what it did; at least 10 ops)")
	flagRebuild    = flag.Int("rebuild", 65000, "reservations in Northbound for the rebuild measurement (0: skip it)")
	flagBenchtime  = flag.String("benchtime", "1s", "-benchtime of the in-process allocator benchmark (empty: skip it)")
	flagJSON       = flag.String("json", "", "also write the results as JSON to this file")
	flagKeep       = flag.Bool("keep-tmp", false, "keep the temp dir (logs, databases, data dir) at the end")
	flagCPUProfile = flag.String("cpuprofile", "", "write a CPU profile of the in-process monitor load and rebuild (section 3) to this file")
	flagTarget     = flag.Float64("target-ratio", 50, "target: quantumnetd allocations/s at 50 % full, as a multiple of host-local's")
)

const (
	netName    = "bench"
	subnetBase = "10.40.0.0"
	ifname     = "eth0"
	cniVersion = "1.1.0"
	refPlugins = "github.com/containernetworking/plugins"
)

func main() {
	harness.ParseFlags("./test/bench/ipam", "IPAM allocation rate: quantumnetd vs host-local, the in-process allocator, and the rebuild from Northbound.")
	os.Exit(run())
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "bench-ipam: "+format+"\n", a...)
}

// applySizes sets the -smoke or -quick sizes of the flags not given
// explicitly. The smoke run goes through every section and check with a
// handful of operations: a /24 at 0, 50 and 99 % full, the exhaustion, a
// rebuild of 100 reservations, 100 iterations of the allocator benchmark.
func applySizes() error {
	switch {
	case *flagSmoke:
		return harness.FlagDefaults(map[string]string{"prefix": "24", "n": "5", "workers": "4", "rebuild": "100",
			"benchtime": "100x", "max-phase": "2s"})
	case *flagQuick:
		return harness.FlagDefaults(map[string]string{"prefix": "20", "n": "60", "rebuild": "4000", "benchtime": "100ms", "max-phase": "3s"})
	}
	return nil
}

func parseFills(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(f), "%")))
		if err != nil || v < 0 || v > 99 {
			return nil, fmt.Errorf("-fills: %q is not a percentage 0..99", f)
		}
		if len(out) > 0 && v <= out[len(out)-1] {
			return nil, fmt.Errorf("-fills: %q: levels must be ascending", s)
		}
		out = append(out, v)
	}
	return out, nil
}

// childAttr puts a child in its own process group (a Ctrl-C in the
// terminal reaches this program only, which then stops the child itself)
// and kills it if this program dies without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// proc is a long-running child process.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func startProc(name string, cmd *exec.Cmd) (*proc, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = childAttr()
	}
	// Pdeathsig fires when the forking thread exits; Go ends threads only
	// when a goroutine exits locked to one, which this program never does.
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends sig, then SIGKILL after grace, and waits for the exit.
func (p *proc) stop(sig syscall.Signal, grace time.Duration) {
	if p == nil || p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// ---------------------------------------------------------------- run

// env is the benchmark's world: the harness's Env (the repository, the
// temp dir, quantumnetd built, the cleanups) and the results.
type env struct {
	h      *harness.Env
	res    *Results
	failed bool // a step failed (its failure is in res)
}

func run() (code int) {
	fills, code := checkFlags()
	if code != 0 {
		return code
	}
	ctx, stop := harness.Interruptible(logf)
	defer stop() // runs last: after the cleanup

	e := &env{h: harness.New(harness.Setup{Name: "bipam", Binaries: []string{"quantumnetd"}}), res: newResults(fills)}
	e.h.Keep = *flagKeep
	defer harness.Finish(&code, time.Now(), e.close, logf)

	if !e.measure(ctx, fills) {
		return 1
	}
	e.publish(ctx)
	if ctx.Err() != nil {
		return 130
	}
	if e.failed {
		return 1
	}
	return 0
}

// checkFlags applies -smoke/-quick sizes and checks the flags: the fills,
// or exit code 2.
func checkFlags() ([]int, int) {
	if err := applySizes(); err != nil {
		logf("%v", err)
		return nil, 2
	}
	fills, err := parseFills(*flagFills)
	if err != nil {
		logf("%v", err)
		return nil, 2
	}
	if *flagPrefix < 16 || *flagPrefix > 24 || *flagN < 1 || *flagWorkers < 1 || *flagRebuild < 0 {
		logf("-prefix must be 16..24, -n and -workers >= 1, -rebuild >= 0")
		return nil, 2
	}
	return fills, 0
}

// fail records a failed step.
func (e *env) fail(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		err = fmt.Errorf("interrupted (%v)", err)
	}
	logf("%s failed: %v", what, err)
	e.res.Failures = append(e.res.Failures, what+": "+err.Error())
	e.failed = true
}

// measure builds the contenders and runs the steps in order: the
// in-process allocator (with -benchtime), host-local, quantumnetd. It is
// false when the build failed (nothing was measured).
func (e *env) measure(ctx context.Context, fills []int) bool {
	logf("building quantumnetd")
	if err := e.h.Start(); err != nil {
		e.fail(ctx, "build", err)
		return false
	}
	hostLocal, err := e.buildHostLocal(ctx)
	if err != nil {
		e.fail(ctx, "build", err)
		return false
	}
	if *flagBenchtime != "" && ctx.Err() == nil {
		if err := e.poolBench(ctx); err != nil {
			e.fail(ctx, "in-process allocator benchmark", err)
		}
	}
	if ctx.Err() == nil {
		if err := e.hostLocal(ctx, hostLocal, fills); err != nil {
			e.fail(ctx, "host-local", err)
		}
	}
	if ctx.Err() == nil {
		if err := e.quantumnetd(ctx, fills); err != nil {
			e.fail(ctx, "quantumnetd", err)
		}
	}
	return true
}

// publish prints the results, and writes them to -json.
func (e *env) publish(ctx context.Context) {
	e.res.finish()
	e.res.print(os.Stdout)
	if *flagJSON != "" {
		if err := harness.WriteJSON(*flagJSON, e.res); err != nil {
			e.fail(ctx, "write -json", err)
		} else {
			logf("results written to %s", *flagJSON)
		}
	}
}

// close removes what the run created (the temp dir unless -keep-tmp).
func (e *env) close() error {
	e.h.Close()
	if *flagKeep {
		logf("kept %s", e.h.Tmp)
	}
	return nil
}

// buildHostLocal builds host-local, the version in go.mod, into the temp dir.
func (e *env) buildHostLocal(ctx context.Context) (string, error) {
	bin := filepath.Join(e.h.Bin, "host-local")
	ver, _ := exec.CommandContext(ctx, harness.GoTool(), "list", "-m", "-f", "{{.Version}}", refPlugins).Output()
	e.res.Meta.HostLocalVersion = strings.TrimSpace(string(ver))
	logf("building host-local %s", e.res.Meta.HostLocalVersion)
	cmd := exec.CommandContext(ctx, harness.GoTool(), "build", "-o", bin, refPlugins+"/plugins/ipam/host-local")
	cmd.Dir = e.h.Repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build host-local: %v\n%s", err, out)
	}
	return bin, nil
}

// ---------------------------------------------------------------- stats

// durStats summarises latencies.
type durStats struct {
	N      int           `json:"n"`
	Total  time.Duration `json:"total_ns"` // wall time of the phase
	P50    time.Duration `json:"p50_ns"`
	P99    time.Duration `json:"p99_ns"`
	Max    time.Duration `json:"max_ns"`
	Avg    time.Duration `json:"avg_ns"`
	PerSec float64       `json:"per_sec"` // N / Total
}

func summarize(lat []time.Duration, wall time.Duration) durStats {
	s := durStats{N: len(lat), Total: wall}
	if wall > 0 {
		s.PerSec = float64(len(lat)) / wall.Seconds()
	}
	if len(lat) == 0 {
		return s
	}
	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range sorted {
		sum += d
	}
	s.Avg = sum / time.Duration(len(sorted))
	s.P50 = sorted[len(sorted)/2]
	s.P99 = sorted[min(len(sorted)-1, (len(sorted)*99+99)/100-1)]
	s.Max = sorted[len(sorted)-1]
	return s
}
