package harness

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/quantumnet/quantumnet/pkg/api"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/pkg/rpcclient"
)

// DaemonConfig is what a test or a benchmark sets of a quantumnetd's
// config; the launcher writes the TOML.
type DaemonConfig struct {
	// Bin is the directory holding quantumnetd and qnetctl.
	Bin string
	// Dir holds the config, the log and (by default) the socket. For
	// LaunchDaemon "" is a fresh directory removed when the test ends;
	// StartDaemon needs one.
	Dir string
	// Name names the daemon in file names and messages ("" : quantumnetd).
	Name string
	// NB, SB and OVS are the database remotes; NB and SB may list several
	// (the members of a cluster), comma-separated. SB and OVS "" are
	// sockets nobody serves (IPAM needs neither); then Unmanaged is implied.
	NB, SB, OVS string
	// Chassis is the chassis name, EncapIP its Geneve address ("": the
	// daemon's default), DatapathType "netdev" on the userspace datapath.
	Chassis, EncapIP, DatapathType string
	// SSLKey, SSLCert and SSLCA are ovn.ssl_key, ssl_cert and ssl_ca (for
	// ssl: remotes).
	SSLKey, SSLCert, SSLCA string
	// Unmanaged: chassis.manage = false (the sandbox configures the chassis).
	Unmanaged bool
	// Socket is the daemon's socket ("": Dir/NAME.sock); ClientSocket is
	// where this process reaches it when the daemon runs in another mount
	// namespace ("": Socket).
	Socket, ClientSocket string
	// LogLevel ("": debug), ReadyTimeout (the config's daemon.ready_timeout,
	// "": the daemon's default), Libvirt (libvirt.uri, "": none).
	LogLevel, ReadyTimeout, Libvirt string
	// BridgeMappings are chassis.bridge_mappings ("physnet1:br-ex").
	BridgeMappings []string
	// NoLibvirt: libvirt.enabled = false (a host without libvirtd).
	NoLibvirt bool
	// HTTPListen is [http] listen ("": the listener is off).
	HTTPListen string
	// Console turns on the web console ([http] console; needs HTTPListen).
	Console bool
	// Extra is more TOML, appended; OVNExtra more lines of [ovn]
	// ("load_all_reservations = true").
	Extra, OVNExtra string
	// Wrap runs the daemon through a command: ip netns exec NS, or
	// scripts/twohost.sh exec HOST; WrapEnv is its extra environment.
	Wrap, WrapEnv []string
}

// TOML is the daemon's config file.
func (c DaemonConfig) TOML() string {
	sb, ovs, manage := c.SB, c.OVS, !c.Unmanaged
	if sb == "" {
		sb = "unix:" + filepath.Join(c.Dir, "none-sb.sock")
		manage = false
	}
	if ovs == "" {
		ovs = "unix:" + filepath.Join(c.Dir, "none-ovs.sock")
		manage = false
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[ovn]\nnb_remotes = %s\nsb_remotes = %s\n", tomlList(c.NB), tomlList(sb))
	if c.SSLKey != "" {
		fmt.Fprintf(&b, "ssl_key = %q\nssl_cert = %q\nssl_ca = %q\n", c.SSLKey, c.SSLCert, c.SSLCA)
	}
	if c.OVNExtra != "" {
		b.WriteString(strings.TrimSuffix(c.OVNExtra, "\n") + "\n")
	}
	fmt.Fprintf(&b, "[chassis]\nname = %q\novs_remote = %q\n", c.Chassis, ovs)
	if c.EncapIP != "" {
		fmt.Fprintf(&b, "encap_ip = %q\n", c.EncapIP)
	}
	if c.DatapathType != "" {
		fmt.Fprintf(&b, "datapath_type = %q\n", c.DatapathType)
	}
	if !manage {
		b.WriteString("manage = false\n")
	}
	if len(c.BridgeMappings) > 0 {
		fmt.Fprintf(&b, "bridge_mappings = [%s]\n", quoteList(c.BridgeMappings))
	}
	fmt.Fprintf(&b, "[daemon]\nsocket = %q\nlog_level = %q\n", c.Socket, c.LogLevel)
	if c.ReadyTimeout != "" {
		fmt.Fprintf(&b, "ready_timeout = %q\n", c.ReadyTimeout)
	}
	switch {
	case c.NoLibvirt:
		b.WriteString("[libvirt]\nenabled = false\n")
	case c.Libvirt != "":
		fmt.Fprintf(&b, "[libvirt]\nuri = %q\n", c.Libvirt)
	}
	if c.HTTPListen != "" {
		fmt.Fprintf(&b, "[http]\nlisten = %q\n", c.HTTPListen)
		if c.Console {
			b.WriteString("console = true\n")
		}
	}
	return b.String() + c.Extra
}

// quoteList is l as the items of a TOML array of strings.
func quoteList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// tomlList is a TOML array of the comma-separated remotes.
func tomlList(remotes string) string { return "[" + quoteList(strings.Split(remotes, ",")) + "]" }

// Daemon is one quantumnetd process, restartable with the same config.
type Daemon struct {
	DaemonConfig
	// ConfigPath and LogPath are its files (the log is appended to across
	// restarts).
	ConfigPath, LogPath string

	t    testing.TB // set by LaunchDaemon, for the Must methods
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// daemonStartTimeout bounds how long a started daemon may take to create
// its socket.
const daemonStartTimeout = 20 * time.Second

// StartDaemon writes the config and starts the daemon; it returns once the
// daemon's socket exists (it may not be ready: WaitReady, Client).
func StartDaemon(c DaemonConfig) (*Daemon, error) {
	if c.Dir == "" {
		return nil, errors.New("harness: DaemonConfig.Dir is empty")
	}
	if c.Name == "" {
		c.Name = "quantumnetd"
	}
	if c.Socket == "" {
		c.Socket = filepath.Join(c.Dir, c.Name+".sock")
	}
	if c.LogLevel == "" {
		c.LogLevel = "debug"
	}
	if c.ClientSocket == "" {
		c.ClientSocket = c.Socket
	}
	d := &Daemon{DaemonConfig: c, ConfigPath: filepath.Join(c.Dir, c.Name+".toml"), LogPath: filepath.Join(c.Dir, c.Name+".log")}
	if err := os.WriteFile(d.ConfigPath, []byte(c.TOML()), 0o600); err != nil {
		return nil, err
	}
	return d, d.Start()
}

// LaunchDaemon is StartDaemon for a test: Dir "" is a fresh directory,
// the daemon is stopped when the test ends and its log shown if it failed;
// a failure to start fails the test.
func LaunchDaemon(t testing.TB, c DaemonConfig) *Daemon {
	t.Helper()
	if c.Dir == "" {
		// Not t.TempDir: unix socket paths must stay short.
		dir, err := os.MkdirTemp("", "qnd")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		c.Dir = dir
	}
	d, err := StartDaemon(c)
	if d != nil {
		d.t = t
		t.Cleanup(func() {
			d.Stop()
			if t.Failed() {
				t.Logf("%s log (tail):\n%s", d.Name, TailFile(d.LogPath, 60))
			}
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Start (re)starts the stopped daemon with its config and waits for its
// socket.
func (d *Daemon) Start() error {
	f, err := os.OpenFile(d.LogPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	// A stale socket of an earlier run must not count as started.
	os.Remove(d.ClientSocket)
	argv := append(append([]string{}, d.Wrap...), filepath.Join(d.Bin, "quantumnetd"), "-config", d.ConfigPath)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), d.WrapEnv...)
	cmd.Stdout, cmd.Stderr = f, f
	// Its own process group: a Ctrl-C reaches the program, which stops the
	// daemon itself (after deleting through it what it made). No Pdeathsig:
	// it fires when the forking thread ends, and the benchmarks end threads
	// (a goroutine locked in another network namespace).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", d.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); f.Close(); close(done) }()
	d.mu.Lock()
	d.cmd, d.done = cmd, done
	d.mu.Unlock()
	ok := ovsdbtest.Until(context.Background(), daemonStartTimeout, func() bool {
		_, err := os.Stat(d.ClientSocket)
		return err == nil || d.Exited()
	})
	if d.Exited() {
		return fmt.Errorf("%s exited at start (%v):\n%s", d.Name, cmd.ProcessState, TailFile(d.LogPath, 20))
	}
	if !ok {
		return fmt.Errorf("%s did not create %s within %v:\n%s", d.Name, d.ClientSocket, daemonStartTimeout, TailFile(d.LogPath, 20))
	}
	return nil
}

// Stop stops the daemon (SIGTERM, SIGKILL after 10 s) and waits for it.
// Stopping a stopped daemon does nothing.
func (d *Daemon) Stop() { d.signal(syscall.SIGTERM, 10*time.Second) }

// Kill kills the daemon with SIGKILL, as a crash would, and waits for it.
func (d *Daemon) Kill() { d.signal(syscall.SIGKILL, 0) }

func (d *Daemon) signal(sig syscall.Signal, grace time.Duration) {
	d.mu.Lock()
	cmd, done := d.cmd, d.done
	d.mu.Unlock()
	if cmd == nil || d.Exited() {
		return
	}
	_ = cmd.Process.Signal(sig)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// Restart stops the daemon and starts it again with the same config.
func (d *Daemon) Restart() error {
	d.Stop()
	return d.Start()
}

// Exited reports whether the daemon process has exited.
func (d *Daemon) Exited() bool {
	d.mu.Lock()
	done := d.done
	d.mu.Unlock()
	if done == nil {
		return true
	}
	select {
	case <-done:
		return true
	default:
		return false
	}
}

// Done is closed when the current daemon process exits.
func (d *Daemon) Done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.done
}

// Pid is the current daemon process's id.
func (d *Daemon) Pid() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd.Process.Pid
}

// Qnetctl runs qnetctl on the daemon's socket and returns its combined output.
func (d *Daemon) Qnetctl(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(d.Bin, "qnetctl"), append([]string{"--socket", d.ClientSocket}, args...)...).CombinedOutput()
	return string(out), err
}

// WaitReady waits until `qnetctl status` reports the daemon ready (NB,
// SB, OVS, br-int, the chassis registered, the start-up reconcile done).
func (d *Daemon) WaitReady(timeout time.Duration) error {
	var out string
	ok := ovsdbtest.Until(context.Background(), timeout, func() bool {
		var err error
		out, err = d.Qnetctl("status")
		return err == nil || d.Exited()
	})
	if !ok || d.Exited() {
		return fmt.Errorf("%s never became ready within %v:\n%s", d.Name, timeout, out)
	}
	return nil
}

// Client dials the daemon's API once it serves with NB connected (a
// lookup of a missing network is NotFound, not Unavailable): for daemons
// without SB and OVS, which never become ready.
func (d *Daemon) Client(ctx context.Context, timeout time.Duration, name string) (*rpcclient.Client, error) {
	var c *rpcclient.Client
	var last error
	ok := ovsdbtest.Until(ctx, timeout, func() bool {
		if d.Exited() {
			return true
		}
		var err error
		if c, err = rpcclient.Dial(ctx, d.ClientSocket, name); err != nil {
			last = err
			return false
		}
		_, err = c.GetNetwork(ctx, &api.NetworkRef{Name: "probe"})
		if status.Code(err) == codes.NotFound {
			return true
		}
		last = err
		c.Close()
		c = nil
		return false
	})
	if d.Exited() {
		return nil, fmt.Errorf("%s exited:\n%s", d.Name, TailFile(d.LogPath, 20))
	}
	if !ok {
		return nil, fmt.Errorf("%s not serving with NB connected after %v: %v\n%s", d.Name, timeout, last, TailFile(d.LogPath, 20))
	}
	return c, nil
}

// MustReady is WaitReady (20 s) failing the test.
func (d *Daemon) MustReady() {
	d.t.Helper()
	if err := d.WaitReady(20 * time.Second); err != nil {
		d.t.Fatal(err)
	}
}

// MustStart is Start failing the test.
func (d *Daemon) MustStart() {
	d.t.Helper()
	if err := d.Start(); err != nil {
		d.t.Fatal(err)
	}
}

// MustRestart is Restart failing the test.
func (d *Daemon) MustRestart() {
	d.t.Helper()
	if err := d.Restart(); err != nil {
		d.t.Fatal(err)
	}
}

// MustQnetctl is Qnetctl failing the test on an error.
func (d *Daemon) MustQnetctl(args ...string) string {
	d.t.Helper()
	out, err := d.Qnetctl(args...)
	if err != nil {
		d.t.Fatalf("qnetctl %v: %v\n%s", args, err, out)
	}
	return out
}

// MustNetwork creates the network name (args: qnetctl network create's
// flags), failing the test, and deletes it when the test ends.
func (d *Daemon) MustNetwork(name string, args ...string) {
	d.t.Helper()
	d.MustQnetctl(append([]string{"network", "create", name}, args...)...)
	d.t.Cleanup(func() { d.Qnetctl("network", "delete", name) })
}

// MustClient is Client (15 s) failing the test; the client is closed when
// the test ends.
func (d *Daemon) MustClient() *rpcclient.Client {
	d.t.Helper()
	c, err := d.Client(context.Background(), 15*time.Second, "test")
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(c.Close)
	return c
}
