// Package e2e runs QuantumNet end to end: a local OVN sandbox (NB, SB,
// northd, OVS on the userspace datapath, ovn-controller), quantumnetd, and
// the quantumnet CNI plugin binary driven through libcni exactly as a
// container runtime drives it, with network namespaces as containers and
// real packets. It needs root; without root or OVN it skips, except under
// CI=true where that is a failure.
package e2e

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/quantumnet/quantumnet/test/testenv"
)

var (
	repo       string // repository root
	binDir     string // built binaries
	sandboxDir string // QN_SANDBOX_DIR of the e2e sandbox
	hostNS     string // network namespace standing for the chassis host
	skipReason string
)

const chassis = "chassis-e2e"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	repo = testenv.Repo()
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test skips itself
	}
	if os.Geteuid() != 0 {
		skipReason = "end-to-end tests need root"
	} else if _, err := exec.LookPath("ovn-controller"); err != nil {
		skipReason = "OVN is not installed (run scripts/deps.sh)"
	}
	if skipReason != "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "e2e: under CI these tests must run:", skipReason)
			return 1
		}
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "qne2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binDir = filepath.Join(tmp, "bin")
	if err := testenv.Build(binDir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	sandboxDir = filepath.Join("/tmp", fmt.Sprintf("qn-e2e-%d", os.Getpid()))
	hostNS = fmt.Sprintf("qn-e2e-host-%d", os.Getpid())
	if out, err := sandbox("up"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: sandbox up: %v\n%s", err, out)
		sandbox("down")
		return 1
	}
	code := m.Run()
	if out, err := sandbox("down"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: sandbox down: %v\n%s", err, out)
	}
	return code
}

func sandbox(verb string) (string, error) {
	cmd := exec.Command(filepath.Join(repo, "scripts", "sandbox.sh"), verb)
	cmd.Env = append(os.Environ(), "QN_SANDBOX_DIR="+sandboxDir, "QN_CHASSIS="+chassis, "QN_ENCAP_IP=127.0.0.1", "QN_NETNS="+hostNS)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func requireE2E(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end test (-short)")
	}
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// daemon is one running quantumnetd.
type daemon struct {
	t      *testing.T
	socket string
	config string
	log    string
	cmd    *exec.Cmd
	done   chan struct{}
}

// startDaemon starts quantumnetd against the sandbox; nbRemote "" means the sandbox NB.
func startDaemon(t *testing.T, nbRemote string) *daemon {
	t.Helper()
	return startDaemonWith(t, nbRemote, "")
}

// startDaemonWith is startDaemon with more config (TOML appended).
func startDaemonWith(t *testing.T, nbRemote, extra string) *daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "qnd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if nbRemote == "" {
		nbRemote = "unix:" + sandboxDir + "/nb.sock"
	}
	d := &daemon{t: t, socket: filepath.Join(dir, "qn.sock"), config: filepath.Join(dir, "quantumnetd.toml"), log: filepath.Join(dir, "quantumnetd.log")}
	cfg := fmt.Sprintf(`[ovn]
nb_remotes = [%q]
sb_remotes = ["unix:%s/sb.sock"]
[chassis]
name = %q
ovs_remote = "unix:%s/db.sock"
datapath_type = "netdev"
[daemon]
socket = %q
log_level = "debug"
ready_timeout = "15s"
`, nbRemote, sandboxDir, chassis, sandboxDir, d.socket) + extra
	if err := os.WriteFile(d.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	d.start()
	t.Cleanup(func() {
		d.stop()
		if t.Failed() {
			b, _ := os.ReadFile(d.log)
			t.Logf("quantumnetd log:\n%s", testenv.Tail(string(b), 60))
		}
	})
	return d
}

func (d *daemon) start() {
	d.t.Helper()
	f, err := os.OpenFile(d.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	// The daemon runs in the chassis' network namespace, beside its ovs-vswitchd.
	d.cmd = exec.Command("ip", "netns", "exec", hostNS, filepath.Join(binDir, "quantumnetd"), "-config", d.config)
	d.cmd.Stdout, d.cmd.Stderr = f, f
	if err := d.cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); f.Close(); close(d.done) }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(d.socket); err == nil {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.t.Fatalf("quantumnetd did not create %s", d.socket)
}

// waitReady waits until qnetctl status reports ready.
func (d *daemon) waitReady() {
	d.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		var err error
		if out, err = d.qnetctl("status"); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	d.t.Fatalf("quantumnetd never became ready:\n%s", out)
}

func (d *daemon) stop() {
	if d.cmd == nil || d.cmd.Process == nil {
		return
	}
	select {
	case <-d.done:
		return
	default:
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.done
	}
}

func (d *daemon) kill() {
	d.cmd.Process.Kill()
	<-d.done
}

func (d *daemon) qnetctl(args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "qnetctl"), append([]string{"--socket", d.socket}, args...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d *daemon) mustQnetctl(args ...string) string {
	d.t.Helper()
	out, err := d.qnetctl(args...)
	if err != nil {
		d.t.Fatalf("qnetctl %v: %v\n%s", args, err, out)
	}
	return out
}

// cni drives the plugin binary through libcni, as a runtime does.
type cni struct {
	cfg  *libcni.CNIConfig
	list *libcni.NetworkConfigList
}

func newCNI(t *testing.T, d *daemon, conf string) (*cni, error) {
	t.Helper()
	list, err := libcni.ConfListFromBytes([]byte(conf))
	if err != nil {
		return nil, err
	}
	return &cni{cfg: libcni.NewCNIConfigWithCacheDir([]string{binDir}, t.TempDir(), nil), list: list}, nil
}

func confList(name, network, socket string, extra string) string {
	return fmt.Sprintf(`{"cniVersion":"1.1.0","name":%q,"plugins":[{"type":"quantumnet","network":%q,"socket":%q%s}]}`, name, network, socket, extra)
}

func rt(id, netns, ifname string) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname}
}

// netns creates a network namespace removed at cleanup and returns its path.
func netns(t *testing.T, name string) string {
	t.Helper()
	name = fmt.Sprintf("qne2e-%s-%d", name, os.Getpid()%100000)
	exec.Command("ip", "netns", "del", name).Run()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add %s: %v\n%s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("ip", "netns", "del", name).Run() })
	return "/var/run/netns/" + name
}

func nsName(path string) string { return filepath.Base(path) }

func ping(t *testing.T, fromNS, addr string) error {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", nsName(fromNS), "ping", "-c", "3", "-i", "0.2", "-W", "2", addr).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v\n%s", addr, nsName(fromNS), err, out)
	}
	return nil
}

// sh runs an OVN/OVS tool against the sandbox.
func sh(t *testing.T, name string, args ...string) string {
	t.Helper()
	var db string
	switch name {
	case "ovn-nbctl":
		db = "--db=unix:" + sandboxDir + "/nb.sock"
	case "ovn-sbctl":
		db = "--db=unix:" + sandboxDir + "/sb.sock"
	case "ovs-vsctl":
		db = "--db=unix:" + sandboxDir + "/db.sock"
	}
	cmd := exec.Command(name, append([]string{db}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, stderr.String())
	}
	return strings.TrimSpace(string(out))
}

// nbPorts lists the NB logical ports of a switch.
func nbPorts(t *testing.T, network string) []string {
	out := sh(t, "ovn-nbctl", "--bare", "--columns=name", "find", "Logical_Switch_Port", "external_ids:quantumnet\\:network="+network)
	return strings.Fields(out)
}

// ovsPorts lists the OVS ports of containers on br-int (not the
// networks' resolver endpoints, qnd*).
func ovsPorts(t *testing.T) []string {
	var out []string
	for _, p := range strings.Fields(sh(t, "ovs-vsctl", "list-ports", "br-int")) {
		if !strings.HasPrefix(p, "qnd") {
			out = append(out, p)
		}
	}
	return out
}

// hostLinks lists the chassis host's links whose names start with prefix.
func hostLinks(t *testing.T, prefix string) []string {
	out, _ := exec.Command("ip", "-n", hostNS, "-o", "link", "show").Output()
	var l []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasPrefix(f[1], prefix) {
			l = append(l, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
		}
	}
	return l
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}
