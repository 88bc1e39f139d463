// Package migration_test moves a VM between two hosts with a real
// `virsh migrate --live` while a container on the other host pings it every
// 10 ms: two chassis (scripts/nhost.sh with two hosts: network namespaces
// with their own OVS, ovn-controller and libvirtd, one central NB/SB, and
// the outside network), one quantumnetd per host, the qemu hook installed
// on both. A VM with a floating IP migrates while the outside pings it.
// Root, OVN and libvirt are needed; without them it skips, except under
// CI=true.
package migration_test

import (
	"bufio"
	"context"
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

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	// Two hosts with libvirtd and the outside network (for the floating IP
	// that follows a migration).
	th = &harness.NHost{Dir: fmt.Sprintf("/tmp/qn-mig-%d", os.Getpid()), Hosts: 2,
		NetnsPrefix: fmt.Sprintf("qnmig%d", os.Getpid()%100000), Vars: map[string]string{}}
	env = harness.New(harness.Setup{Name: "migration", Root: true,
		Programs: []string{"ovn-controller", "libvirtd", "qemu-system-x86_64", "nsenter"}, Up: up})
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// up builds the test guest and brings the two hosts up with the hook.
func up(e *harness.Env) error {
	if out, err := e.Script(nil, "test-guest.sh", "build"); err != nil {
		return fmt.Errorf("test guest: %v\n%s", err, out)
	}
	out, _ := e.Script(nil, "test-guest.sh", "env")
	harness.ParseEnv(out, th.Vars)
	th.Hook = filepath.Join(e.Bin, "quantumnet-qemu-hook")
	return th.Up(e)
}

// startDaemon starts host's quantumnetd and waits until it is ready.
func startDaemon(t *testing.T, host string) *harness.Daemon {
	t.Helper()
	c := th.DaemonConfig(host)
	c.HTTPListen = metricsAddr // in the host's network namespace
	d := harness.LaunchDaemon(t, c)
	if err := d.WaitReady(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return d
}

func virsh(host string, args ...string) (string, error) { return th.Virsh(host, args...) }

// metricsAddr is where each host's daemon serves /metrics.
const metricsAddr = "127.0.0.1:9476"

var gapRE = regexp.MustCompile(`(?m)^quantumnet_migration_network_gap_seconds_(sum|count) (\S+)$`)

// networkGap is host's quantumnet_migration_network_gap_seconds: how many
// incoming migrations it measured and their sum.
func networkGap(t *testing.T, host string) (count int, sum time.Duration) {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", th.Vars["QN_NETNS_"+strings.ToUpper(host)], "curl", "-sf", "http://"+metricsAddr+"/metrics").CombinedOutput()
	if err != nil {
		t.Fatalf("scraping host %s's metrics: %v %s", host, err, out)
	}
	for _, m := range gapRE.FindAllStringSubmatch(string(out), -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "count" {
			count = int(v)
		} else {
			sum = time.Duration(v * float64(time.Second))
		}
	}
	return count, sum
}

func nbGet(t *testing.T, port, col string) string {
	out, _ := exec.Command("ovn-nbctl", "--db="+th.Vars["QN_NB_REMOTE"], "--if-exists", "get", "Logical_Switch_Port", port, col).CombinedOutput()
	return strings.Trim(strings.TrimSpace(string(out)), `"`)
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

// guestTCPPort is where the test guest answers TCP connections.
const guestTCPPort = harness.GuestTCPPort

// vmXML is the domain of the test guest with one NIC on network (the
// interface id iface, the MAC mac), pinging ping from inside and answering
// TCP on guestTCPPort, its serial console logged to console.
func vmXML(name, iface, mac, network, ping, console string) string {
	return harness.Guest{Name: name, Iface: iface, Network: network, MAC: mac, Cmdline: fmt.Sprintf("qnping=%s qntcp=%d", ping, guestTCPPort),
		Kernel: th.Vars["QN_GUEST_KERNEL"], Initrd: th.Vars["QN_GUEST_INITRD"], Console: console}.XML()
}

var downtimeRE = regexp.MustCompile(`Total downtime:\s+(\d+)\s+ms`)

// TestLiveMigration: a VM moves between the hosts several times, both ways,
// while a container on host B pings it every 10 ms; its address, MAC and
// DHCP stay; the port ends on the destination alone each time; a failed
// migration leaves the VM on the source, connected, nothing bound on the
// destination.
func TestLiveMigration(t *testing.T) {
	env.Require(t)
	da, db := startDaemon(t, "a"), startDaemon(t, "b")
	if out, err := da.Qnetctl("network", "create", "mignet", "--subnet4", "10.211.0.0/24"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { da.Qnetctl("network", "delete", "mignet") })
	ns, ctrIP := migContainer(t, db)
	v := bootMigVM(t, ns, ctrIP)
	v.lookup = nameLookup(t, da, v)

	from := "a"
	for i := 0; i < 4; i++ {
		to := map[string]string{"a": "b", "b": "a"}[from]
		migrateOnce(t, da, v, i, from, to)
		from = to
	}
	refusedMigration(t, v, from)

	name, iface := v.name, v.iface
	// Undefined on the host it ended on: that host's daemon, following
	// libvirt's events, releases the port.
	virsh(from, "destroy", name)
	if out, err := virsh(from, "undefine", name); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	ovsdbtest.Eventually(t, 15*time.Second, func() bool { return nbGet(t, iface, "addresses") == "" }, "the undefined VM's port was not released")
}

// migVM is TestLiveMigration's VM, and the container on host B that
// pings it.
type migVM struct {
	name, iface string
	xml         string        // its domain XML
	ip, addrs   string        // its address by DHCP, its port's addresses
	ns          string        // the container's network namespace
	lookup      func() string // its name resolved from the container
}

// migContainer is a container on host B, attached by its daemon db through
// the CNI plugin: its network namespace and address.
func migContainer(t *testing.T, db *harness.Daemon) (ns, ctrIP string) {
	ns = fmt.Sprintf("qnmig-c-%d", os.Getpid())
	exec.Command("ip", "netns", "add", ns).Run()
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	holder := exec.Command("ip", "netns", "exec", ns, "sleep", "infinity")
	holder.Start()
	t.Cleanup(func() { holder.Process.Kill(); holder.Wait() })
	netnsPath := fmt.Sprintf("/proc/%d/ns/net", holder.Process.Pid) // visible inside the host's mount namespace
	cni, err := harness.NewCNI(t, env.Bin, harness.ConfList("mignet", "mignet", db.ClientSocket, ""))
	if err != nil {
		t.Fatal(err)
	}
	rt := harness.RT("mig-ctr", netnsPath, "eth0")
	r, err := cni.Config.AddNetworkList(context.Background(), cni.List, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cni.Config.DelNetworkList(context.Background(), cni.List, rt) })
	cres, _ := current.NewResultFromResult(r)
	ctrIP = cres.IPs[0].Address.IP.String()
	return ns, ctrIP
}

// bootMigVM starts the VM on host A, pinging ctrIP, and waits until it has
// its address by DHCP and the container in ns reaches it.
func bootMigVM(t *testing.T, ns, ctrIP string) *migVM {
	name, iface, mac := "qn-test-mig", harness.UUID(), "52:54:00:21:11:01"
	console := filepath.Join(th.Dir, "mig.console")
	xml := vmXML(name, iface, mac, "mignet", ctrIP, console)
	xmlPath := filepath.Join(th.Dir, "mig.xml")
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
	vmIP := harness.GuestIP(t, console, 90*time.Second)
	addrs := nbGet(t, iface, "addresses")
	if !strings.Contains(addrs, vmIP) || !strings.Contains(addrs, mac) {
		t.Fatalf("VM DHCP address %s, port addresses %s", vmIP, addrs)
	}
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", ns, "ping", "-c", "1", "-W", "1", vmIP).Run() == nil
	}, "the container on host B cannot reach the VM on host A")
	return &migVM{name: name, iface: iface, xml: xml, ip: vmIP, addrs: addrs, ns: ns}
}

// nameLookup checks that the VM's name resolves from the container on
// host B (a resolver runs on every chassis) and returns that lookup.
func nameLookup(t *testing.T, da *harness.Daemon, v *migVM) func() string {
	name, ns, vmIP := v.name, v.ns, v.ip
	netJSON, _ := da.Qnetctl("-o", "json", "network", "show", "mignet")
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
	return lookup
}

// migrateOnce is the i-th live migration of v, from host from to host to,
// while the container pings it: the port ends on the destination alone,
// the VM runs there with its addresses, reachable and resolvable.
func migrateOnce(t *testing.T, da *harness.Daemon, v *migVM, i int, from, to string) {
	name, iface, ns, vmIP, addrs, lookup := v.name, v.iface, v.ns, v.ip, v.addrs, v.lookup
	gaps0, gapSum0 := networkGap(t, to)
	w := watchPort(t, da, "mignet", iface)
	p := startPing(ns, vmIP)
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now()
	out, err := virsh(from, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", name, th.Vars["QN_LIBVIRT_MIGRATE_URI_"+strings.ToUpper(to)])
	took := time.Since(t0)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return nbGet(t, iface, "options:requested-chassis") == th.Vars["QN_CHASSIS_"+strings.ToUpper(to)]
	}, "after the migration the port is not the destination's alone: "+nbGet(t, iface, "options:requested-chassis"))
	time.Sleep(300 * time.Millisecond)
	lost, gap := p.stop()
	if err != nil {
		t.Fatalf("migrate %s->%s: %v\n%s", from, to, err, out)
	}
	job, _ := virsh(to, "domjobinfo", "--completed", "--keep-completed", name) // the daemon reads them too
	downtime, paused := "?", time.Duration(0)
	if m := downtimeRE.FindStringSubmatch(job); m != nil {
		downtime = m[1] + " ms"
		ms, _ := strconv.Atoi(m[1])
		paused = time.Duration(ms) * time.Millisecond
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
	// The network's gap is bounded by the VM's own pause (QEMU's downtime,
	// seconds on a loaded machine under TCG) plus 3 s.
	if gap > paused+3*time.Second {
		t.Fatalf("the network was gone for %v (QEMU paused the VM for %v)", gap, paused)
	}
	checkMigrationStream(t, w, from, to)
	// The destination's daemon measured the gap (QEMU's downtime, then its
	// ports active there): once, positive, within the same bound.
	var gaps int
	var measured time.Duration
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { gaps, measured = networkGap(t, to); return gaps > gaps0 }, "host "+to+" measured no network gap")
	measured -= gapSum0
	t.Logf("migration %d: network gap measured by host %s's daemon %v", i+1, to, measured.Round(time.Millisecond))
	if gaps != gaps0+1 || measured <= 0 || measured > paused+3*time.Second {
		t.Fatalf("host %s's network gap metric: %d more observations, %v; want 1, in (0, %v]", to, gaps-gaps0, measured, paused+3*time.Second)
	}
	if err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "2", "-W", "1", vmIP).Run(); err != nil {
		t.Fatalf("after migrating to %s the container cannot reach the VM", to)
	}
	if got := lookup(); got != vmIP {
		t.Fatalf("after migrating to %s, %s.quantix.local resolves to %q, want %s", to, name, got, vmIP)
	}
	show, _ := da.Qnetctl("port", "show", iface)
	if !regexp.MustCompile(`requested chassis:\s+`+th.Vars["QN_CHASSIS_"+strings.ToUpper(to)]+`\n`).MatchString(show) ||
		!regexp.MustCompile(`bound to:\s+`+th.Vars["QN_CHASSIS_"+strings.ToUpper(to)]).MatchString(show) || !strings.Contains(show, "vm:") {
		t.Fatalf("qnetctl port show after migrating to %s:\n%s", to, show)
	}
}

// refusedMigration is a migration of v from host from that the
// destination refuses (a domain of that name exists there): the VM stays
// on the source, connected, nothing bound there.
func refusedMigration(t *testing.T, v *migVM, from string) {
	name, iface, ns, vmIP, xml := v.name, v.iface, v.ns, v.ip, v.xml
	to := map[string]string{"a": "b", "b": "a"}[from]
	blocker := strings.Replace(strings.Replace(xml, "<name>"+name, "<name>"+name, 1), iface, harness.UUID(), 2)
	blocker = strings.Replace(blocker, "<domain type='qemu'>", "<domain type='qemu'><uuid>"+harness.UUID()+"</uuid>", 1)
	bp := filepath.Join(th.Dir, "blocker.xml")
	os.WriteFile(bp, []byte(strings.Replace(blocker, "qnping=", "qnx=", 1)), 0o644)
	if out, err := virsh(to, "define", bp); err != nil {
		t.Fatalf("define blocker: %v %s", err, out)
	}
	p := startPing(ns, vmIP)
	out, err := virsh(from, "migrate", "--live", "--p2p", "--persistent", "--undefinesource", name, th.Vars["QN_LIBVIRT_MIGRATE_URI_"+strings.ToUpper(to)])
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
	ovsdbtest.Eventually(t, 15*time.Second, func() bool {
		return nbGet(t, iface, "options:requested-chassis") == th.Vars["QN_CHASSIS_"+strings.ToUpper(from)]
	}, "after a refused migration the port is not the source's alone")
	if err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-W", "1", vmIP).Run(); err != nil {
		t.Fatal("after a refused migration the container cannot reach the VM")
	}
	sbAdd, _ := exec.Command("ovn-sbctl", "--db="+th.Vars["QN_SB_REMOTE"], "--bare", "--columns=additional_chassis", "find", "Port_Binding", "logical_port="+iface).CombinedOutput()
	if strings.TrimSpace(string(sbAdd)) != "" {
		t.Fatalf("after a refused migration the port is still bound on another chassis: %s", sbAdd)
	}
}
