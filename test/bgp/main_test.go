// Package bgp_test checks the daemons' BGP speakers against FRR as the
// top-of-rack router: one sandbox for the package (scripts/nhost.sh: three
// chassis a, b, c and the outside namespace on physnet1), FRR's bgpd and
// zebra in the outside namespace (AS 65000, graceful restart, their own
// config, pid and vty socket dir; zebra installs the BGP routes into the
// outside's kernel table), and one quantumnetd per host with [bgp]
// (AS 65001, listen port 10179) peering with it. A host behind the ToR
// (path_test.go) is cabled to the outside alone.
//
// Each chassis gets an address on the external network besides its br-ex
// port: a veth bgp0 in the host's namespace (192.0.2.21, .22, .23) whose
// peer is a port of the outside's br-out. That is the speaker's next_hop
// and the address FRR peers with; 2001:db8:ff::21-23 are its next_hop6
// (IPv6 unicast over the same session). The daemons run with
// expose_routes: they route what they announce onto br-ex (proto 250) and
// turn forwarding on; the test does nothing of that on the chassis.
package bgp_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/test/harness"
)

const (
	torASN   = 65000
	nodeASN  = 65001
	bgpPort  = 10179
	extNet   = "bgpext"
	outside  = "192.0.2.10"
	fipFirst = "192.0.2.100"
	fipLast  = "192.0.2.199"
)

var (
	nh = &harness.NHost{
		Dir: fmt.Sprintf("/tmp/qn-bgp-%d", os.Getpid()), Hosts: 3, Libvirt: []string{"a", "b"},
		NetnsPrefix: fmt.Sprintf("qnbg%d", os.Getpid()%100000), Vars: map[string]string{},
	}
	env = harness.New(harness.Setup{Name: "bgp", Root: true,
		Programs: []string{"ovn-controller", "ovn-nbctl", "vtysh", "/usr/lib/frr/bgpd", "/usr/lib/frr/zebra", "nsenter", "ethtool", "libvirtd", "qemu-system-x86_64"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl", "quantumnet-qemu-hook"}, Up: up})
	daemons = map[string]*harness.Daemon{}
	// addrs are the chassis' addresses on the external network, by host.
	addrs = map[string]string{}
	// addrs6 are their IPv6 addresses there (next_hop6).
	addrs6 = map[string]string{}
	frrDir string
)

func TestMain(m *testing.M) {
	code := env.Run(m)
	printBench()
	os.Exit(code)
}

func up(e *harness.Env) error {
	if out, err := e.Script(nil, "test-guest.sh", "build"); err != nil {
		return fmt.Errorf("test guest: %v\n%s", err, out)
	}
	out, _ := e.Script(nil, "test-guest.sh", "env")
	harness.ParseEnv(out, nh.Vars)
	nh.Hook = filepath.Join(e.Bin, "quantumnet-qemu-hook")
	if err := nh.Up(e); err != nil {
		return err
	}
	for i, h := range nh.Names() {
		addrs[h] = fmt.Sprintf("192.0.2.%d", 21+i)
		addrs6[h] = fmt.Sprintf("2001:db8:ff::%d", 21+i)
		if err := cable(e, h, addrs[h], addrs6[h]); err != nil {
			return err
		}
	}
	if err := startFRR(e); err != nil {
		return err
	}
	if err := behindHost(e); err != nil {
		return err
	}
	ds, err := nh.StartDaemons(nil, 30*time.Second, func(h string, c *harness.DaemonConfig) {
		c.Extra = fmt.Sprintf("\n[bgp]\nasn = %d\nrouter_id = %q\nnext_hop = %q\nnext_hop6 = %q\nlisten_port = %d\n"+
			"families = [\"ipv4\", \"ipv6\"]\nexpose_routes = true\nneighbors = [{ address = %q, asn = %d }]\n", nodeASN, addrs[h], addrs[h], addrs6[h], bgpPort, outside, torASN)
	})
	harness.StopAtClose(e, ds, daemons, 60)
	return err
}

// cable gives host h the address addr on the outside's bridge (a veth;
// it goes with the namespaces).
func cable(e *harness.Env, h, addr, addr6 string) error {
	hostNS, outNS := nh.Var("QN_NETNS_", h), nh.Vars["QN_OUTSIDE_NETNS"]
	peer := "bgpx-" + h
	for _, args := range [][]string{
		{"ip", "-n", hostNS, "link", "add", "bgp0", "type", "veth", "peer", "name", peer, "netns", outNS},
		{"ip", "-n", hostNS, "addr", "add", addr + "/24", "dev", "bgp0"},
		{"ip", "-n", hostNS, "addr", "add", addr6 + "/64", "dev", "bgp0", "nodad"},
		{"ip", "-n", hostNS, "link", "set", "bgp0", "up"},
		{"ip", "-n", outNS, "link", "set", peer, "master", "br-out", "up"},
	} {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// startFRR starts zebra and bgpd in the outside namespace with their own
// files in frrDir (zebra installs bgpd's best routes into the outside's
// kernel table); they are stopped when the package ends.
func startFRR(e *harness.Env) error {
	frrDir = filepath.Join(nh.Dir, "frr")
	if err := os.MkdirAll(frrDir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "frr defaults traditional\nhostname tor\n!\nrouter bgp %d\n bgp router-id %s\n no bgp ebgp-requires-policy\n"+
		" bgp graceful-restart\n bgp graceful-restart stalepath-time 300\n", torASN, outside)
	for _, h := range nh.Names() {
		fmt.Fprintf(&b, " neighbor %s remote-as %d\n neighbor %s timers connect 2\n", addrs[h], nodeASN, addrs[h])
	}
	b.WriteString(" address-family ipv6 unicast\n")
	for _, h := range nh.Names() {
		fmt.Fprintf(&b, "  neighbor %s activate\n", addrs[h])
	}
	b.WriteString(" exit-address-family\n!\n")
	if err := os.WriteFile(filepath.Join(frrDir, "bgpd.conf"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(frrDir, "zebra.conf"), []byte("hostname tor\n"), 0o644); err != nil {
		return err
	}
	zserv := filepath.Join(frrDir, "zserv.api")
	// zebra as the package's frr user (it insists on a user in the vty
	// group; it keeps its network capabilities), bgpd as root (-S), their
	// vty sockets in frrDir, bgpd talking to this zebra.
	if err := exec.Command("chown", "frr:frr", frrDir).Run(); err != nil {
		return fmt.Errorf("chown frr %s: %w", frrDir, err)
	}
	for _, d := range [][]string{
		{"/usr/lib/frr/zebra", "-u", "frr", "-g", "frr", "-z", zserv},
		{"/usr/lib/frr/bgpd", "-S", "-z", zserv},
	} {
		name := filepath.Base(d[0])
		cmd := nh.OutsideCmd(append(d, "--vty_socket", frrDir, "-i", filepath.Join(frrDir, name+".pid"),
			"-f", filepath.Join(frrDir, name+".conf"), "--log", "file:"+filepath.Join(frrDir, name+".log"), "-A", "127.0.0.1")...)
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		e.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if os.Getenv("QN_SHOW_LOGS") == "1" {
				fmt.Printf("FRR %s log (tail):\n%s\n", name, harness.TailFile(filepath.Join(frrDir, name+".log"), 40))
			}
		})
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(filepath.Join(frrDir, name+".vty")); err == nil {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := vtysh("show bgp summary"); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

// vtysh runs vtysh -c CMD against the test's FRR.
func vtysh(cmd string) (string, error) {
	out, err := nh.Outside("vtysh", "--vty_socket", frrDir, "-c", cmd)
	return out, err
}

// path is one of FRR's paths to a prefix.
type path struct {
	Valid    bool `json:"valid"`
	Best     bool `json:"bestpath"`
	Stale    bool `json:"stale"`
	Nexthops []struct {
		IP    string `json:"ip"`
		Scope string `json:"scope"`
	} `json:"nexthops"`
}

// rib is FRR's IPv4 unicast table: prefix → paths.
func rib(t testing.TB) map[string][]path { t.Helper(); return ribOf(t, "ipv4") }

// ribOf is FRR's unicast table of family (ipv4, ipv6): prefix → paths.
func ribOf(t testing.TB, family string) map[string][]path {
	t.Helper()
	r, err := ribErr(family)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// ribErr is ribOf, failing with an error (for pollers off the test's
// goroutine).
func ribErr(family string) (map[string][]path, error) {
	out, err := vtysh("show bgp " + family + " unicast json")
	if err != nil {
		return nil, fmt.Errorf("vtysh: %v\n%s", err, out)
	}
	var r struct {
		Routes map[string][]path `json:"routes"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("show bgp %s unicast json: %v\n%s", family, err, out)
	}
	return r.Routes, nil
}

// nextHops are the next hops of FRR's paths to prefix (none: no route).
// An IPv6 prefix is looked up in the ipv6 table, and only global next
// hops count.
func nextHops(t testing.TB, prefix string) []string {
	t.Helper()
	n, err := nextHopsErr(prefix)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// nextHopsErr is nextHops, failing with an error.
func nextHopsErr(prefix string) ([]string, error) {
	family := "ipv4"
	if strings.Contains(prefix, ":") {
		family = "ipv6"
	}
	r, err := ribErr(family)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range r[prefix] {
		for _, n := range p.Nexthops {
			if n.Scope != "link-local" {
				out = append(out, n.IP)
			}
		}
	}
	return out, nil
}
