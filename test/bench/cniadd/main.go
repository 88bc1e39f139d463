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
//     (ovn-nbctl, ip, ethtool, ovs-vsctl, wait-until ovn-installed).
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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
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
)

var (
	flagN        = flag.Int("n", 100, "ADDs per contender and mode")
	flagParallel = flag.Int("parallel", 8, "ADDs in flight at a time in the parallel mode")
	flagJSON     = flag.String("json", "", "also write the results as JSON to this file")
	flagWarmup   = flag.Int("warmup", 3, "untimed ADD+DEL rounds per contender before measuring")
	flagBin      = flag.String("bin", "", "directory with quantumnetd, quantumnet and qnetctl (default: <repo>/bin)")
	flagKeep     = flag.Bool("keep-tmp", false, "keep the temp dir (daemon log, configs) at the end")
)

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "Usage: go run ./test/bench/cniadd [flags]\n\nCNI ADD latency of quantumnet vs bridge+host-local vs a shell OVN plugin (root, local OVN sandbox).\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	os.Exit(run())
}

func logf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "cniadd: "+format+"\n", a...)
}

// ---------------------------------------------------------------- state

type bench struct {
	repo, bin, tmp   string
	pluginDir        string
	cni              *libcni.CNIConfig // ADDs and phase DELs: libcni's default exec
	cniDetached      *libcni.CNIConfig // cleanup DELs: plugins in their own process group
	pid              int
	stderrLog        *os.File
	sandboxStarted   bool
	env              map[string]string // sandbox.sh env
	daemon           *exec.Cmd
	daemonDone       chan struct{}
	daemonSock       string
	daemonLog        string
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
}

type contender struct {
	name   string
	short  string
	list   *libcni.NetworkConfigList
	verify func(ctx context.Context, atts []*attachment) error
	mu     sync.Mutex
	live   map[string]*attachment // ADD attempted, not yet deleted
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
	if os.Geteuid() != 0 {
		logf("must run as root (network namespaces, veths, OVS)")
		return 1
	}
	// The first SIGINT/SIGTERM stops the measurements; the cleanup still
	// runs (later signals are ignored until it is done).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigc := make(chan os.Signal, 4)
	signal.Notify(sigc, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigc) // runs last: after the cleanup
	go func() {
		first := true
		for range sigc {
			if first {
				logf("interrupted: stopping, then cleaning up (a few seconds)")
				cancel()
				first = false
			} else {
				logf("still cleaning up, please wait")
			}
		}
	}()

	b := &bench{pid: os.Getpid(), namespaces: map[string]bool{}}
	t0 := time.Now()
	defer func() {
		if r := recover(); r != nil {
			logf("panic: %v", r)
			code = 1
		}
		if err := b.cleanup(); err != nil {
			logf("cleanup: %v", err)
			code = 1
		} else {
			logf("cleanup done; total run time %s", time.Since(t0).Round(100*time.Millisecond))
		}
	}()

	if err := b.setup(ctx); err != nil {
		logf("setup failed: %v", err)
		b.dumpLogs()
		return 1
	}
	if r, err := readStatus(b.daemon.Process.Pid); err == nil {
		b.rssStart = r["VmRSS"]
	}

	var results []*phaseResult
	failed := false
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
	if ctx.Err() != nil {
		logf("interrupted")
		return 130
	}
	if st, err := readStatus(b.daemon.Process.Pid); err == nil {
		b.rssEnd, b.hwmEnd = st["VmRSS"], st["VmHWM"]
	} else {
		b.problem("reading quantumnetd memory: %v", err)
	}
	b.scanDaemonLog()
	rep := b.report(results)
	if *flagJSON != "" {
		if err := writeJSON(*flagJSON, rep); err != nil {
			logf("writing %s: %v", *flagJSON, err)
			failed = true
		}
	}
	if failed {
		b.dumpLogs()
		return 1
	}
	return 0
}

// ---------------------------------------------------------------- setup

func (b *bench) setup(ctx context.Context) error {
	var err error
	if b.repo, err = findRepo(); err != nil {
		return err
	}
	b.bin = *flagBin
	if b.bin == "" {
		b.bin = filepath.Join(b.repo, "bin")
	}
	if b.bin, err = filepath.Abs(b.bin); err != nil {
		return err
	}
	for _, f := range []string{"quantumnetd", "quantumnet", "qnetctl"} {
		if _, err := os.Stat(filepath.Join(b.bin, f)); err != nil {
			return fmt.Errorf("%s missing (run make build): %w", filepath.Join(b.bin, f), err)
		}
	}
	for _, t := range []string{"ip", "ovn-nbctl", "ovs-vsctl", "jq", "flock", "ethtool", "nsenter", "sha256sum"} {
		if _, err := exec.LookPath(t); err != nil {
			return fmt.Errorf("%s not found (run scripts/deps.sh; jq is needed by the shell baseline)", t)
		}
	}
	if _, err := netlink.LinkByName(bridgeName); err == nil {
		return fmt.Errorf("a link %s already exists (left by an earlier run killed with SIGKILL?); remove it with: ip link del %s", bridgeName, bridgeName)
	}
	b.bridgeOurs = true
	if b.tmp, err = os.MkdirTemp("", "qnbench-"); err != nil {
		return err
	}
	b.pluginDir = filepath.Join(b.tmp, "plugins")
	if err := os.MkdirAll(b.pluginDir, 0o755); err != nil {
		return err
	}
	if b.stderrLog, err = os.Create(filepath.Join(b.tmp, "plugin-stderr.log")); err != nil {
		return err
	}
	b.loadStart = loadavg()

	// The OVN sandbox.
	logf("sandbox: checking (scripts/sandbox.sh status)")
	out, err := b.cmd(ctx, 10*time.Second, filepath.Join(b.repo, "scripts", "sandbox.sh"), "status")
	if err != nil {
		anyRunning := strings.Contains(out, "running (pid")
		logf("sandbox: not (fully) up; running scripts/sandbox.sh up")
		if out, err := b.cmd(ctx, 90*time.Second, filepath.Join(b.repo, "scripts", "sandbox.sh"), "up"); err != nil {
			return fmt.Errorf("scripts/sandbox.sh up: %v\n%s", err, out)
		}
		b.sandboxStarted = !anyRunning
		if anyRunning {
			b.problem("the sandbox was partly running before: it is left up at the end")
		}
	} else {
		logf("sandbox: already up (it will be left up)")
	}
	out, err = b.cmd(ctx, 10*time.Second, filepath.Join(b.repo, "scripts", "sandbox.sh"), "env")
	if err != nil {
		return fmt.Errorf("scripts/sandbox.sh env: %v\n%s", err, out)
	}
	b.env = parseEnv(out)
	for _, k := range []string{"QN_NB_REMOTE", "QN_SB_REMOTE", "QN_OVS_REMOTE", "QN_CHASSIS"} {
		if b.env[k] == "" {
			return fmt.Errorf("scripts/sandbox.sh env did not print %s", k)
		}
	}
	for _, k := range []string{"QN_NB_REMOTE", "QN_OVS_REMOTE"} {
		if !strings.HasPrefix(b.env[k], "unix:") {
			return fmt.Errorf("%s=%s is not a unix: socket", k, b.env[k])
		}
	}

	// Reference plugins and the shell baseline.
	if err := b.buildReferencePlugins(ctx); err != nil {
		return err
	}
	shell := filepath.Join(b.repo, "test", "bench", "cniadd", "shell-cni.sh")
	if err := os.Symlink(shell, filepath.Join(b.pluginDir, "qnbench-shell")); err != nil {
		return err
	}

	// quantumnetd.
	if err := b.startDaemon(ctx); err != nil {
		return err
	}
	name := fmt.Sprintf("qnbench-%d", b.pid)
	if out, err := b.qnetctl(ctx, "network", "create", name, "--subnet4", qnSubnet); err != nil {
		return fmt.Errorf("qnetctl network create %s: %v\n%s", name, err, out)
	}
	b.network = name

	// Shell baseline: its logical switch and state dir.
	sw := fmt.Sprintf("qnbench-sh-%d", b.pid)
	if out, err := b.cmd(ctx, 15*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "ls-add", sw); err != nil {
		return fmt.Errorf("ovn-nbctl ls-add %s: %v\n%s", sw, err, out)
	}
	b.shellSwitch = sw
	b.shellOwner = fmt.Sprintf("qnbench-%d", b.pid)
	shellState := filepath.Join(b.tmp, "shell-state")
	if err := os.MkdirAll(shellState, 0o755); err != nil {
		return err
	}
	b.hostLocalDir = filepath.Join(b.tmp, "host-local")

	// libcni, as a runtime uses it: CNI_PATH has quantumnet's bin dir and
	// the temp plugin dir; plugin stderr goes to a log file.
	exe := &invoke.DefaultExec{RawExec: &invoke.RawExec{Stderr: b.stderrLog}, PluginDecoder: version.PluginDecoder{}}
	b.cni = libcni.NewCNIConfigWithCacheDir([]string{b.bin, b.pluginDir}, filepath.Join(b.tmp, "cni-cache"), exe)
	b.cniDetached = libcni.NewCNIConfigWithCacheDir([]string{b.bin, b.pluginDir}, filepath.Join(b.tmp, "cni-cache"), &detachedExec{})

	confs := []struct {
		name, short string
		plugin      map[string]any
		verify      func(context.Context, []*attachment) error
	}{
		{cQN, "qn", map[string]any{"type": "quantumnet", "network": b.network, "socket": b.daemonSock}, b.verifyQN},
		{cBridge, "br", map[string]any{
			"type": "bridge", "bridge": bridgeName, "isGateway": false, "ipMasq": false, "mtu": 1400,
			"ipam": map[string]any{"type": "host-local", "dataDir": b.hostLocalDir,
				"ranges": [][]map[string]string{{{"subnet": bridgeSubnet}}}},
		}, b.verifyBridge},
		{cShell, "sh", map[string]any{
			"type": "qnbench-shell", "nbDB": b.env["QN_NB_REMOTE"], "ovsDB": b.env["QN_OVS_REMOTE"],
			"logicalSwitch": sw, "stateDir": shellState, "subnet16": shellNet16, "readyTimeout": 15, "owner": b.shellOwner,
		}, b.verifyShell},
	}
	for _, cf := range confs {
		raw, err := json.Marshal(map[string]any{"cniVersion": cniVersion, "name": "qnbench-" + cf.short, "plugins": []any{cf.plugin}})
		if err != nil {
			return err
		}
		list, err := libcni.ConfListFromBytes(raw)
		if err != nil {
			return fmt.Errorf("%s config: %w", cf.name, err)
		}
		b.contenders = append(b.contenders, &contender{name: cf.name, short: cf.short, list: list, verify: cf.verify, live: map[string]*attachment{}})
	}
	return nil
}

func findRepo() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/quantumnet/quantumnet\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the quantumnet repository (go.mod of github.com/quantumnet/quantumnet not found)")
		}
		dir = parent
	}
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// buildReferencePlugins builds bridge and host-local at the version of
// containernetworking/plugins in go.mod: in the main module if it has every
// go.sum entry they need, else in the plugins module itself (its own go.mod
// and go.sum, same version), which changes nothing in this repository.
func (b *bench) buildReferencePlugins(ctx context.Context) error {
	pkgs := map[string]string{"bridge": "plugins/main/bridge", "host-local": "plugins/ipam/host-local"}
	ver, err := b.cmdIn(ctx, b.repo, 60*time.Second, nil, goTool(), "list", "-m", "-f", "{{.Version}} {{.Dir}}", refPlugins)
	if err != nil {
		return fmt.Errorf("go list -m %s: %v\n%s", refPlugins, err, ver)
	}
	f := strings.Fields(ver)
	if len(f) < 1 {
		return fmt.Errorf("go list -m %s printed %q", refPlugins, ver)
	}
	modDir := ""
	if len(f) > 1 {
		modDir = f[1]
	}
	logf("building bridge and host-local %s into %s", f[0], b.pluginDir)
	for name, pkg := range pkgs {
		out := filepath.Join(b.pluginDir, name)
		o1, err := b.cmdIn(ctx, b.repo, 5*time.Minute, nil, goTool(), "build", "-o", out, refPlugins+"/"+pkg)
		if err == nil {
			continue
		}
		if modDir == "" {
			// go list -m printed no Dir: the module is not downloaded yet.
			if o, err := b.cmdIn(ctx, b.repo, 5*time.Minute, nil, goTool(), "mod", "download", refPlugins); err != nil {
				return fmt.Errorf("go mod download %s: %v\n%s", refPlugins, err, o)
			}
			o, err := b.cmdIn(ctx, b.repo, time.Minute, nil, goTool(), "list", "-m", "-f", "{{.Dir}}", refPlugins)
			if err != nil {
				return fmt.Errorf("go list -m %s: %v\n%s", refPlugins, err, o)
			}
			modDir = strings.TrimSpace(o)
		}
		env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false"}
		o2, err := b.cmdIn(ctx, modDir, 5*time.Minute, env, goTool(), "build", "-o", out, "./"+pkg)
		if err != nil {
			return fmt.Errorf("building %s failed in this module:\n%s\nand in %s:\n%s", name, o1, modDir, o2)
		}
		logf("  %s: built in %s (this module's go.sum lacks entries the plugin needs)", name, modDir)
	}
	return nil
}

func (b *bench) startDaemon(ctx context.Context) error {
	b.daemonSock = filepath.Join(b.tmp, "quantumnetd.sock")
	b.daemonLog = filepath.Join(b.tmp, "quantumnetd.log")
	cfgPath := filepath.Join(b.tmp, "quantumnetd.toml")
	// manage = false: the sandbox configures the chassis; this daemon is a
	// guest on it and leaves Open_vSwitch external_ids alone.
	cfg := fmt.Sprintf(`[ovn]
nb_remotes = [%q]
sb_remotes = [%q]
[chassis]
name = %q
ovs_remote = %q
datapath_type = "netdev"
manage = false
[daemon]
socket = %q
ready_timeout = "15s"
`, b.env["QN_NB_REMOTE"], b.env["QN_SB_REMOTE"], b.env["QN_CHASSIS"], b.env["QN_OVS_REMOTE"], b.daemonSock)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	if out, err := b.cmd(ctx, 10*time.Second, filepath.Join(b.bin, "quantumnetd"), "-version"); err == nil {
		b.daemonVersion = strings.TrimSpace(out)
	}
	lf, err := os.Create(b.daemonLog)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(b.bin, "quantumnetd"), "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Own process group: a Ctrl-C in the terminal must not kill it before
	// the cleanup has deleted the attachments through it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("starting quantumnetd: %w", err)
	}
	b.daemon = cmd
	b.daemonDone = make(chan struct{})
	go func() { _ = cmd.Wait(); lf.Close(); close(b.daemonDone) }()
	logf("quantumnetd started (pid %d, log %s)", cmd.Process.Pid, b.daemonLog)

	deadline := time.Now().Add(30 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		select {
		case <-b.daemonDone:
			return fmt.Errorf("quantumnetd exited during start-up (%v)", cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if _, err := os.Stat(b.daemonSock); err == nil {
			if out, err = b.qnetctl(ctx, "status"); err == nil {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("quantumnetd did not become ready within 30s:\n%s", out)
}

// ---------------------------------------------------------------- commands

// cmdIn runs a helper command (own process group, so that a second Ctrl-C
// during the cleanup does not kill it) and returns its combined output.
func (b *bench) cmdIn(ctx context.Context, dir string, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	if ctx.Err() != nil {
		// Setup commands stop on Ctrl-C; cleanup passes a fresh context.
		return "", ctx.Err()
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(cctx, name, args...)
	c.Dir = dir
	if env != nil {
		c.Env = append(os.Environ(), env...)
	}
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var buf bytes.Buffer
	c.Stdout, c.Stderr = &buf, &buf
	err := c.Run()
	return buf.String(), err
}

func (b *bench) cmd(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	return b.cmdIn(ctx, "", timeout, nil, name, args...)
}

func (b *bench) cmdStdin(ctx context.Context, stdin string, name string, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	c := exec.CommandContext(cctx, name, args...)
	c.Stdin = strings.NewReader(stdin)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := c.CombinedOutput()
	return string(out), err
}

func (b *bench) qnetctl(ctx context.Context, args ...string) (string, error) {
	return b.cmd(ctx, 30*time.Second, filepath.Join(b.bin, "qnetctl"), append([]string{"--socket", b.daemonSock}, args...)...)
}

func parseEnv(out string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimPrefix(strings.TrimSpace(l), "export ")
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			continue
		}
		if uq, err := strconv.Unquote(v); err == nil {
			v = uq
		} else {
			v = strings.Trim(v, "'")
		}
		m[k] = v
	}
	return m
}

// ---------------------------------------------------------------- namespaces

func (b *bench) newNamespaces(ctx context.Context, c *contender, n int) ([]*attachment, error) {
	atts := make([]*attachment, n)
	var batch strings.Builder
	b.nsMu.Lock()
	for i := range atts {
		b.seq++
		name := fmt.Sprintf("%s%d-%d", nsPrefix, b.pid, b.seq)
		atts[i] = &attachment{
			id:   fmt.Sprintf("qnbench-%d-%s-%d", b.pid, c.short, b.seq),
			ns:   name,
			path: "/run/netns/" + name,
		}
		b.namespaces[name] = true // deleted by the cleanup even if "add" fails half-way
		fmt.Fprintf(&batch, "netns add %s\n", name)
	}
	b.nsMu.Unlock()
	if out, err := b.cmdStdin(ctx, batch.String(), "ip", "-batch", "-"); err != nil {
		return nil, fmt.Errorf("ip netns add: %v: %s", err, out)
	}
	return atts, nil
}

func (b *bench) deleteNamespaces(ctx context.Context, names []string) error {
	if len(names) == 0 {
		return nil
	}
	var batch strings.Builder
	for _, n := range names {
		fmt.Fprintf(&batch, "netns del %s\n", n)
	}
	out, err := b.cmdStdin(ctx, batch.String(), "ip", "-force", "-batch", "-")
	b.nsMu.Lock()
	for _, n := range names {
		if _, serr := os.Stat("/run/netns/" + n); os.IsNotExist(serr) {
			delete(b.namespaces, n)
		}
	}
	left := 0
	for _, n := range names {
		if b.namespaces[n] {
			left++
		}
	}
	b.nsMu.Unlock()
	if left > 0 {
		return fmt.Errorf("%d namespace(s) not deleted: %v: %s", left, err, out)
	}
	return nil
}

// onlyLoopback checks that netns path holds no interface but lo.
func onlyLoopback(path string) error {
	var extra []string
	err := ns.WithNetNSPath(path, func(ns.NetNS) error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Attrs().Name != "lo" {
				extra = append(extra, l.Attrs().Name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(extra) > 0 {
		return fmt.Errorf("netns %s still has %v", path, extra)
	}
	return nil
}

// ---------------------------------------------------------------- phases

type phaseResult struct {
	Contender   string    `json:"contender"`
	Mode        string    `json:"mode"`
	N           int       `json:"n"`
	Parallel    int       `json:"parallel"`
	P50ms       float64   `json:"p50_ms"`
	P99ms       float64   `json:"p99_ms"`
	MinMs       float64   `json:"min_ms"`
	MaxMs       float64   `json:"max_ms"`
	MeanMs      float64   `json:"mean_ms"`
	WallMs      float64   `json:"wall_ms"`
	AddsPerSec  float64   `json:"adds_per_sec"`
	DelWallMs   float64   `json:"del_wall_ms"`
	LatenciesMs []float64 `json:"latencies_ms,omitempty"`
	Error       string    `json:"error,omitempty"`
}

func modeName(par int) string {
	if par <= 1 {
		return "sequential"
	}
	return fmt.Sprintf("%d parallel", par)
}

// add runs one ADD; the attachment is registered first, so that the
// cleanup deletes whatever a failed or interrupted ADD left.
func (b *bench) add(ctx context.Context, c *contender, a *attachment) (time.Duration, error) {
	c.mu.Lock()
	c.live[a.id] = a
	c.mu.Unlock()
	t0 := time.Now()
	res, err := b.cni.AddNetworkList(ctx, c.list, a.rt())
	d := time.Since(t0)
	if err != nil {
		return d, fmt.Errorf("ADD %s (netns %s): %w", a.id, a.ns, err)
	}
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return d, fmt.Errorf("ADD %s: result: %w", a.id, err)
	}
	a.result = r
	return d, nil
}

func (b *bench) del(ctx context.Context, c *contender, a *attachment) error {
	return b.delWith(ctx, b.cni, c, a)
}

func (b *bench) delWith(ctx context.Context, cni *libcni.CNIConfig, c *contender, a *attachment) error {
	if err := cni.DelNetworkList(ctx, c.list, a.rt()); err != nil {
		return fmt.Errorf("DEL %s: %w", a.id, err)
	}
	c.mu.Lock()
	delete(c.live, a.id)
	c.mu.Unlock()
	return nil
}

// detachedExec runs a plugin like libcni's default exec, but in its own
// process group, so that a second Ctrl-C in the terminal does not kill the
// cleanup's DELs. Only the (untimed) cleanup uses it.
type detachedExec struct{ version.PluginDecoder }

func (*detachedExec) ExecPlugin(ctx context.Context, path string, stdin []byte, env []string) ([]byte, error) {
	c := exec.CommandContext(ctx, path)
	c.Env = env
	c.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Run(); err != nil {
		e := &types.Error{}
		if json.Unmarshal(stdout.Bytes(), e) == nil && e.Msg != "" {
			return nil, e
		}
		return nil, fmt.Errorf("%s: %v: %s", filepath.Base(path), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

func (*detachedExec) FindInPath(plugin string, paths []string) (string, error) {
	return invoke.FindInPath(plugin, paths)
}

// forEach runs f(i) for i in [0,n) with par workers; it stops handing out
// work after the first error and returns all errors.
func forEach(ctx context.Context, n, par int, f func(int) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan int)
	)
	stop := make(chan struct{})
	var once sync.Once
	for w := 0; w < par; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := f(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					once.Do(func() { close(stop) })
				}
			}
		}()
	}
loop:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-stop:
			break loop
		case <-ctx.Done():
			break loop
		}
	}
	close(next)
	wg.Wait()
	return errs
}

func (b *bench) warmup(ctx context.Context, c *contender) error {
	if *flagWarmup == 0 {
		return nil
	}
	logf("%s: warm-up (%d untimed ADD+DEL)", c.name, *flagWarmup)
	atts, err := b.newNamespaces(ctx, c, *flagWarmup)
	if err != nil {
		return err
	}
	for _, a := range atts {
		if _, err := b.add(ctx, c, a); err != nil {
			return err
		}
		if err := b.del(ctx, c, a); err != nil {
			return err
		}
	}
	if err := c.verify(ctx, atts); err != nil {
		return fmt.Errorf("after warm-up DEL: %w", err)
	}
	return b.deleteNamespaces(ctx, nsNames(atts))
}

func nsNames(atts []*attachment) []string {
	out := make([]string, len(atts))
	for i, a := range atts {
		out[i] = a.ns
	}
	return out
}

func (b *bench) phase(ctx context.Context, c *contender, n, par int) *phaseResult {
	pr := &phaseResult{Contender: c.name, Mode: modeName(par), N: n, Parallel: par}
	fail := func(err error) *phaseResult {
		if ctx.Err() != nil {
			err = errors.New("interrupted")
		}
		pr.Error = err.Error()
		return pr
	}
	atts, err := b.newNamespaces(ctx, c, n)
	if err != nil {
		return fail(err)
	}
	logf("%s: %d ADDs, %s", c.name, n, pr.Mode)
	lat := make([]time.Duration, n)
	start := time.Now()
	errs := forEach(ctx, n, par, func(i int) error {
		d, err := b.add(ctx, c, atts[i])
		lat[i] = d
		return err
	})
	wall := time.Since(start)
	if ctx.Err() != nil {
		return fail(ctx.Err())
	}
	if len(errs) > 0 {
		return fail(fmt.Errorf("%d ADD(s) failed; first: %w", len(errs), errs[0]))
	}
	if err := checkUnique(atts); err != nil {
		b.problem("%s %s: %v", c.name, pr.Mode, err)
		return fail(err)
	}

	// DEL everything (not timed), then check nothing is left.
	dstart := time.Now()
	if errs := forEach(ctx, n, max(par, 8), func(i int) error { return b.del(ctx, c, atts[i]) }); len(errs) > 0 {
		return fail(fmt.Errorf("%d DEL(s) failed; first: %w", len(errs), errs[0]))
	}
	pr.DelWallMs = ms(time.Since(dstart))
	if err := c.verify(ctx, atts); err != nil {
		b.problem("%s %s: after DEL: %v", c.name, pr.Mode, err)
		return fail(fmt.Errorf("after DEL: %w", err))
	}
	if err := b.deleteNamespaces(ctx, nsNames(atts)); err != nil {
		return fail(err)
	}

	sorted := append([]time.Duration(nil), lat...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var sum time.Duration
	for _, d := range lat {
		sum += d
		pr.LatenciesMs = append(pr.LatenciesMs, ms(d))
	}
	pr.P50ms = ms(percentile(sorted, 50))
	pr.P99ms = ms(percentile(sorted, 99))
	pr.MinMs, pr.MaxMs = ms(sorted[0]), ms(sorted[len(sorted)-1])
	pr.MeanMs = ms(sum / time.Duration(n))
	pr.WallMs = ms(wall)
	pr.AddsPerSec = float64(n) / wall.Seconds()
	return pr
}

// percentile is the nearest-rank percentile of sorted durations.
func percentile(sorted []time.Duration, p float64) time.Duration {
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// checkUnique verifies the ADD results: one container interface with an
// address each, and no address or MAC handed out twice.
func checkUnique(atts []*attachment) error {
	ips := map[string]string{}
	macs := map[string]string{}
	var errs []error
	for _, a := range atts {
		if a.result == nil || len(a.result.IPs) == 0 {
			errs = append(errs, fmt.Errorf("%s: result without IPs", a.id))
			continue
		}
		for _, ip := range a.result.IPs {
			s := ip.Address.IP.String()
			if other, dup := ips[s]; dup {
				errs = append(errs, fmt.Errorf("address %s given to both %s and %s", s, other, a.id))
			}
			ips[s] = a.id
		}
		for _, i := range a.result.Interfaces {
			if i.Sandbox == "" || i.Mac == "" {
				continue
			}
			if other, dup := macs[i.Mac]; dup {
				errs = append(errs, fmt.Errorf("MAC %s given to both %s and %s", i.Mac, other, a.id))
			}
			macs[i.Mac] = a.id
		}
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------- verification

// hostIfnames are the host-side interfaces the results name (no sandbox).
func hostIfnames(atts []*attachment) []string {
	var out []string
	for _, a := range atts {
		if a.result == nil {
			continue
		}
		for _, i := range a.result.Interfaces {
			if i.Sandbox == "" && i.Name != bridgeName {
				out = append(out, i.Name)
			}
		}
	}
	return out
}

func verifyCommon(atts []*attachment) []error {
	var errs []error
	for _, a := range atts {
		if err := onlyLoopback(a.path); err != nil {
			errs = append(errs, err)
		}
	}
	for _, h := range hostIfnames(atts) {
		if _, err := netlink.LinkByName(h); err == nil {
			errs = append(errs, fmt.Errorf("host interface %s still exists", h))
		}
	}
	return errs
}

type ovsRow struct {
	Name string
	IDs  map[string]string
}

// ovsRows lists name and external_ids of every row of an OVS table.
func (b *bench) ovsRows(ctx context.Context, table string) ([]ovsRow, error) {
	out, err := b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10",
		"--format=json", "--columns=name,external_ids", "list", table)
	if err != nil {
		return nil, fmt.Errorf("ovs-vsctl list %s: %v: %s", table, err, out)
	}
	var doc struct {
		Data [][]json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		return nil, fmt.Errorf("ovs-vsctl list %s: %w", table, err)
	}
	var rows []ovsRow
	for _, d := range doc.Data {
		if len(d) != 2 {
			continue
		}
		r := ovsRow{IDs: map[string]string{}}
		_ = json.Unmarshal(d[0], &r.Name)
		var m []json.RawMessage // ["map", [[k, v], ...]]
		if json.Unmarshal(d[1], &m) == nil && len(m) == 2 {
			var kvs [][]string
			if json.Unmarshal(m[1], &kvs) == nil {
				for _, kv := range kvs {
					if len(kv) == 2 {
						r.IDs[kv[0]] = kv[1]
					}
				}
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

func (b *bench) ovsLeftovers(ctx context.Context, match func(ovsRow) bool) ([]string, error) {
	var left []string
	for _, t := range []string{"Port", "Interface"} {
		rows, err := b.ovsRows(ctx, t)
		if err != nil {
			return nil, err
		}
		for _, r := range rows {
			if match(r) {
				left = append(left, t+" "+r.Name)
			}
		}
	}
	return left, nil
}

// qnOwned: an OVS Port quantumnetd created for one of this run's containers
// (its Interface goes with it).
func (b *bench) qnOwned(r ovsRow) bool {
	return strings.HasPrefix(r.IDs["quantumnet:container-id"], fmt.Sprintf("qnbench-%d-", b.pid))
}

func (b *bench) verifyQN(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	out, err := b.qnetctl(ctx, "-o", "json", "port", "list", "--network", b.network)
	if err != nil {
		errs = append(errs, fmt.Errorf("qnetctl port list: %v: %s", err, out))
	} else {
		var ports []map[string]any
		if err := json.Unmarshal([]byte(out), &ports); err != nil {
			errs = append(errs, fmt.Errorf("qnetctl port list: %w", err))
		} else if len(ports) > 0 {
			errs = append(errs, fmt.Errorf("%d logical port(s) left on network %s (first: %v)", len(ports), b.network, ports[0]["name"]))
		}
	}
	if left, err := b.ovsLeftovers(ctx, b.qnOwned); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("OVS rows left: %v", left))
	}
	return errors.Join(errs...)
}

func (b *bench) verifyBridge(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	if br, err := netlink.LinkByName(bridgeName); err == nil {
		links, err := netlink.LinkList()
		if err != nil {
			errs = append(errs, err)
		}
		for _, l := range links {
			if l.Attrs().MasterIndex == br.Attrs().Index {
				errs = append(errs, fmt.Errorf("%s still has port %s", bridgeName, l.Attrs().Name))
			}
		}
	}
	entries, _ := os.ReadDir(filepath.Join(b.hostLocalDir, "qnbench-br"))
	for _, e := range entries {
		if net.ParseIP(e.Name()) != nil {
			errs = append(errs, fmt.Errorf("host-local still holds %s", e.Name()))
		}
	}
	return errors.Join(errs...)
}

func (b *bench) verifyShell(ctx context.Context, atts []*attachment) error {
	errs := verifyCommon(atts)
	out, err := b.cmd(ctx, 20*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "lsp-list", b.shellSwitch)
	if err != nil {
		errs = append(errs, fmt.Errorf("ovn-nbctl lsp-list: %v: %s", err, out))
	} else if s := strings.TrimSpace(out); s != "" {
		errs = append(errs, fmt.Errorf("logical ports left on %s: %d", b.shellSwitch, len(strings.Split(s, "\n"))))
	}
	if left, err := b.ovsLeftovers(ctx, func(r ovsRow) bool { return r.IDs["qnbench-owner"] == b.shellOwner }); err != nil {
		errs = append(errs, err)
	} else if len(left) > 0 {
		errs = append(errs, fmt.Errorf("OVS rows left: %v", left))
	}
	return errors.Join(errs...)
}

// ---------------------------------------------------------------- cleanup

func (b *bench) cleanup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var errs []error
	note := func(err error) {
		if err != nil {
			logf("cleanup: %v", err)
			errs = append(errs, err)
		}
	}

	// 1. DEL what is still attached (failed or interrupted phases).
	for _, c := range b.contenders {
		c.mu.Lock()
		var atts []*attachment
		for _, a := range c.live {
			atts = append(atts, a)
		}
		c.mu.Unlock()
		if len(atts) == 0 {
			continue
		}
		logf("cleanup: DEL of %d %s attachment(s)", len(atts), c.name)
		for _, err := range forEach(ctx, len(atts), 8, func(i int) error { return b.delWith(ctx, b.cniDetached, c, atts[i]) }) {
			note(err)
		}
	}

	// 2. Namespaces (their veths go with them).
	b.nsMu.Lock()
	var names []string
	for n := range b.namespaces {
		names = append(names, n)
	}
	b.nsMu.Unlock()
	if len(names) > 0 {
		logf("cleanup: deleting %d namespace(s)", len(names))
		note(b.deleteNamespaces(ctx, names))
	}

	// 3. The quantumnet network, through the daemon; if ports are left
	// (a DEL failed), remove them directly so nothing stays behind.
	if b.network != "" {
		if out, err := b.qnetctl(ctx, "network", "delete", b.network); err != nil {
			note(fmt.Errorf("qnetctl network delete %s: %v: %s", b.network, err, strings.TrimSpace(out)))
			b.forceRemoveQN(ctx)
		} else {
			b.network = ""
		}
	}

	// 4. The daemon.
	if b.daemon != nil && b.daemon.Process != nil {
		select {
		case <-b.daemonDone:
			note(fmt.Errorf("quantumnetd had exited by itself (%v)", b.daemon.ProcessState))
		default:
			_ = b.daemon.Process.Signal(syscall.SIGTERM)
			select {
			case <-b.daemonDone:
			case <-time.After(10 * time.Second):
				note(errors.New("quantumnetd did not stop on SIGTERM within 10s: killed"))
				_ = b.daemon.Process.Kill()
				<-b.daemonDone
			}
		}
	}

	// 5. Shell baseline: its switch (with any port left) and OVS ports.
	if b.shellSwitch != "" {
		if left, err := b.ovsLeftovers(ctx, func(r ovsRow) bool { return r.IDs["qnbench-owner"] == b.shellOwner }); err == nil {
			for _, l := range left {
				if name, ok := strings.CutPrefix(l, "Port "); ok {
					_, err := b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10", "--if-exists", "del-port", "br-int", name)
					note(err)
				}
			}
		}
		out, err := b.cmd(ctx, 20*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "--if-exists", "ls-del", b.shellSwitch)
		if err != nil {
			note(fmt.Errorf("ovn-nbctl ls-del %s: %v: %s", b.shellSwitch, err, out))
		}
	}

	// 6. The bridge of the reference plugin (only ever created by this run:
	// setup refuses to start when it exists).
	if l, err := netlink.LinkByName(bridgeName); err == nil && b.bridgeOurs {
		if err := netlink.LinkDel(l); err != nil {
			note(fmt.Errorf("deleting %s: %w", bridgeName, err))
		}
	}

	// 7. The sandbox, if this run started it.
	if b.sandboxStarted {
		logf("cleanup: scripts/sandbox.sh down (this run started the sandbox)")
		if out, err := b.cmd(ctx, 90*time.Second, filepath.Join(b.repo, "scripts", "sandbox.sh"), "down"); err != nil {
			note(fmt.Errorf("scripts/sandbox.sh down: %v\n%s", err, out))
		}
	}

	// 8. Temp dir.
	if b.stderrLog != nil {
		b.stderrLog.Close()
	}
	if b.tmp != "" {
		if *flagKeep || len(errs) > 0 {
			logf("temp dir kept: %s", b.tmp)
		} else {
			note(os.RemoveAll(b.tmp))
		}
	}
	return errors.Join(errs...)
}

// forceRemoveQN removes this run's quantumnet leftovers behind the daemon's
// back (only after a DEL or the network delete failed).
func (b *bench) forceRemoveQN(ctx context.Context) {
	logf("cleanup: removing quantumnet leftovers directly (ovs-vsctl, ovn-nbctl)")
	if left, err := b.ovsLeftovers(ctx, b.qnOwned); err == nil {
		for _, l := range left {
			if name, ok := strings.CutPrefix(l, "Port "); ok {
				_, _ = b.cmd(ctx, 20*time.Second, "ovs-vsctl", "--db="+b.env["QN_OVS_REMOTE"], "--timeout=10", "--if-exists", "del-port", "br-int", name)
				if l, err := netlink.LinkByName(name); err == nil {
					_ = netlink.LinkDel(l)
				}
			}
		}
	}
	out, err := b.cmd(ctx, 20*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "--if-exists", "ls-del", "qn-"+b.network)
	if err != nil {
		logf("cleanup: ovn-nbctl ls-del qn-%s: %v: %s", b.network, err, out)
	}
}

// ---------------------------------------------------------------- daemon facts

// readStatus reads the kB values of /proc/PID/status.
func readStatus(pid int) (map[string]int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m := map[string]int64{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		k, v, ok := strings.Cut(s.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 2 && f[1] == "kB" {
			if n, err := strconv.ParseInt(f[0], 10, 64); err == nil {
				m[k] = n
			}
		}
	}
	return m, s.Err()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// scanDaemonLog reports the daemon's warnings and errors.
func (b *bench) scanDaemonLog() {
	data, err := os.ReadFile(b.daemonLog)
	if err != nil {
		return
	}
	var bad []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
			bad = append(bad, l)
		}
	}
	if len(bad) > 0 {
		b.problem("quantumnetd logged %d warning/error line(s); first: %s", len(bad), bad[0])
	}
}

func (b *bench) dumpLogs() {
	for _, f := range []string{b.daemonLog, filepath.Join(b.tmp, "plugin-stderr.log")} {
		if f == "" {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		fmt.Fprintf(os.Stderr, "--- last lines of %s ---\n%s\n---\n", f, strings.Join(lines[max(0, len(lines)-30):], "\n"))
	}
}

// ---------------------------------------------------------------- report

type target struct {
	Mode   string `json:"mode"`
	Target string `json:"target"`
	Met    *bool  `json:"met"` // nil: not measured
	Detail string `json:"detail"`
}

type report struct {
	Time          string         `json:"time"`
	DaemonVersion string         `json:"daemon_version"`
	N             int            `json:"n"`
	Parallel      int            `json:"parallel"`
	Warmup        int            `json:"warmup"`
	CPUs          int            `json:"cpus"`
	LoadStart     string         `json:"loadavg_start"`
	LoadEnd       string         `json:"loadavg_end"`
	Results       []*phaseResult `json:"results"`
	Ratios        []ratio        `json:"ratios"`
	Daemon        struct {
		PID          int   `json:"pid"`
		VmRSSStartKB int64 `json:"vmrss_start_kb"`
		VmRSSKB      int64 `json:"vmrss_kb"`
		VmHWMKB      int64 `json:"vmhwm_kb"`
	} `json:"quantumnetd"`
	Targets  []target `json:"targets"`
	Problems []string `json:"problems,omitempty"`
}

type ratio struct {
	Contender string  `json:"contender"`
	Mode      string  `json:"mode"`
	P50       float64 `json:"p50_over_quantumnet_p50"`
	P99       float64 `json:"p99_over_quantumnet_p99"`
	Mean      float64 `json:"mean_over_quantumnet_mean"`
	Rate      float64 `json:"adds_per_sec_over_quantumnet"`
}

func (b *bench) report(results []*phaseResult) *report {
	rep := &report{Time: time.Now().UTC().Format(time.RFC3339), DaemonVersion: b.daemonVersion, N: *flagN,
		Parallel: *flagParallel, Warmup: *flagWarmup, CPUs: runtime.NumCPU(), LoadStart: b.loadStart, LoadEnd: loadavg(),
		Results: results, Problems: b.problems}
	rep.Daemon.PID = b.daemon.Process.Pid
	rep.Daemon.VmRSSStartKB, rep.Daemon.VmRSSKB, rep.Daemon.VmHWMKB = b.rssStart, b.rssEnd, b.hwmEnd

	get := func(c, mode string) *phaseResult {
		for _, r := range results {
			if r.Contender == c && r.Mode == mode && r.Error == "" {
				return r
			}
		}
		return nil
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Printf("\nCNI ADD latency through libcni (AddNetworkList, real plugin binaries), cniVersion %s\n", cniVersion)
	fmt.Printf("n=%d per mode, parallel mode %d at a time, %d untimed warm-up ADD+DEL per contender; each ADD into a fresh netns\n",
		*flagN, *flagParallel, *flagWarmup)
	fmt.Printf("(netns creation and DEL not timed); %d CPUs, load average %s at start, %s at end; %s\n\n",
		rep.CPUs, rep.LoadStart, rep.LoadEnd, b.daemonVersion)
	fmt.Fprintln(w, "contender\tmode\tp50\tp99\tmax\tmean\tADDs/s\tp50/qn p50\tp99/qn p99\tmean/qn mean\tADDs/s vs qn\t")
	for _, r := range results {
		if r.Error != "" {
			fmt.Fprintf(w, "%s\t%s\tFAILED: %s\t\t\t\t\t\t\t\t\t\n", r.Contender, r.Mode, firstLine(r.Error))
			continue
		}
		qn := get(cQN, r.Mode)
		rs := []string{"-", "-", "-", "-"}
		if qn != nil && r.Contender != cQN {
			rt := ratio{Contender: r.Contender, Mode: r.Mode, P50: r.P50ms / qn.P50ms, P99: r.P99ms / qn.P99ms,
				Mean: r.MeanMs / qn.MeanMs, Rate: r.AddsPerSec / qn.AddsPerSec}
			rep.Ratios = append(rep.Ratios, rt)
			rs = []string{fmt.Sprintf("%.2fx", rt.P50), fmt.Sprintf("%.2fx", rt.P99), fmt.Sprintf("%.2fx", rt.Mean), fmt.Sprintf("%.2fx", rt.Rate)}
		}
		fmt.Fprintf(w, "%s\t%s\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f ms\t%.1f\t%s\t%s\t%s\t%s\t\n", r.Contender, r.Mode,
			r.P50ms, r.P99ms, r.MaxMs, r.MeanMs, r.AddsPerSec, rs[0], rs[1], rs[2], rs[3])
	}
	w.Flush()
	fmt.Println("(ratios: contender / quantumnet in the same mode; > 1 means quantumnet is faster, except ADDs/s where > 1 means the contender is faster)")

	fmt.Printf("\nquantumnetd (pid %d) memory after the runs: VmRSS %s, VmHWM %s (VmRSS %s when ready, before the first ADD)\n",
		rep.Daemon.PID, kb(b.rssEnd), kb(b.hwmEnd), kb(b.rssStart))

	fmt.Println("\nTargets (quantumnet p50 <= bridge+host-local p50; quantumnet p50 <= 0.5 x shell baseline p50):")
	for _, par := range []int{1, *flagParallel} {
		mode := modeName(par)
		qn, br, sh := get(cQN, mode), get(cBridge, mode), get(cShell, mode)
		rep.Targets = append(rep.Targets, mkTarget(mode, "quantumnet p50 <= bridge+host-local p50", qn, br, 1))
		rep.Targets = append(rep.Targets, mkTarget(mode, "quantumnet p50 <= 0.5 x shell p50", qn, sh, 0.5))
	}
	for _, t := range rep.Targets {
		state := "not measured"
		if t.Met != nil {
			state = "NOT MET"
			if *t.Met {
				state = "MET"
			}
		}
		fmt.Printf("  %-12s %-42s %-8s %s\n", t.Mode, t.Target, state, t.Detail)
	}
	if len(b.problems) > 0 {
		fmt.Println("\nNotes:")
		for _, p := range b.problems {
			fmt.Println("  - " + p)
		}
	}
	fmt.Println()
	return rep
}

func mkTarget(mode, name string, qn, other *phaseResult, factor float64) target {
	t := target{Mode: mode, Target: name}
	if qn == nil || other == nil {
		return t
	}
	met := qn.P50ms <= factor*other.P50ms
	t.Met = &met
	limit := fmt.Sprintf("%.1f ms", other.P50ms)
	if factor != 1 {
		limit = fmt.Sprintf("%.1f x %.1f ms = %.1f ms", factor, other.P50ms, factor*other.P50ms)
	}
	t.Detail = fmt.Sprintf("(%.1f ms vs %s)", qn.P50ms, limit)
	return t
}

func kb(v int64) string {
	if v == 0 {
		return "?"
	}
	return fmt.Sprintf("%.1f MiB", float64(v)/1024)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 160 {
		s = s[:160] + "..."
	}
	return s
}

func writeJSON(path string, rep *report) error {
	data, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}
