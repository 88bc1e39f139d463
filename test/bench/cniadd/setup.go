package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/version"
	"github.com/vishvananda/netlink"

	"github.com/quantumnet/quantumnet/test/harness"
)

// ---------------------------------------------------------------- setup

func (b *bench) setup(ctx context.Context) error {
	// The harness checks root and the programs, and builds the binaries
	// (or takes -bin's); its temp dir is this run's, removed by cleanup.
	b.h = harness.New(harness.Setup{Name: "bench", Root: true, Prebuilt: *flagBin,
		Programs: []string{"ip", "ovn-nbctl", "ovs-vsctl", "jq", "flock", "ethtool", "nsenter", "sha256sum"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl"}})
	b.h.Keep = true
	logf("building the binaries (-bin: prebuilt ones)")
	err := b.h.Start()
	b.repo, b.tmp, b.bin = b.h.Repo, b.h.Tmp, b.h.Bin
	if err != nil {
		return err // jq, flock, sha256sum: the shell baseline's
	}
	if _, err := netlink.LinkByName(bridgeName); err == nil {
		return fmt.Errorf("a link %s already exists (left by an earlier run killed with SIGKILL?); remove it with: ip link del %s", bridgeName, bridgeName)
	}
	b.bridgeOurs = true
	b.pluginDir = filepath.Join(b.tmp, "plugins")
	if err := os.MkdirAll(b.pluginDir, 0o755); err != nil {
		return err
	}
	if b.stderrLog, err = os.Create(filepath.Join(b.tmp, "plugin-stderr.log")); err != nil {
		return err
	}
	b.loadStart = loadavg()
	for _, step := range []func(context.Context) error{b.sandbox, b.plugins, b.quantumnet, b.floorSetup, b.shellBaseline} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return b.configure()
}

// sandbox brings the OVN sandbox up unless it is, and reads its env.
func (b *bench) sandbox(ctx context.Context) error {
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
	return nil
}

// plugins builds the reference plugins and links the shell baseline.
func (b *bench) plugins(ctx context.Context) error {
	if err := b.buildReferencePlugins(ctx); err != nil {
		return err
	}
	shell := filepath.Join(b.repo, "test", "bench", "cniadd", "shell-cni.sh")
	if err := os.Symlink(shell, filepath.Join(b.pluginDir, "qnbench-shell")); err != nil {
		return err
	}
	return nil
}

// quantumnet starts quantumnetd and creates its network.
func (b *bench) quantumnet(ctx context.Context) error {
	if err := b.startDaemon(ctx); err != nil {
		return err
	}
	name := fmt.Sprintf("qnbench-%d", b.pid)
	if out, err := b.qnetctl(ctx, "network", "create", name, "--subnet4", qnSubnet); err != nil {
		return fmt.Errorf("qnetctl network create %s: %v\n%s", name, err, out)
	}
	b.network = name
	return nil
}

// shellBaseline creates the shell baseline's logical switch and state dir.
func (b *bench) shellBaseline(ctx context.Context) error {
	sw := fmt.Sprintf("qnbench-sh-%d", b.pid)
	if out, err := b.cmd(ctx, 15*time.Second, "ovn-nbctl", "--db="+b.env["QN_NB_REMOTE"], "--timeout=10", "ls-add", sw); err != nil {
		return fmt.Errorf("ovn-nbctl ls-add %s: %v\n%s", sw, err, out)
	}
	b.shellSwitch = sw
	b.shellOwner = fmt.Sprintf("qnbench-%d", b.pid)
	if err := os.MkdirAll(b.shellState(), 0o755); err != nil {
		return err
	}
	b.hostLocalDir = filepath.Join(b.tmp, "host-local")
	return nil
}

func (b *bench) shellState() string { return filepath.Join(b.tmp, "shell-state") }

// configure is libcni and each contender's network configuration.
func (b *bench) configure() error {
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
		{cQN, "qn", map[string]any{"type": "quantumnet", "network": b.network, "socket": b.daemon.ClientSocket}, b.verifyQN},
		{cBridge, "br", map[string]any{
			"type": "bridge", "bridge": bridgeName, "isGateway": false, "ipMasq": false, "mtu": 1400,
			"ipam": map[string]any{"type": "host-local", "dataDir": b.hostLocalDir,
				"ranges": [][]map[string]string{{{"subnet": bridgeSubnet}}}},
		}, b.verifyBridge},
		{cShell, "sh", map[string]any{
			"type": "qnbench-shell", "nbDB": b.env["QN_NB_REMOTE"], "ovsDB": b.env["QN_OVS_REMOTE"],
			"logicalSwitch": b.shellSwitch, "stateDir": b.shellState(), "subnet16": shellNet16, "readyTimeout": 15, "owner": b.shellOwner,
		}, b.verifyShell},
	}
	for i, cf := range confs {
		if i == 1 { // the floor, right after quantumnet
			f := b.floor
			b.contenders = append(b.contenders, &contender{name: cFloor, short: "fl", verify: b.verifyFloor,
				prepare: f.prepare, addFn: f.add, delFn: f.del, live: map[string]*attachment{}})
		}
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

// buildReferencePlugins builds bridge and host-local at the version of
// containernetworking/plugins in go.mod: in the main module if it has every
// go.sum entry they need, else in the plugins module itself (its own go.mod
// and go.sum, same version), which changes nothing in this repository.
func (b *bench) buildReferencePlugins(ctx context.Context) error {
	pkgs := map[string]string{"bridge": "plugins/main/bridge", "host-local": "plugins/ipam/host-local"}
	ver, err := b.cmdIn(ctx, b.repo, 60*time.Second, nil, harness.GoTool(), "list", "-m", "-f", "{{.Version}} {{.Dir}}", refPlugins)
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
		o1, err := b.cmdIn(ctx, b.repo, 5*time.Minute, nil, harness.GoTool(), "build", "-o", out, refPlugins+"/"+pkg)
		if err == nil {
			continue
		}
		if modDir == "" {
			// go list -m printed no Dir: the module is not downloaded yet.
			if o, err := b.cmdIn(ctx, b.repo, 5*time.Minute, nil, harness.GoTool(), "mod", "download", refPlugins); err != nil {
				return fmt.Errorf("go mod download %s: %v\n%s", refPlugins, err, o)
			}
			o, err := b.cmdIn(ctx, b.repo, time.Minute, nil, harness.GoTool(), "list", "-m", "-f", "{{.Dir}}", refPlugins)
			if err != nil {
				return fmt.Errorf("go list -m %s: %v\n%s", refPlugins, err, o)
			}
			modDir = strings.TrimSpace(o)
		}
		env := []string{"GOWORK=off", "GOFLAGS=-mod=readonly -buildvcs=false"}
		o2, err := b.cmdIn(ctx, modDir, 5*time.Minute, env, harness.GoTool(), "build", "-o", out, "./"+pkg)
		if err != nil {
			return fmt.Errorf("building %s failed in this module:\n%s\nand in %s:\n%s", name, o1, modDir, o2)
		}
		logf("  %s: built in %s (this module's go.sum lacks entries the plugin needs)", name, modDir)
	}
	return nil
}

func (b *bench) startDaemon(ctx context.Context) error {
	if out, err := b.cmd(ctx, 10*time.Second, filepath.Join(b.bin, "quantumnetd"), "-version"); err == nil {
		b.daemonVersion = strings.TrimSpace(out)
	}
	// Unmanaged: the sandbox configures the chassis; this daemon is a
	// guest on it and leaves Open_vSwitch external_ids alone.
	d, err := harness.StartDaemon(harness.DaemonConfig{Bin: b.bin, Dir: b.tmp,
		NB: b.env["QN_NB_REMOTE"], SB: b.env["QN_SB_REMOTE"], OVS: b.env["QN_OVS_REMOTE"], Chassis: b.env["QN_CHASSIS"],
		DatapathType: "netdev", Unmanaged: true, LogLevel: "info", ReadyTimeout: "15s"})
	b.daemon = d // stopped by the cleanup, also when it failed to start
	if err != nil {
		return fmt.Errorf("starting quantumnetd: %w", err)
	}
	logf("quantumnetd started (pid %d, log %s)", d.Pid(), d.LogPath)
	if err := d.WaitReady(30 * time.Second); err != nil {
		return err
	}
	return ctx.Err()
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
	return b.cmd(ctx, 30*time.Second, filepath.Join(b.bin, "qnetctl"), append([]string{"--socket", b.daemon.ClientSocket}, args...)...)
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
