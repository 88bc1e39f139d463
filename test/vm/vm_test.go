// Package vm_test runs VMs on QuantumNet networks end to end: the OVN
// sandbox, a real libvirtd with the quantumnet qemu hook installed, QEMU
// (TCG) booting a small Linux guest that gets its address by OVN's DHCP,
// and a container attached by the CNI plugin on the same network. Root and
// libvirt are needed; without them it skips, except under CI=true.
package vm_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

const (
	chassis  = "chassis-vm"
	hookPath = "/etc/libvirt/hooks/qemu.d/quantumnet"
)

var (
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-vm-%d", os.Getpid()), Chassis: chassis,
		Env: []string{fmt.Sprintf("QN_LIBVIRT_DIR=/tmp/qn-vm-%d-libvirt", os.Getpid())}}
	env = harness.New(harness.Setup{Name: "vm", Root: true, Locks: []string{harness.LockSystemLibvirt}, Programs: []string{"ovn-controller", "libvirtd", "qemu-system-x86_64"},
		Check: libvirtFree, Up: up})
	kernel, initrd string // the test guest
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// libvirtFree: a libvirtd already answering on the system socket is
// someone else's (libvirtds of other tests keep their sockets private).
func libvirtFree() string {
	if err := exec.Command("virsh", "-c", "qemu:///system", "version").Run(); err == nil {
		return "a libvirtd is already running; the VM tests need their own"
	}
	return ""
}

// up builds the test guest, starts the sandbox, installs the hook and
// starts the test's libvirtd.
func up(e *harness.Env) error {
	if _, err := os.Stat(hookPath); err == nil {
		return fmt.Errorf("%s exists; not overwriting an installed hook", hookPath)
	}
	if out, err := e.Script(nil, "test-guest.sh", "build"); err != nil {
		return fmt.Errorf("test guest: %v\n%s", err, out)
	}
	out, _ := e.Script(nil, "test-guest.sh", "env")
	genv := harness.ParseEnv(out, nil)
	kernel, initrd = genv["QN_GUEST_KERNEL"], genv["QN_GUEST_INITRD"]
	if err := sbx.Up(e); err != nil {
		return err
	}
	// The hook, as libvirt runs it (a clean environment): a wrapper that
	// points it at this test's daemon socket.
	if err := os.MkdirAll(filepath.Dir(hookPath), 0o755); err != nil {
		return err
	}
	wrapper := fmt.Sprintf("#!/bin/sh\nQUANTUMNET_SOCKET=%s exec %s/quantumnet-qemu-hook \"$@\"\n", daemonSocket(), e.Bin)
	e.Cleanup(func() { os.Remove(hookPath) })
	if err := os.WriteFile(hookPath, []byte(wrapper), 0o755); err != nil {
		return err
	}
	e.Cleanup(func() { sbx.Script("libvirt-sandbox.sh", "down") })
	if out, err := sbx.Script("libvirt-sandbox.sh", "up"); err != nil {
		return fmt.Errorf("libvirt up: %v\n%s", err, out)
	}
	return nil
}

// daemonConfig is quantumnetd on the sandbox, following libvirt, its files
// (qd.sock, qd.toml, qd.log) in the sandbox's directory.
func daemonConfig() harness.DaemonConfig {
	c := sbx.DaemonConfig()
	c.Bin, c.Dir, c.Name, c.Libvirt = env.Bin, sbx.Dir, "qd", "qemu:///system"
	c.Socket = daemonSocket()
	return c
}

// daemonSocket is where the hook, the CNI plugin and qnetctl reach quantumnetd.
func daemonSocket() string { return sbx.Dir + "/qd.sock" }

// startDaemon starts quantumnetd and waits until it is ready.
func startDaemon(t *testing.T) *harness.Daemon {
	t.Helper()
	d := harness.LaunchDaemon(t, daemonConfig())
	d.MustReady()
	return d
}

func virsh(args ...string) (string, error) {
	out, err := exec.Command("virsh", append([]string{"-c", "qemu:///system"}, args...)...).CombinedOutput()
	return string(out), err
}

func nbctl(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ovn-nbctl", append([]string{"--db=" + sbx.NB()}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ovn-nbctl %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

type guest struct {
	name, iface, mac, console string
	groups                    string // security-groups in the metadata
	lookup                    string // names the guest resolves (qnlookup=)
	dhcp6                     bool   // the guest runs DHCPv6 (qndhcp6=1)
}

func domainXML(g guest, network, ping string) string {
	return fmt.Sprintf(`<domain type='qemu'>
  <name>%[1]s</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <metadata>
    <quantumnet:network xmlns:quantumnet="https://quantumnet.dev/xmlns/libvirt-domain/1">
      <quantumnet:interface id="%[2]s" network="%[3]s"%[9]s/>
    </quantumnet:network>
  </metadata>
  <features><acpi/></features>
  <os><type arch='x86_64'>hvm</type><kernel>%[5]s</kernel><initrd>%[6]s</initrd>
    <cmdline>console=ttyS0 qnping=%[4]s%[10]s</cmdline></os>
  <devices>
    <interface type='bridge'>
      <source bridge='br-int'/>
      <virtualport type='openvswitch'><parameters interfaceid='%[2]s'/></virtualport>
      <mac address='%[7]s'/>
      <model type='virtio'/>
      <driver name='qemu'><host csum='off'/></driver>
    </interface>
    <serial type='pty'><log file='%[8]s' append='off'/></serial>
    <console type='pty'/>
  </devices>
</domain>`, g.name, g.iface, network, ping, kernel, initrd, g.mac, g.console, groupsAttr(g.groups), lookupArg(g.lookup)+dhcp6Arg(g.dhcp6))
}

func dhcp6Arg(on bool) string {
	if on {
		return " qndhcp6=1"
	}
	return ""
}

func lookupArg(names string) string {
	if names == "" {
		return ""
	}
	return " qnlookup=" + names
}

func groupsAttr(groups string) string {
	if groups == "" {
		return ""
	}
	return fmt.Sprintf(" security-groups=%q", groups)
}

func define(t *testing.T, g guest, network, ping string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), g.name+".xml")
	os.WriteFile(path, []byte(domainXML(g, network, ping)), 0o644)
	if out, err := virsh("define", path); err != nil {
		t.Fatalf("virsh define: %v\n%s", err, out)
	}
	t.Cleanup(func() { virsh("destroy", g.name); virsh("undefine", g.name) })
}

var ipLine = regexp.MustCompile(`QNGUEST IP=([0-9.]+)/`)

// consoleIP waits for the guest to report its DHCP address (after since bytes of the log).
func consoleIP(t *testing.T, g guest) string {
	t.Helper()
	var ip string
	ovsdbtest.Eventually(t, 90*time.Second, func() bool {
		b, _ := os.ReadFile(g.console)
		if m := ipLine.FindAllStringSubmatch(string(b), -1); len(m) > 0 {
			ip = m[len(m)-1][1]
			return true
		}
		return strings.Contains(string(b), "DHCP FAILED")
	}, "the guest never reported a DHCP address")
	if ip == "" {
		b, _ := os.ReadFile(g.console)
		t.Fatalf("guest DHCP failed:\n%s", harness.Tail(string(b), 20))
	}
	return ip
}

func pingsOK(t *testing.T, g guest, target string, n int) {
	t.Helper()
	re := regexp.MustCompile(`QNGUEST PING ` + regexp.QuoteMeta(target) + ` OK`)
	ovsdbtest.Eventually(t, 60*time.Second, func() bool {
		b, _ := os.ReadFile(g.console)
		return len(re.FindAllIndex(b, -1)) >= n
	}, "the guest does not reach "+target)
}

func containerPing(t *testing.T, ns, ip string) error {
	out, err := exec.Command("ip", "netns", "exec", ns, "ping", "-c", "3", "-i", "0.2", "-W", "2", ip).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %v\n%s", ip, ns, err, out)
	}
	return nil
}

func portAddr(t *testing.T, iface string) string {
	f := strings.Fields(strings.Trim(nbctl(t, "--bare", "--columns=addresses", "find", "Logical_Switch_Port", "name="+iface), `"`))
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// TestVMAndContainer is the user story of VMs on QuantumNet.
func TestVMAndContainer(t *testing.T) {
	env.Require(t)
	d := startDaemon(t)
	if out, err := d.Qnetctl("network", "create", "vmnet", "--subnet4", "10.210.0.0/24", "--subnet6", "fd00:210::/64"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { d.Qnetctl("network", "delete", "vmnet") })
	// A static binding (IPAM): the VM's MAC gets 10.210.0.77 by DHCP.
	if out, err := d.Qnetctl("ipam", "reserve", "vmnet", "--owner", "vm1-static", "--address", "10.210.0.77", "--mac", "52:54:00:21:00:01"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	ns, ctrIP := vmContainer(t)

	// The VM is in a security group without rules: DHCP still works (it is
	// never blocked), its own pings go out, nothing comes in.
	if out, err := d.Qnetctl("sg", "create", "vmsg"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	t.Cleanup(func() { d.Qnetctl("sg", "delete", "vmsg") })
	g := guest{name: "qn-test-vm1", iface: harness.UUID(), mac: "52:54:00:21:00:01", console: sbx.Dir + "/vm1.console", groups: "vmsg",
		lookup: "vmctr.quantix.local", dhcp6: true}
	define(t, g, "vmnet", ctrIP)
	if out, err := virsh("start", g.name); err != nil {
		t.Fatalf("virsh start: %v\n%s", err, out)
	}
	ip := consoleIP(t, g)
	if want := portAddr(t, g.iface); ip != want || ip != "10.210.0.77" {
		t.Fatalf("the guest got %s by DHCP, IPAM assigned %s, the static binding is 10.210.0.77", ip, want)
	}
	t.Logf("the guest got %s by DHCP from OVN; the container is %s", ip, ctrIP)
	resolver := checkGuestNames(t, d, g, ns, ip, ctrIP)
	checkGuestGroup(t, d, g, ns, ip, ctrIP)
	checkGuestRestarts(t, d, g, ns, ip, ctrIP)
	checkGuestRename(t, &g, ns, resolver, ip)

	// Undefined: the port and the address are released (libvirt event).
	if out, err := virsh("undefine", g.name); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	ovsdbtest.Eventually(t, 15*time.Second, func() bool { return portAddr(t, g.iface) == "" }, "the undefined VM's port was not released")
	if out, _ := d.Qnetctl("ipam", "show", "vmnet"); !regexp.MustCompile(`10\.210\.0\.0/24\s+\S+\s+256\s+3\s+`).MatchString(out) {
		t.Fatalf("after undefine only the container, the network's resolver and the static binding should hold an address:\n%s", out)
	}
}

// vmContainer puts a container (NAME=vmctr) on vmnet through the CNI
// plugin: its namespace's name and its address.
func vmContainer(t *testing.T) (ns, ip string) {
	t.Helper()
	ns = harness.NsName(harness.Netns(t, "vm-c"))
	cni, err := harness.NewCNI(t, env.Bin, harness.ConfList("vmnet", "vmnet", daemonSocket(), ""))
	if err != nil {
		t.Fatal(err)
	}
	rt := harness.RT("vm-ctr", "/var/run/netns/"+ns, "eth0")
	rt.Args = [][2]string{{"IgnoreUnknown", "1"}, {"NAME", "vmctr"}}
	r, err := cni.Config.AddNetworkList(context.Background(), cni.List, rt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cni.Config.DelNetworkList(context.Background(), cni.List, rt) })
	cres, _ := current.NewResultFromResult(r)
	return ns, cres.IPs[0].Address.IP.String()
}

// checkGuestNames: the lease carries the network's options; the guest
// resolves the container's name through the resolver its lease names, and
// the container the VM's; DHCPv6 and router advertisements configure IPv6.
// It returns the network's IPv4 resolver.
func checkGuestNames(t *testing.T, d *harness.Daemon, g guest, ns, ip, ctrIP string) string {
	t.Helper()
	resolver, resolver6 := networkResolvers(t, d, "vmnet")
	if got := dig(ns, resolver, "vmctr.quantix.local"); got != ctrIP {
		t.Fatalf("the container resolves its own name (NAME=vmctr) to %q, want %s", got, ctrIP)
	}
	leaseRE := regexp.MustCompile(`QNGUEST IP=` + regexp.QuoteMeta(ip) + `/24 GW=10\.210\.0\.1 DNS=` + regexp.QuoteMeta(resolver) + ` MTU=1400 DOMAIN=quantix\.local`)
	if b, _ := os.ReadFile(g.console); !leaseRE.Match(b) {
		t.Fatalf("the guest's lease lacks the network's options (want %s):\n%s", leaseRE, harness.Tail(string(b), 15))
	}
	lookedUp := func() bool {
		b, _ := os.ReadFile(g.console)
		return strings.Contains(string(b), "QNGUEST LOOKUP vmctr.quantix.local OK "+ctrIP)
	}
	if !ovsdbtest.Until(context.Background(), 60*time.Second, lookedUp) {
		t.Fatalf("the guest does not resolve vmctr.quantix.local to the container:\n%s", consoleTail(g, 30))
	}
	// And the container resolves the VM's name.
	ovsdbtest.Eventually(t, 10*time.Second, func() bool { return dig(ns, resolver, g.name+".quantix.local") == ip }, "the container does not resolve the VM's name")
	// Dual stack by itself: DHCPv6 gives the port's IPv6 address and the
	// resolver, a router advertisement the default route.
	ip6 := portAddr6(t, g.iface)
	re6 := regexp.MustCompile(`QNGUEST IP6=` + regexp.QuoteMeta(ip6) + ` DNS6=` + regexp.QuoteMeta(resolver6) + ` RA=default via fe80::`)
	ovsdbtest.Until(context.Background(), 30*time.Second, func() bool { b, _ := os.ReadFile(g.console); return re6.Match(b) })
	b, _ := os.ReadFile(g.console)
	if !re6.Match(b) {
		t.Fatalf("the guest did not configure IPv6 by DHCPv6 and router advertisements (want %s):\n%s", re6, consoleTail(g, 25))
	}
	if m := regexp.MustCompile(`QNGUEST IP6=.*`).Find(b); m != nil {
		t.Logf("%s", strings.TrimSpace(string(m)))
	}
	return resolver
}

// checkGuestGroup: the guest's pings go out; its port is in the metadata's
// group, which without rules lets nothing in, and with the icmp preset
// lets the container's ping in.
func checkGuestGroup(t *testing.T, d *harness.Daemon, g guest, ns, ip, ctrIP string) {
	t.Helper()
	pingsOK(t, g, ctrIP, 3)
	if out, _ := d.Qnetctl("port", "show", g.iface); !regexp.MustCompile(`security groups:\s+vmsg\n`).MatchString(out) {
		t.Fatalf("the VM port is not in the metadata's group:\n%s", out)
	}
	if err := containerPing(t, ns, ip); err == nil {
		t.Fatal("the container pings a VM whose group has no rules")
	}
	if out, err := d.Qnetctl("sg", "preset", "add", "vmsg", "icmp"); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if err := containerPing(t, ns, ip); err != nil {
		t.Fatalf("with the icmp preset: %v", err)
	}
}

// checkGuestRestarts: the guest shut down (ACPI) and started again keeps
// its address; quantumnetd and libvirtd restarting do not disturb it.
func checkGuestRestarts(t *testing.T, d *harness.Daemon, g guest, ns, ip, ctrIP string) {
	t.Helper()
	if out, err := virsh("shutdown", g.name); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	ovsdbtest.Eventually(t, 60*time.Second, func() bool { out, _ := virsh("domstate", g.name); return strings.Contains(out, "shut off") }, "the guest did not shut down")
	if b, _ := os.ReadFile(g.console); !strings.Contains(string(b), "QNGUEST POWEROFF") {
		t.Fatal("the guest did not power off through ACPI")
	}
	if portAddr(t, g.iface) != ip {
		t.Fatal("a shut-off VM lost its address")
	}
	if out, err := virsh("start", g.name); err != nil {
		t.Fatalf("virsh start again: %v\n%s", err, out)
	}
	if ip2 := consoleIP(t, g); ip2 != ip {
		t.Fatalf("after a restart the guest got %s, before %s", ip2, ip)
	}
	pingsOK(t, g, ctrIP, 3)

	// quantumnetd restarts: the running VM is not disturbed.
	d.Stop()
	d.MustStart()
	d.MustReady()
	if err := containerPing(t, ns, ip); err != nil {
		t.Fatalf("after a daemon restart: %v", err)
	}

	// libvirtd restarts (the reconnect hook): the VM keeps running, connected.
	if out, err := restartLibvirtd(); err != nil {
		t.Fatalf("libvirtd restart: %v\n%s", err, out)
	}
	if out, _ := virsh("domstate", g.name); !strings.Contains(out, "running") {
		t.Fatalf("after a libvirtd restart the VM is %q", out)
	}
	if err := containerPing(t, ns, ip); err != nil {
		t.Fatalf("after a libvirtd restart: %v", err)
	}
}

// checkGuestRename: renamed (shut off), the VM's DNS name follows within a
// second and its port stays.
func checkGuestRename(t *testing.T, g *guest, ns, resolver, ip string) {
	t.Helper()
	virsh("destroy", g.name)
	if out, err := virsh("domrename", g.name, "qn-test-vm1b"); err != nil {
		t.Fatalf("virsh domrename: %v\n%s", err, out)
	}
	g.name = "qn-test-vm1b"
	t.Cleanup(func() { virsh("undefine", "qn-test-vm1b") })
	start := time.Now()
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return dig(ns, resolver, "qn-test-vm1b.quantix.local") == ip && dig(ns, resolver, "qn-test-vm1.quantix.local") == ""
	}, "the renamed VM's DNS name did not follow")
	t.Logf("rename visible in DNS after %v", time.Since(start))
	if portAddr(t, g.iface) != ip {
		t.Fatal("a renamed VM lost its port")
	}
}

// TestVMBadNetwork: a NIC naming an unknown network keeps the VM from
// starting with a readable libvirt error, and leaves nothing behind.
func TestVMBadNetwork(t *testing.T) {
	env.Require(t)
	startDaemon(t)
	g := guest{name: "qn-test-bad", iface: harness.UUID(), mac: "52:54:00:21:00:09", console: sbx.Dir + "/bad.console"}
	define(t, g, "nosuchnet", "10.0.0.1")
	out, err := virsh("start", g.name)
	if err == nil {
		t.Fatal("a VM with a NIC on an unknown network started")
	}
	t.Logf("virsh start says: %s", strings.TrimSpace(out))
	if !strings.Contains(out, "nosuchnet") || !strings.Contains(out, g.name) {
		t.Fatalf("libvirt's error does not say what is wrong:\n%s", out)
	}
	if a := portAddr(t, g.iface); a != "" {
		t.Fatalf("a port was left behind: %s", a)
	}
	if ports := nbctl(t, "--bare", "--columns=name", "find", "Logical_Switch_Port", "name="+g.iface); ports != "" {
		t.Fatalf("logical port left: %s", ports)
	}
	if taps, _ := exec.Command("ovs-vsctl", "--db="+sbx.OVS(), "list-ports", "br-int").Output(); strings.Contains(string(taps), "vnet") {
		t.Fatalf("a tap was left on br-int: %s", taps)
	}
}

// restartLibvirtd stops the libvirtd the sandbox started (QEMU processes
// survive it) and starts it again.
func restartLibvirtd() (string, error) {
	pidFile := sbx.Dir + "-libvirt/libvirtd.pid"
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return "", err
	}
	var pid int
	fmt.Sscan(strings.TrimSpace(string(b)), &pid)
	syscall.Kill(pid, syscall.SIGTERM)
	ovsdbtest.Until(context.Background(), 10*time.Second, func() bool { // gone, or a zombie
		st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		return err != nil || strings.Contains(string(st), ") Z")
	})
	return sbx.Script("libvirt-sandbox.sh", "up")
}

// dig resolves name (A) from a namespace through server ("" if nothing).
func dig(ns, server, name string) string {
	out, _ := exec.Command("ip", "netns", "exec", ns, "dig", "+short", "+tries=1", "+time=2", "@"+server, name, "A").CombinedOutput()
	return strings.TrimSpace(string(out))
}

// consoleTail is the end of the guest's console without its ping lines.
func consoleTail(g guest, n int) string {
	b, _ := os.ReadFile(g.console)
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, "QNGUEST PING") {
			lines = append(lines, l)
		}
	}
	return harness.Tail(strings.Join(lines, "\n"), n)
}

// portAddr6 is the IPv6 address of a logical port.
func portAddr6(t *testing.T, iface string) string {
	for _, f := range strings.Fields(strings.Trim(nbctl(t, "--bare", "--columns=addresses", "find", "Logical_Switch_Port", "name="+iface), `"`)) {
		if a, err := netip.ParseAddr(f); err == nil && a.Is6() {
			return f
		}
	}
	return ""
}

// networkResolvers are a network's resolver addresses, IPv4 and IPv6.
func networkResolvers(t *testing.T, d *harness.Daemon, network string) (v4, v6 string) {
	t.Helper()
	out, err := d.Qnetctl("-o", "json", "network", "show", network)
	if err != nil {
		t.Fatalf("%v %s", err, out)
	}
	var n struct {
		Resolvers []string `json:"resolvers"`
	}
	if err := json.Unmarshal([]byte(out), &n); err != nil {
		t.Fatal(err)
	}
	for _, a := range n.Resolvers {
		if strings.Contains(a, ":") {
			v6 = a
		} else {
			v4 = a
		}
	}
	if v4 == "" {
		t.Fatalf("network %s has no IPv4 resolver:\n%s", network, out)
	}
	return v4, v6
}
