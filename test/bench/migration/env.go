package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// The environment: the binaries, the test guest, scripts/twohost.sh (with
// its own run dir and namespace names, so it never meets another user's
// two-host setup), one quantumnetd per host, a network and a container on
// host B attached through the CNI plugin.

const (
	network   = "migbench"
	subnet4   = "10.213.0.0/24"
	gateway4  = "10.213.0.1"
	naiveIP   = "10.213.0.200" // outside the daemon's range (--exclude below)
	excludeIP = "10.213.0.200-10.213.0.254"
	mtu       = 1400
	vmPrefix  = "qn-test-migbench-"
)

// findRepo returns the module root: from this file's path when it is
// available (go run keeps it), else the first parent of the working
// directory with QuantumNet's go.mod.
func findRepo() (string, error) {
	var cands []string
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		cands = append(cands, filepath.Join(filepath.Dir(file), "..", "..", ".."))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			cands = append(cands, d)
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	for _, d := range cands {
		b, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.Contains(b, []byte("module github.com/quantumnet/quantumnet\n")) {
			return filepath.Clean(d), nil
		}
	}
	return "", errors.New("cannot find the QuantumNet repository (run from inside it)")
}

// command runs name with args, output combined, within timeout.
func command(ctx context.Context, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	if env != nil {
		cmd.Env = env
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // Ctrl-C reaches us, not it
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	if err != nil && cctx.Err() == context.DeadlineExceeded {
		err = fmt.Errorf("%s: timed out after %v", name, timeout)
	}
	return string(out), err
}

func (b *bench) build(ctx context.Context) error {
	b.bin = filepath.Join(b.tmp, "bin")
	goBin := "go"
	if _, err := exec.LookPath("go"); err != nil {
		goBin = "/usr/local/go/bin/go"
	}
	for _, p := range [][2]string{{"./daemon", "quantumnetd"}, {"./plugins/cni", "quantumnet"}, {"./daemon/qnetctl", "qnetctl"}, {"./hooks/qemu", "quantumnet-qemu-hook"}} {
		cmd := exec.CommandContext(ctx, goBin, "build", "-o", filepath.Join(b.bin, p[1]), p[0])
		cmd.Dir = b.repo
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", p[0], err, out)
		}
	}
	return nil
}

// scriptEnv is the environment of scripts/twohost.sh: our run dir and
// namespace names; the hook only when hook is set.
func (b *bench) scriptEnv(hook bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QN_TWOHOST_") {
			env = append(env, kv)
		}
	}
	env = append(env, "QN_TWOHOST_DIR="+b.thDir, "QN_TWOHOST_NETNS_A="+b.nsA, "QN_TWOHOST_NETNS_B="+b.nsB)
	if hook {
		env = append(env, "QN_TWOHOST_HOOK="+filepath.Join(b.bin, "quantumnet-qemu-hook"))
	}
	return env
}

func (b *bench) script(ctx context.Context, timeout time.Duration, hook bool, name string, args ...string) (string, error) {
	return command(ctx, timeout, b.scriptEnv(hook), filepath.Join(b.repo, "scripts", name), args...)
}

func parseEnv(out string, into map[string]string) {
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		if ok {
			into[k] = strings.ReplaceAll(strings.Trim(v, `'"`), `\`, "")
		}
	}
}

func (b *bench) guest(ctx context.Context) error {
	if out, err := b.script(ctx, 10*time.Minute, false, "test-guest.sh", "build"); err != nil {
		return fmt.Errorf("scripts/test-guest.sh build: %v\n%s", err, tail(out, 20))
	}
	out, err := b.script(ctx, time.Minute, false, "test-guest.sh", "env")
	if err != nil {
		return fmt.Errorf("scripts/test-guest.sh env: %v\n%s", err, out)
	}
	parseEnv(out, b.env)
	if b.env["QN_GUEST_KERNEL"] == "" || b.env["QN_GUEST_INITRD"] == "" {
		return fmt.Errorf("scripts/test-guest.sh env printed no kernel/initrd:\n%s", out)
	}
	return nil
}

// hookLink is the hook's symlink in host h's private /etc/libvirt.
func (b *bench) hookLink(h string) string {
	return filepath.Join(b.thDir, h, "libvirt", "etc", "hooks", "qemu.d", "quantumnet")
}

// twohostUp brings the two hosts up, or re-links the hook (twohost.sh up
// is idempotent: with QN_TWOHOST_HOOK unset it removes the hook and
// reloads the libvirtds).
func (b *bench) twohostUp(ctx context.Context, hook bool) error {
	b.thStarted = true
	out, err := b.script(ctx, 3*time.Minute, hook, "twohost.sh", "up")
	if err != nil {
		return fmt.Errorf("scripts/twohost.sh up: %v\n%s", err, tail(out, 30))
	}
	out, err = b.script(ctx, time.Minute, hook, "twohost.sh", "env")
	if err != nil {
		return fmt.Errorf("scripts/twohost.sh env: %v\n%s", err, out)
	}
	parseEnv(out, b.env)
	for _, h := range []string{"a", "b"} {
		_, err := os.Lstat(b.hookLink(h))
		if hook != (err == nil) {
			return fmt.Errorf("host %s: hook installed=%v, wanted %v", h, err == nil, hook)
		}
	}
	b.hookOn = hook
	return nil
}

func (b *bench) twohostDown() error {
	if !b.thStarted {
		return nil
	}
	out, err := b.script(context.Background(), 3*time.Minute, false, "twohost.sh", "down")
	if err != nil {
		return fmt.Errorf("scripts/twohost.sh down: %v\n%s", err, tail(out, 20))
	}
	return nil
}

// ---------------------------------------------------------------- daemons

type daemon struct {
	host string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

// startDaemons starts quantumnetd on both hosts. manage is
// chassis.manage; see the note in main.go about what it also switches.
func (b *bench) startDaemons(ctx context.Context, manage bool) error {
	for _, h := range []string{"a", "b"} {
		H := strings.ToUpper(h)
		cfg := fmt.Sprintf(`[ovn]
nb_remotes = [%q]
sb_remotes = [%q]
[chassis]
name = %q
encap_ip = %q
ovs_remote = %q
datapath_type = "netdev"
manage = %v
[daemon]
log_level = "debug"
ready_timeout = "5s"
[libvirt]
uri = "qemu:///system"
`, b.env["QN_NB_REMOTE"], b.env["QN_SB_REMOTE"], b.env["QN_CHASSIS_"+H], b.env["QN_ENCAP_IP_"+H], b.env["QN_OVS_REMOTE_"+H], manage)
		path := filepath.Join(b.tmp, "quantumnetd-"+h+".toml")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			return err
		}
		d := &daemon{host: h, log: filepath.Join(b.tmp, "quantumnetd-"+h+".log"), done: make(chan struct{})}
		logf, err := os.OpenFile(d.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		fmt.Fprintf(logf, "==== quantumnetd started by the benchmark, chassis.manage=%v ====\n", manage)
		// twohost.sh exec ends in `exec nsenter ... -- quantumnetd`: the
		// process we start is the daemon itself.
		d.cmd = exec.Command(filepath.Join(b.repo, "scripts", "twohost.sh"), "exec", h, filepath.Join(b.bin, "quantumnetd"), "-config", path)
		d.cmd.Env = b.scriptEnv(false)
		d.cmd.Stdout, d.cmd.Stderr = logf, logf
		d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := d.cmd.Start(); err != nil {
			logf.Close()
			return err
		}
		go func() { d.cmd.Wait(); logf.Close(); close(d.done) }()
		b.daemons[h] = d
	}
	for _, h := range []string{"a", "b"} {
		d := b.daemons[h]
		deadline := time.Now().Add(30 * time.Second)
		for {
			if _, err := b.qnetctl(ctx, h, "status"); err == nil {
				break
			}
			select {
			case <-d.done:
				return fmt.Errorf("quantumnetd on host %s exited:\n%s", h, tailFile(d.log, 20))
			default:
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("quantumnetd on host %s never became ready:\n%s", h, tailFile(d.log, 20))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	b.daemonManage = manage
	return nil
}

func (b *bench) stopDaemons() {
	for h, d := range b.daemons {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
		}
		delete(b.daemons, h)
	}
}

func (b *bench) qnetctl(ctx context.Context, h string, args ...string) (string, error) {
	return command(ctx, 30*time.Second, nil, filepath.Join(b.bin, "qnetctl"), append([]string{"--socket", b.env["QN_QUANTUMNETD_SOCKET_"+strings.ToUpper(h)]}, args...)...)
}

// ---------------------------------------------------------------- container

// container makes a network namespace on host B's side of the story: its
// eth0 is attached by host B's daemon through the CNI plugin binary.
func (b *bench) container(ctx context.Context) error {
	if out, err := command(ctx, 10*time.Second, nil, "ip", "netns", "add", b.ctrNS); err != nil {
		return fmt.Errorf("ip netns add %s: %v %s", b.ctrNS, err, out)
	}
	b.ctrCreated = true
	b.holder = exec.Command("ip", "netns", "exec", b.ctrNS, "sleep", "infinity")
	b.holder.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := b.holder.Start(); err != nil {
		return err
	}
	// The daemon runs in host B's mount namespace: /proc/PID/ns/net is
	// visible there, /run/netns/NAME is not.
	netnsPath := fmt.Sprintf("/proc/%d/ns/net", b.holder.Process.Pid)
	for i := 0; i < 50; i++ { // ip netns exec has switched namespaces once sleep runs
		if l, err := os.Readlink(netnsPath); err == nil {
			if own, _ := os.Readlink("/proc/self/ns/net"); l != own {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	list, err := libcni.ConfListFromBytes([]byte(`{"cniVersion":"1.1.0","name":"` + network + `","plugins":[{"type":"quantumnet","network":"` + network + `","socket":"` + b.env["QN_QUANTUMNETD_SOCKET_B"] + `"}]}`))
	if err != nil {
		return err
	}
	b.cniList = list
	b.cni = libcni.NewCNIConfigWithCacheDir([]string{b.bin}, filepath.Join(b.tmp, "cni-cache"), nil)
	b.cniRT = &libcni.RuntimeConf{ContainerID: fmt.Sprintf("migbench-%d", b.pid), NetNS: netnsPath, IfName: "eth0"}
	cctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	r, err := b.cni.AddNetworkList(cctx, list, b.cniRT)
	if err != nil {
		return fmt.Errorf("CNI ADD (container on host B): %v", err)
	}
	b.cniAdded = true
	res, err := current.NewResultFromResult(r)
	if err != nil || len(res.IPs) == 0 {
		return fmt.Errorf("CNI ADD result without an address: %v", err)
	}
	b.ctrIP = res.IPs[0].Address.IP.String()
	return nil
}

func (b *bench) containerDown() {
	if b.cniAdded && len(b.daemons) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := b.cni.DelNetworkList(ctx, b.cniList, b.cniRT); err != nil {
			logf("cleanup: CNI DEL: %v (the namespaces go anyway)", err)
		}
		cancel()
		b.cniAdded = false
	}
	if b.holder != nil && b.holder.Process != nil {
		b.holder.Process.Kill()
		b.holder.Wait()
		b.holder = nil
	}
	if b.ctrCreated {
		if out, err := command(context.Background(), 10*time.Second, nil, "ip", "netns", "del", b.ctrNS); err != nil {
			logf("cleanup: ip netns del %s: %v %s", b.ctrNS, err, out)
		}
		b.ctrCreated = false
	}
}

// ---------------------------------------------------------------- helpers

func (b *bench) virsh(ctx context.Context, h string, timeout time.Duration, args ...string) (string, error) {
	return command(ctx, timeout, nil, "virsh", append([]string{"-c", b.env["QN_LIBVIRT_URI_"+strings.ToUpper(h)]}, args...)...)
}

func (b *bench) nbctl(ctx context.Context, args ...string) (string, error) {
	out, err := command(ctx, 30*time.Second, nil, "ovn-nbctl", append([]string{"--db=" + b.env["QN_NB_REMOTE"]}, args...)...)
	return strings.TrimSpace(out), err
}

// pingOnce: one ping from the container.
func (b *bench) pingOnce(ctx context.Context, ip string) bool {
	_, err := command(ctx, 5*time.Second, nil, "ip", "netns", "exec", b.ctrNS, "ping", "-c", "1", "-W", "1", ip)
	return err == nil
}

func waitFor(ctx context.Context, d time.Duration, every time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(every)
	}
}

func tail(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

func tailFile(path string, n int) string {
	b, _ := os.ReadFile(path)
	return tail(string(b), n)
}
