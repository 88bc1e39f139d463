package northsouth_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// bastionShow is `bastion show -o json`.
type bastionShow struct {
	Endpoint string `json:"endpoint"`
	Active   string `json:"active_chassis"`
	Peers    []struct {
		Name      string `json:"name"`
		Address   string `json:"address"`
		Handshake string `json:"last_handshake_unix"`
	} `json:"peers"`
}

// TestBastion: an operator in the outside namespace runs an independent
// WireGuard peer (wireguard-go built from the module's main package, set
// up with wireguard-tools' wg from the config qnetctl printed), reaches a
// container on its granted network through the bastion on the router's
// active gateway chassis (ping, and TCP: the container sees the peer's
// tunnel address), is refused on a network it routes into the tunnel
// without a grant, is refused by a security group that excludes the
// bastion's peers while another source gets through, is let in by a rule
// from sg:bastion-NAME, and is cut once the peer is removed. The router's
// gateway cannot be cleared, nor the bastion deleted while a rule names
// its peers.
func TestBastion(t *testing.T) {
	requireRouter(t)
	if _, err := exec.LookPath("wg"); err != nil {
		t.Skip("wg (wireguard-tools) is not installed: scripts/deps.sh")
	}
	external(t)
	network(t, "nsbblue", "10.231.8.0/24")
	network(t, "nsbred", "10.231.9.0/24")
	newRouter(t, "nsbr", "nsbblue", "nsbred")
	setGateway(t, "nsbr")
	blue := newContainer(t, "b", "bst-blue", "nsbblue")
	red := newContainer(t, "c", "bst-red", "nsbred")
	guest := startVM(t, "qn-ns-bastion", "nsbblue") // boots while the test goes on
	qn(t, "bastion", "create", "nsb1", "--router", "nsbr")
	later(t, "bastion", "delete", "nsb1")
	qnFails(t, []string{"networks", "nope"}, "bastion", "peer", "add", "nsb1", "bob", "--networks", "nope")
	qnFails(t, []string{"public_key"}, "bastion", "peer", "add", "nsb1", "bob", "--networks", "nsbblue", "--pubkey", "xyz")
	qnFails(t, []string{"listen_port"}, "bastion", "create", "nsb2", "--router", "nsbr", "--listen-port", "51820")
	qnFails(t, []string{"nsb1"}, "router", "clear-gateway", "nsbr")
	cfg := qn(t, "bastion", "peer", "add", "nsb1", "alice", "--networks", "nsbblue")
	if !strings.Contains(cfg, "PrivateKey = ") || !strings.Contains(cfg, "AllowedIPs = 10.231.8.0/24") {
		t.Fatalf("peer add printed:\n%s", cfg)
	}
	outside := nh.Vars["QN_OUTSIDE_NETNS"]
	wgPeer(t, outside, cfg, "10.231.8.0/24", "10.231.9.0/24")
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", outside, "ping", "-c1", "-W1", blue.IP).Run() == nil
	}, "the operator does not reach its granted network through the bastion")
	var b bastionShow
	qnJSON(t, &b, "bastion", "show", "nsb1")
	if len(b.Peers) != 1 || b.Peers[0].Handshake == "" || b.Peers[0].Handshake == "0" {
		t.Fatalf("bastion show: %+v, want alice with a handshake", b)
	}
	if exec.Command("ip", "netns", "exec", outside, "ping", "-c2", "-W1", red.IP).Run() == nil {
		t.Error("the operator reaches a network it was not granted")
	}
	peer := b.Peers[0].Address
	serveSource(t, blue.NS, bastionTCPPort)
	// Red is alive and routed to blue (so the refusals below are not
	// those of a dead container).
	if got := sourceSeen(t, red.NS, blue.IP); got != red.IP {
		t.Errorf("red's connection to blue: source %q, want %s", got, red.IP)
	}
	if got := sourceSeen(t, outside, blue.IP); got != peer {
		t.Errorf("TCP through the bastion: the container saw source %q, want the peer's tunnel address %s", got, peer)
	}
	reachVM(t, outside, guest)
	bastionSecurityGroup(t, outside, blue, red, peer)

	removed := time.Now()
	qn(t, "bastion", "peer", "remove", "nsb1", "alice")
	ovsdbtest.Eventually(t, 2*time.Second, func() bool {
		_, err := harness.TCPLine(outside, blue.IP, bastionTCPPort, time.Second)
		return err != nil
	}, "a removed peer still reaches its network")
	t.Logf("peer remove: the first TCP connection after it failed %v after the command started (it waits 1 s)",
		time.Since(removed).Round(10*time.Millisecond))
}

// reachVM: the operator pings the VM on its granted network and opens TCP
// to it; the guest answers with its address.
func reachVM(t *testing.T, outside string, guest *vm) {
	t.Helper()
	ip := guest.ip(t)
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", outside, "ping", "-c1", "-W1", ip).Run() == nil
	}, "the operator does not ping the VM on its granted network")
	var line string
	ovsdbtest.Eventually(t, 30*time.Second, func() bool {
		var err error
		line, err = harness.TCPLine(outside, ip, harness.GuestTCPPort, time.Second)
		return err == nil
	}, "the VM does not answer the operator's TCP connection")
	if !strings.Contains(line, "ip="+ip+" ") {
		t.Errorf("the VM answered %q, want its address %s", line, ip)
	}
	t.Logf("the operator's TCP connection to the VM answered %v after virsh start", time.Since(guest.started).Round(100*time.Millisecond))
}

// bastionTCPPort is where containers answer the operator's TCP connections.
const bastionTCPPort = 7001

// bastionSecurityGroup: blue's port joins a group that admits TCP only
// from red's network: the operator is refused while red gets through;
// a rule from sg:bastion-nsb1 lets the operator in. Bad names are refused,
// and so is deleting the bastion while the rule names its peers.
func bastionSecurityGroup(t *testing.T, outside string, blue, red *container, peer string) {
	t.Helper()
	qnFails(t, []string{"reserved"}, "sg", "create", "bastion-nsb1")
	qnFails(t, []string{"nsb9"}, "sg", "create", "nsbsg0", "--rule", "ingress tcp 7001 from sg:bastion-nsb9")
	qnFails(t, []string{"IPv4"}, "sg", "create", "nsbsg0", "--rule", "ingress ipv6 tcp 7001 from sg:bastion-nsb1")
	qn(t, "sg", "create", "nsbsg", "--rule", "ingress tcp 7001 from 10.231.9.0/24")
	later(t, "sg", "delete", "nsbsg")
	qn(t, "port", "set-security-groups", blue.Port, "nsbsg")
	later(t, "port", "set-security-groups", blue.Port)
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		_, err := harness.TCPLine(outside, blue.IP, bastionTCPPort, time.Second)
		return err != nil
	}, "a security group admitting only red's network does not refuse the bastion's peer")
	if got := sourceSeen(t, red.NS, blue.IP); got != red.IP {
		t.Errorf("red's connection to blue: source %q, want %s", got, red.IP)
	}
	qn(t, "sg", "rule", "add", "nsbsg", "ingress tcp 7001 from sg:bastion-nsb1")
	if show := qn(t, "sg", "show", "nsbsg"); !strings.Contains(show, "ingress ipv4 tcp 7001 from sg:bastion-nsb1") {
		t.Errorf("sg show lacks the rule naming the bastion's peers:\n%s", show)
	}
	if got := sourceSeen(t, outside, blue.IP); got != peer {
		t.Errorf("after the rule from sg:bastion-nsb1: source %q, want %s", got, peer)
	}
	qnFails(t, []string{"sg:bastion-nsb1"}, "bastion", "delete", "nsb1")
}

// serveSource answers every TCP connection on port in namespace ns with
// the source address it came from, until the test ends.
func serveSource(t *testing.T, ns string, port int) {
	t.Helper()
	l, err := harness.ListenTCP(ns, "tcp4", port)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go harness.AcceptLoop(l, func(c net.Conn) {
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		c.Write([]byte(host + "\n")) //nolint:errcheck
		c.Close()
	})
}

// sourceSeen connects from ns to addr's bastionTCPPort until it answers
// (20 s) and returns the source the server saw.
func sourceSeen(t *testing.T, ns, addr string) string {
	t.Helper()
	var line string
	ovsdbtest.Eventually(t, 20*time.Second, func() bool {
		var err error
		line, err = harness.TCPLine(ns, addr, bastionTCPPort, time.Second)
		return err == nil
	}, fmt.Sprintf("no TCP answer from %s:%d in %s", addr, bastionTCPPort, ns))
	return line
}

// wgPeer runs wireguard-go (built here from golang.zx2c4.com/wireguard) in
// namespace ns as wgop, set up from a wg-quick config with wg setconf and
// ip (wg-quick itself may want resolvconf), routing routes into it.
func wgPeer(t *testing.T, ns, cfg string, routes ...string) {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "wireguard-go")
	if out, err := exec.Command("go", "build", "-o", bin, "golang.zx2c4.com/wireguard").CombinedOutput(); err != nil {
		t.Fatalf("build wireguard-go: %v: %s", err, out)
	}
	var conf []string
	addr := ""
	for _, l := range strings.Split(cfg, "\n") {
		if a, ok := strings.CutPrefix(l, "Address = "); ok {
			addr = a
			continue
		}
		conf = append(conf, l)
	}
	// The operator routes more than granted: the bastion must refuse it.
	file := filepath.Join(dir, "wgop.conf")
	body := strings.Join(conf, "\n")
	if len(routes) > 0 {
		body = strings.Replace(body, "AllowedIPs = ", "AllowedIPs = "+strings.Join(routes, ", ")+", ", 1)
	}
	if err := os.WriteFile(file, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(dir, "wireguard-go.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-f", "wgop")
	cmd.Env = append(os.Environ(), "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1", "LOG_LEVEL=verbose")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	if !ovsdbtest.Until(context.Background(), 20*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", ns, "wg", "show", "wgop").Run() == nil
	}) {
		out, _ := exec.Command("ip", "netns", "exec", ns, "wg", "show", "wgop").CombinedOutput()
		t.Fatalf("wireguard-go's wgop did not come up in 20s: wg show: %s; its log:\n%s", out, harness.TailFile(logPath, 30))
	}
	for _, c := range [][]string{{"ip", "netns", "exec", ns, "wg", "setconf", "wgop", file},
		{"ip", "-n", ns, "addr", "add", addr, "dev", "wgop"}, {"ip", "-n", ns, "link", "set", "wgop", "up"}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	for _, r := range routes {
		if out, err := exec.Command("ip", "-n", ns, "route", "replace", r, "dev", "wgop").CombinedOutput(); err != nil {
			t.Fatalf("route %s: %v: %s", r, err, out)
		}
	}
}
