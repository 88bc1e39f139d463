package pkg_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

const (
	unitPath = "/usr/lib/systemd/system/quantumnetd.service"
	confPath = "/etc/quantumnet/quantumnetd.toml"
	// hookPath is not installed by this test (dpkg --path-exclude): a
	// libvirtd on this machine, or test/vm's own hook there, must not meet
	// the package's hook. The package's contents are checked instead.
	hookPath = "/etc/libvirt/hooks/qemu.d/quantumnet"
)

// purgedPaths are what purge must remove besides the package's files: the
// config directory, the daemon's and the plugin's state, the unit's
// enablement and mask.
var purgedPaths = []string{
	"/etc/quantumnet", "/var/lib/cni/quantumnet", "/run/quantumnet",
	"/etc/systemd/system/multi-user.target.wants/quantumnetd.service",
	"/etc/systemd/system/quantumnetd.service",
	"/var/lib/systemd/deb-systemd-helper-enabled/quantumnetd.service.dsh-also",
	"/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/quantumnetd.service",
	"/var/lib/systemd/deb-systemd-helper-masked/quantumnetd.service",
}

// TestPackageInstallRunPurge installs the package with dpkg, runs the
// installed daemon (under the unit's capability bounding set and
// no_new_privs; systemd is not PID 1 here, so not through systemd) with the
// installed config edited to point at the sandbox, creates a network with
// the installed qnetctl, attaches two containers through the installed CNI
// plugin and the example conflist, pings, then purges and finds nothing left.
func TestPackageInstallRunPurge(t *testing.T) {
	env.Require(t)
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "quantumnet").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Fatalf("quantumnet is already installed (%s): not touching it", out)
	}
	contents := debContents(t, deb)
	existedBefore := map[string]bool{}
	for _, e := range contents {
		p := strings.Fields(e)[0]
		if _, err := os.Lstat(strings.TrimSuffix(p, "/")); err == nil {
			existedBefore[p] = true
		}
	}
	for _, p := range purgedPaths[:3] {
		setAside(t, p)
	}
	t.Cleanup(func() { // also after a failure: never leave it installed
		if out, err := exec.Command("dpkg", "--purge", "quantumnet").CombinedOutput(); err != nil {
			t.Errorf("cleanup: dpkg --purge: %v\n%s", err, out)
		}
	})
	dpkg(t, "-i", "--path-exclude="+hookPath, deb)

	checkInstalled(t, contents)
	notify := runInstalled(t)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { return notify.has("STOPPING=1") },
		"no STOPPING=1 at SIGTERM; got %q", notify.all())

	listed := strings.Fields(dpkgOut(t, "-L", "quantumnet"))
	dpkg(t, "--purge", "quantumnet")
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Status}", "quantumnet").Output(); strings.Contains(string(out), "installed") {
		t.Errorf("after purge dpkg says %q", out)
	}
	for _, p := range listed {
		if p == "/." || existedBefore[p] || existedBefore[p+"/"] {
			continue // /usr/bin and the like
		}
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("after purge %s is left", p)
		}
	}
	for _, p := range append([]string{unitPath}, purgedPaths...) {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("after purge %s is left", p)
		}
	}
}

// checkInstalled checks what dpkg -i did: files in place, the conffile,
// the unit verified and enabled, the default config valid.
func checkInstalled(t *testing.T, contents []string) {
	t.Helper()
	for _, e := range contents {
		p := strings.TrimSuffix(strings.Fields(e)[0], "/")
		if p == hookPath {
			continue
		}
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("installed package lacks %s: %v", p, err)
		}
	}
	for _, e := range contents {
		if strings.HasPrefix(e, hookPath+" -> ") {
			if target := strings.TrimPrefix(e, hookPath+" -> "); !isExecutable(target) {
				t.Errorf("the package's hook links to %s, which is not an installed executable", target)
			}
		}
	}
	if got := dpkgQuery(t, "${Conffiles}"); !strings.Contains(got, confPath) {
		t.Errorf("conffiles: %q lacks %s", got, confPath)
	}
	if _, err := os.Stat("/etc/systemd/system/multi-user.target.wants/quantumnetd.service"); err != nil {
		t.Errorf("the unit is not enabled: %v", err)
	}
	verifyUnit(t, unitPath)
	if out, err := exec.Command("/usr/sbin/quantumnetd", "-check-config").CombinedOutput(); err != nil {
		t.Errorf("the installed default config: %v\n%s", err, out)
	}
}

// runInstalled is the smoke test with the installed files only; it
// returns what the daemon, stopped, sent to its NOTIFY_SOCKET.
func runInstalled(t *testing.T) *notifyListener {
	t.Helper()
	// The installed defaults: the plugin records DELs in
	// /var/lib/cni/quantumnet, which purge must remove.
	t.Setenv(api.PendingDelDirEnv, "")
	editConfig(t)
	notify := listenNotify(t)
	d := startInstalled(t, notify.path)
	defer d.stop(t)
	ovsdbtest.Eventually(t, 30*time.Second, func() bool { return notify.has("READY=1") || d.exited() },
		"no READY=1 on NOTIFY_SOCKET; got %q; log:\n%s", notify.all(), d.log())
	if d.exited() {
		t.Fatalf("quantumnetd exited:\n%s", d.log())
	}
	if out, _ := qnetctl("status"); strings.Contains(out, "reconciling state after start") {
		t.Errorf("READY=1 before the start-up reconcile:\n%s", out)
	}
	ovsdbtest.Eventually(t, 20*time.Second, func() bool { _, err := qnetctl("status"); return err == nil },
		"never ready; log:\n%s", d.log())

	// The example conflist as installed, network "blue".
	conf, err := os.ReadFile("/usr/share/doc/quantumnet/examples/10-quantumnet.conflist")
	if err != nil {
		t.Fatal(err)
	}
	if out, err := qnetctl("network", "create", "blue", "--subnet4", "10.209.0.0/24"); err != nil {
		t.Fatalf("qnetctl network create: %v\n%s", err, out)
	}
	defer qnetctl("network", "delete", "blue")
	// One container through /usr/lib/cni, one through the /opt/cni/bin link.
	nsA, nsB := harness.Netns(t, "pkga"), harness.Netns(t, "pkgb")
	var ips, resolvers []string
	for _, c := range []struct{ dir, id, ns string }{{"/usr/lib/cni", "pkg-a", nsA}, {"/opt/cni/bin", "pkg-b", nsB}} {
		cni, err := harness.NewCNI(t, c.dir, string(conf))
		if err != nil {
			t.Fatal(err)
		}
		rt := harness.RT(c.id, c.ns, "eth0")
		res, err := cni.Config.AddNetworkList(harness.Context(t), cni.List, rt)
		if err != nil {
			t.Fatalf("ADD %s via %s: %v\nlog:\n%s", c.id, c.dir, err, d.log())
		}
		defer func() {
			if err := cni.Config.DelNetworkList(harness.Context(t), cni.List, rt); err != nil {
				t.Errorf("DEL %s: %v", c.id, err)
			}
		}()
		r, err := current.NewResultFromResult(res)
		if err != nil || len(r.IPs) == 0 {
			t.Fatalf("ADD %s: result %v (%v)", c.id, res, err)
		}
		ips = append(ips, r.IPs[0].Address.IP.String())
		resolvers = append(resolvers, r.DNS.Nameservers...)
	}
	if err := harness.Ping(nsA, ips[1]); err != nil {
		t.Error(err)
	}
	if err := harness.Ping(nsB, ips[0]); err != nil {
		t.Error(err)
	}
	// The network's resolver answers (it binds port 53: the unit's
	// CAP_NET_BIND_SERVICE); any reply will do.
	if len(resolvers) == 0 {
		t.Fatal("the CNI result names no DNS server")
	}
	if out, err := exec.Command("ip", "netns", "exec", harness.NsName(nsA), "dig", "+noedns", "+time=2", "+tries=5",
		"@"+resolvers[0], "nothing.invalid").CombinedOutput(); err != nil {
		t.Errorf("the network's resolver %s does not answer: %v\n%s\nlog:\n%s", resolvers[0], err, out, d.log())
	}
	return notify
}

// editConfig points the installed config at the sandbox, as an operator
// edits it for a host: remotes, chassis name, and a libvirt URI nothing
// serves (a container-only host: the daemon must run without libvirtd).
func editConfig(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, r := range [][2]string{
		{`nb_remotes = ["unix:/var/run/ovn/ovnnb_db.sock"]`, fmt.Sprintf("nb_remotes = [%q]", sbx.NB())},
		{`sb_remotes = ["unix:/var/run/ovn/ovnsb_db.sock"]`, fmt.Sprintf("sb_remotes = [%q]", sbx.SB())},
		{`ovs_remote = "unix:/var/run/openvswitch/db.sock"`, fmt.Sprintf("ovs_remote = %q", sbx.OVS())},
		{`# name = "host-1"`, fmt.Sprintf("name = %q", sbx.Chassis)},
		{`uri = "qemu:///system"`, `uri = "qemu:///system?socket=/nonexistent/libvirt-sock"`},
	} {
		if !strings.Contains(s, r[0]) {
			t.Fatalf("the installed config has no line %q:\n%s", r[0], s)
		}
		s = strings.Replace(s, r[0], r[1], 1)
	}
	if err := os.WriteFile(confPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// installed is the installed quantumnetd, started by hand.
type installed struct {
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}
}

// startInstalled starts /usr/sbin/quantumnetd with its default config in
// the sandbox host's namespace, restricted as the unit restricts it: its
// CapabilityBoundingSet (setpriv) and NoNewPrivileges.
func startInstalled(t *testing.T, notifySocket string) *installed {
	t.Helper()
	unit, err := os.ReadFile(unitPath)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^CapabilityBoundingSet=(.+)$`).FindSubmatch(unit)
	if m == nil {
		t.Fatal("the unit has no CapabilityBoundingSet")
	}
	caps := "-all"
	for _, c := range strings.Fields(string(m[1])) {
		caps += ",+" + strings.ToLower(strings.TrimPrefix(c, "CAP_"))
	}
	d := &installed{logPath: filepath.Join(t.TempDir(), "quantumnetd.log"), done: make(chan struct{})}
	f, err := os.Create(d.logPath)
	if err != nil {
		t.Fatal(err)
	}
	d.cmd = exec.Command("ip", "netns", "exec", sbx.Netns, "setpriv", "--bounding-set="+caps, "--inh-caps=-all",
		"--no-new-privs", "/usr/sbin/quantumnetd")
	d.cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifySocket)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	d.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.cmd.Wait(); f.Close(); close(d.done) }()
	t.Cleanup(func() { d.stop(t) })
	return d
}

func (d *installed) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

func (d *installed) log() string { return harness.TailFile(d.logPath, 30) }

// stop ends the daemon (SIGTERM, SIGKILL after 10 s); stopping twice is harmless.
func (d *installed) stop(t *testing.T) {
	if d.exited() {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		t.Errorf("quantumnetd did not stop on SIGTERM:\n%s", d.log())
		syscall.Kill(-d.cmd.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
}

// notifyListener is a NOTIFY_SOCKET as systemd serves it: a datagram socket.
type notifyListener struct {
	path string
	mu   sync.Mutex
	msgs []string
}

func listenNotify(t *testing.T) *notifyListener {
	t.Helper()
	dir, err := os.MkdirTemp("", "qnpkg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	n := &notifyListener{path: filepath.Join(dir, "notify")}
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			k, _, err := c.ReadFromUnix(buf)
			if err != nil {
				return
			}
			n.mu.Lock()
			n.msgs = append(n.msgs, strings.Split(string(buf[:k]), "\n")...)
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *notifyListener) has(msg string) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, m := range n.msgs {
		if m == msg {
			return true
		}
	}
	return false
}

func (n *notifyListener) all() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.msgs...)
}

// setAside moves an existing path out of the way of install and purge, and
// back when the test ends.
func setAside(t *testing.T, p string) {
	t.Helper()
	if _, err := os.Lstat(p); err != nil {
		return
	}
	aside := fmt.Sprintf("%s.qn-pkg-test-%d", p, os.Getpid())
	if err := os.Rename(p, aside); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.RemoveAll(p)
		if err := os.Rename(aside, p); err != nil {
			t.Errorf("restoring %s: %v", p, err)
		}
	})
}

func qnetctl(args ...string) (string, error) {
	out, err := exec.Command("/usr/bin/qnetctl", args...).CombinedOutput()
	return string(out), err
}

func dpkg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("dpkg", args...).CombinedOutput(); err != nil {
		t.Fatalf("dpkg %v: %v\n%s", args, err, out)
	}
}

func dpkgOut(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("dpkg", args...).Output()
	if err != nil {
		t.Fatalf("dpkg %v: %v", args, err)
	}
	return string(out)
}

func dpkgQuery(t *testing.T, format string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f="+format, "quantumnet").Output()
	if err != nil {
		t.Fatalf("dpkg-query %s: %v", format, err)
	}
	return string(out)
}

func isExecutable(p string) bool {
	info, err := os.Stat(p)
	return err == nil && info.Mode().IsRegular() && info.Mode()&0o111 != 0
}
