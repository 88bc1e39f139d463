// Package migration_test moves a VM between two hosts with a real
// `virsh migrate --live` while a container on the other host pings it every
// 10 ms: two chassis (scripts/twohost.sh: network namespaces with their own
// OVS, ovn-controller and libvirtd, one central NB/SB), one quantumnetd per
// host, the qemu hook installed on both. Root, OVN and libvirt are needed;
// without them it skips, except under CI=true.
package migration_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/test/testenv"
)

var (
	repo, binDir, dir, skipReason string
	env                           = map[string]string{}
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	repo = testenv.Repo()
	flag.Parse()
	if testing.Short() {
		return m.Run()
	}
	for _, c := range []string{"ovn-controller", "libvirtd", "qemu-system-x86_64", "nsenter"} {
		if _, err := exec.LookPath(c); err != nil {
			skipReason = c + " is not installed (scripts/deps.sh --with-libvirt)"
		}
	}
	if os.Geteuid() != 0 {
		skipReason = "migration tests need root"
	}
	if skipReason != "" {
		if os.Getenv("CI") == "true" {
			fmt.Fprintln(os.Stderr, "migration: under CI these tests must run:", skipReason)
			return 1
		}
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "qnmig")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	binDir = filepath.Join(tmp, "bin")
	if err := testenv.Build(binDir); err != nil {
		fmt.Fprintf(os.Stderr, "migration: %v\n", err)
		return 1
	}
	if out, err := script("test-guest.sh", "build"); err != nil {
		fmt.Fprintf(os.Stderr, "migration: test guest: %v\n%s", err, out)
		return 1
	}
	out, _ := script("test-guest.sh", "env")
	parseEnv(out)
	dir = fmt.Sprintf("/tmp/qn-mig-%d", os.Getpid())
	defer script("twohost.sh", "down")
	if out, err := script("twohost.sh", "up"); err != nil {
		fmt.Fprintf(os.Stderr, "migration: twohost up: %v\n%s", err, out)
		return 1
	}
	out, _ = script("twohost.sh", "env")
	parseEnv(out)
	return m.Run()
}

func script(name string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(repo, "scripts", name), args...)
	cmd.Env = append(os.Environ(), "QN_TWOHOST_DIR="+dir, "QN_TWOHOST_HOOK="+filepath.Join(binDir, "quantumnet-qemu-hook"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func parseEnv(out string) {
	for _, l := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(l, "export "), "=")
		if ok {
			env[k] = strings.ReplaceAll(strings.Trim(v, `'"`), `\`, "")
		}
	}
}

type daemon struct {
	t    *testing.T
	host string
	cmd  *exec.Cmd
	done chan struct{}
}

func startDaemon(t *testing.T, host string) *daemon {
	t.Helper()
	H := strings.ToUpper(host)
	cfg := fmt.Sprintf(`[ovn]
nb_remotes = [%q]
sb_remotes = [%q]
[chassis]
name = %q
encap_ip = %q
ovs_remote = %q
datapath_type = "netdev"
manage = false
[daemon]
log_level = "debug"
ready_timeout = "5s"
[libvirt]
uri = "qemu:///system"
`, env["QN_NB_REMOTE"], env["QN_SB_REMOTE"], env["QN_CHASSIS_"+H], env["QN_ENCAP_IP_"+H], env["QN_OVS_REMOTE_"+H])
	path := filepath.Join(dir, "quantumnetd-"+host+".toml")
	os.WriteFile(path, []byte(cfg), 0o600)
	d := &daemon{t: t, host: host}
	logf, _ := os.OpenFile(filepath.Join(dir, "quantumnetd-"+host+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	d.cmd = exec.Command(filepath.Join(repo, "scripts", "twohost.sh"), "exec", host, filepath.Join(binDir, "quantumnetd"), "-config", path)
	d.cmd.Env = append(os.Environ(), "QN_TWOHOST_DIR="+dir)
	d.cmd.Stdout, d.cmd.Stderr = logf, logf
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	d.done = make(chan struct{})
	go func() { d.cmd.Wait(); logf.Close(); close(d.done) }()
	testenv.WaitFor(t, 30*time.Second, func() bool { _, err := d.qnetctl("status"); return err == nil }, "quantumnetd on host "+host+" never became ready")
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
		}
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "quantumnetd-"+host+".log"))
			t.Logf("quantumnetd %s log (tail):\n%s", host, testenv.Tail(string(b), 30))
		}
	})
	return d
}

func (d *daemon) qnetctl(args ...string) (string, error) {
	out, err := exec.Command(filepath.Join(binDir, "qnetctl"), append([]string{"--socket", env["QN_QUANTUMNETD_SOCKET_"+strings.ToUpper(d.host)]}, args...)...).CombinedOutput()
	return string(out), err
}

func virsh(host string, args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", env["QN_LIBVIRT_URI_"+strings.ToUpper(host)]}, args...)...).CombinedOutput()
	return string(out), err
}

func nbGet(t *testing.T, port, col string) string {
	out, _ := exec.Command("ovn-nbctl", "--db="+env["QN_NB_REMOTE"], "--if-exists", "get", "Logical_Switch_Port", port, col).CombinedOutput()
	return strings.Trim(strings.TrimSpace(string(out)), `"`)
}

func uuid() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// pinger pings target every 10 ms from a network namespace.
type pinger struct {
	cmd *exec.Cmd
	out *strings.Builder
}

func startPing(ns, target string) *pinger {
	p := &pinger{out: &strings.Builder{}}
	p.cmd = exec.Command("ip", "netns", "exec", ns, "ping", "-D", "-i", "0.01", "-W", "1", target)
	p.cmd.Stdout = p.out
	p.cmd.Start()
	return p
}

var tsRE = regexp.MustCompile(`^\[(\d+\.\d+)\] \d+ bytes from`)

// stop ends the ping and returns the packets lost and the longest gap
// between two replies.
func (p *pinger) stop() (lost int, gap time.Duration) {
	p.cmd.Process.Signal(syscall.SIGINT)
	p.cmd.Wait()
	var prev float64
	sent, recv := 0, 0
	sc := bufio.NewScanner(strings.NewReader(p.out.String()))
	for sc.Scan() {
		l := sc.Text()
		if m := tsRE.FindStringSubmatch(l); m != nil {
			ts, _ := strconv.ParseFloat(m[1], 64)
			if prev > 0 && time.Duration((ts-prev)*float64(time.Second)) > gap {
				gap = time.Duration((ts - prev) * float64(time.Second))
			}
			prev = ts
		}
		if n, err := fmt.Sscanf(l, "%d packets transmitted, %d received", &sent, &recv); n == 2 && err == nil {
			lost = sent - recv
		}
	}
	return lost, gap
}

var downtimeRE = regexp.MustCompile(`Total downtime:\s+(\d+)\s+ms`)

// TestLiveMigration: a VM moves between the hosts several times, both ways,
// while a container on host B pings it every 10 ms; its address, MAC and
// DHCP stay; the port ends on the destination alone each time; a failed
// migration leaves the VM on the source, connected, nothing bound on the
// destination.
func TestLiveMigration(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if skipReason != "" {
		t.Skip(skipReason)
	}
	da, db := startDaemon(t, "a"), startDaemon(t, "b")
	if out, err := da.qnetctl("network", "create", "mignet", "--subnet4", "10.211.0.0/24"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { da.qnetctl("network", "delete", "mignet") })

	// A container on host B, attached by its daemon through the CNI plugin.
	ns := fmt.Sprintf("qnmig-c-%d", os.Getpid())
	exec.Command("ip", "netns", "add", ns).Run()
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	holder := exec.Command("ip", "netns", "exec", ns, "sleep", "infinity")
	holder.Start()
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	netnsPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid) // visible inside the host's mount namespace
	list, _ := libcni.ConfListFromBytes([]byte(`{"cniVersion":"1.1.0","name":"mignet","plugins":[{"type":"quantumnet","network":"mignet","socket":"` + env["QN_QUANTUMNETD_SOCKET_B"] + `"}]}`))
	cni := libcni.NewCNIConfigWithCacheDir([]string{binDir}, t.TempDir(), nil)
	rt := &libcni.RuntimeConf{ContainerID: "mig-ctr", NetNS: netnsPath, IfName: "eth0"}
	r, err := cni.AddNetworkList(context.Background(), list, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cni.DelNetworkList(context.Background(), list, rt) })
	cres, _ := current.NewResultFromResult(r)
	ctrIP := cres.IPs[0].Address.IP.String()

	// The VM on host A.
	name, iface, mac := "qn-test-mig", uuid(), "52:54:00:21:11:01"
	console := filepath.Join(dir, "mig.console")
	xml := fmt.Sprintf(`<domain type='qemu'><name>%s</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>
<metadata><quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
<quantumnet:interface id="%s" network="mignet"/></quantumnet:network></metadata>
<features><acpi/></features>
<os><type arch='x86_64'>hvm</type><kernel>%s</kernel><initrd>%s</initrd><cmdline>console=ttyS0 qnping=%s</cmdline></os>
<devices><interface type='bridge'><source bridge='br-int'/><virtualport type='openvswitch'><parameters interfaceid='%s'/></virtualport>
<mac address='%s'/><model type='virtio'/><driver name='qemu'><host csum='off'/></driver></interface>
<serial type='pty'><log file='%s' append='on'/></serial><console type='pty'/></devices></domain>`,
		name, iface, env["QN_GUEST_KERNEL"], env["QN_GUEST_INITRD"], ctrIP, iface, mac, console)
	xmlPath := filepath.Join(dir, "mig.xml")
	os.WriteFile(xmlPath, []byte(xml), 0o644)
	if out, err := virsh("a", "define", xmlPath); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() {
		for _, h := range []string{"a", "b"} {
			virsh(h, "destroy", name)
			virsh(h, "undefine", name)
		}
	})
	if out, err := virsh("a", "start", name); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var vmIP string
	ipRE := regexp.MustCompile(`QNGUEST IP=([0-9.]+)/`)
	testenv.WaitFor(t, 90*time.Second, func() bool {
		b, _ := os.ReadFile(console)
		if m := ipRE.FindStringSubmatch(string(b)); m != nil {
			vmIP = m[1]
			return true
		}
		return false
	}, "the VM never got an address by DHCP")
	addrs := nbGet(t, iface, "addresses")
	if !strings.Contains(addrs, vmIP) || !strings.Contains(addrs, mac) {
		t.Fatalf("VM DHCP address %s, port addresses %s", vmIP, addrs)
	}
	testenv.WaitFor(t, 30*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", vmIP).Run() == nil
	}, "the container on host B cannot reach the VM on host A")

	// Its name resolves on the other host (a resolver runs on every chassis).
	netJSON, _ := da.qnetctl("-o", "json", "network", "show", "mignet")
	m := regexp.MustCompile(`"resolvers":\s*\[\s*"([0-9.]+)"`).FindStringSubmatch(netJSON)
	if m == nil {
		t.Fatalf("mignet has no resolver:\n%s", netJSON)
	}
	resolver := m[1]
	lookup := func() string {
		out, _ := exec.Command("ip", "netns", "exec", ns, "dig", "+short", "+tries=1", "+time=2", "@"+resolver, name+".quantix.local").CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if got := lookup(); got != vmIP {
		t.Fatalf("%s.quantix.local from host B: %q, want %s", name, got, vmIP)
	}

	from := "a"
	for i := 0; i < 4; i++ {
		to := map[string]string{"a": "b", "b": "a"}[from]
		p := startPing(ns, vmIP)
		time.Sleep(300 * time.Millisecond)
		t0 := time.Now()
		out, err := virsh(from, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", name, env["QN_LIBVIRT_MIGRATE_URI_"+strings.ToUpper(to)])
		took := time.Since(t0)
		testenv.WaitFor(t, 10*time.Second, func() bool {
			return nbGet(t, iface, "options:requested-chassis") == env["QN_CHASSIS_"+strings.ToUpper(to)]
		}, "after the migration the port is not the destination's alone: "+nbGet(t, iface, "options:requested-chassis"))
		time.Sleep(300 * time.Millisecond)
		lost, gap := p.stop()
		if err != nil {
			t.Fatalf("migrate %s->%s: %v\n%s", from, to, err, out)
		}
		job, _ := virsh(to, "domjobinfo", "--completed", name)
		downtime := "?"
		if m := downtimeRE.FindStringSubmatch(job); m != nil {
			downtime = m[1] + " ms"
		}
		t.Logf("migration %d %s->%s: %v; pings lost %d, longest gap %v, QEMU downtime %s", i+1, from, to, took.Round(time.Millisecond), lost, gap.Round(time.Millisecond), downtime)
		if st, _ := virsh(to, "domstate", name); !strings.Contains(st, "running") {
			t.Fatalf("after migrating to %s the VM is %q", to, st)
		}
		if a := nbGet(t, iface, "addresses"); a != addrs {
			t.Fatalf("addresses changed: %s -> %s", addrs, a)
		}
		if nbGet(t, iface, "options:activation-strategy") != "" || nbGet(t, iface, "external_ids:quantumnet\\:migration-to") != "" {
			t.Fatal("migration state left on the port")
		}
		if gap > 3*time.Second {
			t.Fatalf("the network was gone for %v", gap)
		}
		if err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "2", "-W", "1", vmIP).Run(); err != nil {
			t.Fatalf("after migrating to %s the container cannot reach the VM", to)
		}
		if got := lookup(); got != vmIP {
			t.Fatalf("after migrating to %s, %s.quantix.local resolves to %q, want %s", to, name, got, vmIP)
		}
		show, _ := da.qnetctl("port", "show", iface)
		if !regexp.MustCompile(`requested chassis:\s+`+env["QN_CHASSIS_"+strings.ToUpper(to)]+`\n`).MatchString(show) ||
			!regexp.MustCompile(`bound to:\s+`+env["QN_CHASSIS_"+strings.ToUpper(to)]).MatchString(show) || !strings.Contains(show, "vm:") {
			t.Fatalf("qnetctl port show after migrating to %s:\n%s", to, show)
		}
		from = to
	}

	// A migration the destination refuses (a domain of that name exists
	// there): the VM stays on the source, connected, nothing bound there.
	to := map[string]string{"a": "b", "b": "a"}[from]
	blocker := strings.Replace(strings.Replace(xml, "<name>"+name, "<name>"+name, 1), iface, uuid(), 2)
	blocker = strings.Replace(blocker, "<domain type='qemu'>", "<domain type='qemu'><uuid>"+uuid()+"</uuid>", 1)
	bp := filepath.Join(dir, "blocker.xml")
	os.WriteFile(bp, []byte(strings.Replace(blocker, "qnping=", "qnx=", 1)), 0o644)
	if out, err := virsh(to, "define", bp); err != nil {
		t.Fatalf("define blocker: %v %s", err, out)
	}
	p := startPing(ns, vmIP)
	out, err := virsh(from, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", name, env["QN_LIBVIRT_MIGRATE_URI_"+strings.ToUpper(to)])
	if err == nil {
		t.Fatal("the refused migration succeeded")
	}
	t.Logf("refused migration: %s", strings.TrimSpace(out))
	virsh(to, "undefine", name)
	time.Sleep(500 * time.Millisecond)
	lost, gap := p.stop()
	t.Logf("during the refused migration: pings lost %d, longest gap %v", lost, gap.Round(time.Millisecond))
	if st, _ := virsh(from, "domstate", name); !strings.Contains(st, "running") {
		t.Fatalf("after a refused migration the VM is %q on the source", st)
	}
	testenv.WaitFor(t, 15*time.Second, func() bool {
		return nbGet(t, iface, "options:requested-chassis") == env["QN_CHASSIS_"+strings.ToUpper(from)]
	}, "after a refused migration the port is not the source's alone")
	if err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-W", "1", vmIP).Run(); err != nil {
		t.Fatal("after a refused migration the container cannot reach the VM")
	}
	sbAdd, _ := exec.Command("ovn-sbctl", "--db="+env["QN_SB_REMOTE"], "--bare", "--columns=additional_chassis", "find", "Port_Binding", "logical_port="+iface).CombinedOutput()
	if strings.TrimSpace(string(sbAdd)) != "" {
		t.Fatalf("after a refused migration the port is still bound on another chassis: %s", sbAdd)
	}
	// Undefined on the host it ended on: that host's daemon, following
	// libvirt's events, releases the port.
	virsh(from, "destroy", name)
	if out, err := virsh(from, "undefine", name); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	testenv.WaitFor(t, 15*time.Second, func() bool { return nbGet(t, iface, "addresses") == "" }, "the undefined VM's port was not released")
	_ = db
}
