package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// The environment: the binaries, the test guest, scripts/nhost.sh (two libvirt hosts and the outside network, with
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

// scriptEnv is the environment of scripts/nhost.sh: our run dir and
// namespace names; the hook only when hook is set.
func (b *bench) scriptEnv(hook bool) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "QN_TWOHOST_") && !strings.HasPrefix(kv, "QN_NHOST_") {
			env = append(env, kv)
		}
	}
	b.th.Hook = ""
	if hook {
		b.th.Hook = filepath.Join(b.bin, "quantumnet-qemu-hook")
	}
	return append(env, b.th.ScriptEnv()...)
}

func (b *bench) script(ctx context.Context, timeout time.Duration, hook bool, name string, args ...string) (string, error) {
	return command(ctx, timeout, b.scriptEnv(hook), filepath.Join(b.repo, "scripts", name), args...)
}

func (b *bench) guest(ctx context.Context) error {
	if out, err := b.script(ctx, 10*time.Minute, false, "test-guest.sh", "build"); err != nil {
		return fmt.Errorf("scripts/test-guest.sh build: %v\n%s", err, harness.Tail(out, 20))
	}
	out, err := b.script(ctx, time.Minute, false, "test-guest.sh", "env")
	if err != nil {
		return fmt.Errorf("scripts/test-guest.sh env: %v\n%s", err, out)
	}
	harness.ParseEnv(out, b.env)
	if b.env["QN_GUEST_KERNEL"] == "" || b.env["QN_GUEST_INITRD"] == "" {
		return fmt.Errorf("scripts/test-guest.sh env printed no kernel/initrd:\n%s", out)
	}
	return nil
}

// hookLink is the hook's symlink in host h's private /etc/libvirt.
func (b *bench) hookLink(h string) string {
	return filepath.Join(b.thDir, h, "libvirt", "etc", "hooks", "qemu.d", "quantumnet")
}

// hostsUp brings the two hosts up, or re-links the hook (nhost.sh up
// is idempotent: with QN_NHOST_HOOK empty it removes the hook and
// reloads the libvirtds).
func (b *bench) hostsUp(ctx context.Context, hook bool) error {
	b.thStarted = true
	out, err := b.script(ctx, 3*time.Minute, hook, "nhost.sh", "up")
	if err != nil {
		return fmt.Errorf("scripts/nhost.sh up: %v\n%s", err, harness.Tail(out, 30))
	}
	out, err = b.script(ctx, time.Minute, hook, "nhost.sh", "env")
	if err != nil {
		return fmt.Errorf("scripts/nhost.sh env: %v\n%s", err, out)
	}
	harness.ParseEnv(out, b.env)
	for _, h := range []string{"a", "b"} {
		_, err := os.Lstat(b.hookLink(h))
		if hook != (err == nil) {
			return fmt.Errorf("host %s: hook installed=%v, wanted %v", h, err == nil, hook)
		}
	}
	b.hookOn = hook
	return nil
}

func (b *bench) hostsDown() error {
	if !b.thStarted {
		return nil
	}
	out, err := b.script(context.Background(), 3*time.Minute, false, "nhost.sh", "down")
	if err != nil {
		return fmt.Errorf("scripts/nhost.sh down: %v\n%s", err, harness.Tail(out, 20))
	}
	return nil
}

// ---------------------------------------------------------------- daemons

// startDaemons starts quantumnetd on both hosts, as test/migration does
// (harness.TwoHost's config). manage is chassis.manage; see the note in
// main.go about what it also switches.
func (b *bench) startDaemons(ctx context.Context, manage bool) error {
	for _, h := range []string{"a", "b"} {
		c := b.th.DaemonConfig(h)
		c.Dir, c.Unmanaged, c.WrapEnv = b.tmp, !manage, b.scriptEnv(false)
		if f, err := os.OpenFile(filepath.Join(c.Dir, c.Name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600); err == nil {
			fmt.Fprintf(f, "==== quantumnetd started by the benchmark, chassis.manage=%v ====\n", manage)
			f.Close()
		}
		d, err := harness.StartDaemon(c)
		if d != nil {
			b.daemons[h] = d
		}
		if err != nil {
			return fmt.Errorf("quantumnetd on host %s: %w", h, err)
		}
	}
	for _, h := range []string{"a", "b"} {
		if err := b.daemons[h].WaitReady(30 * time.Second); err != nil {
			return fmt.Errorf("host %s: %w", h, err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	b.daemonManage = manage
	return nil
}

func (b *bench) stopDaemons() {
	for h, d := range b.daemons {
		d.Stop()
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
	ovsdbtest.Until(ctx, time.Second, func() bool { // ip netns exec has switched namespaces once sleep runs
		l, err := os.Readlink(netnsPath)
		own, _ := os.Readlink("/proc/self/ns/net")
		return err == nil && l != own
	})
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
