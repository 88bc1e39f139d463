package wg

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// Namespaces of this test (run it under flock -o /tmp/qn-e2e.lock).
const (
	nsOp     = "qnbt-op" // the operator's workstation
	nsBast   = "qnbt-b"  // the bastion
	nsTenant = "qnbt-t"  // a tenant host with 10.1.0.10 (granted) and 10.2.0.10 (not)
)

func sh(t *testing.T, cmds ...string) {
	t.Helper()
	for _, c := range cmds {
		if out, err := exec.Command("sh", "-c", c).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v: %s", c, err, out)
		}
	}
}

func pings(ns, addr string) bool {
	return exec.Command("ip", "netns", "exec", ns, "ping", "-c1", "-W2", addr).Run() == nil
}

// topology: op --192.0.2.0/24-- bastion --10.1.0.0/24, 10.2.0.0/24-- tenant.
func topology(t *testing.T) {
	t.Cleanup(func() {
		for _, ns := range []string{nsOp, nsBast, nsTenant} {
			exec.Command("ip", "netns", "del", ns).Run() //nolint:errcheck
		}
	})
	for _, ns := range []string{nsOp, nsBast, nsTenant} {
		exec.Command("ip", "netns", "del", ns).Run() //nolint:errcheck // a previous run's
		sh(t, "ip netns add "+ns, "ip -n "+ns+" link set lo up")
	}
	sh(t,
		"ip link add qnbt-op0 netns "+nsOp+" type veth peer name ext0 netns "+nsBast,
		"ip link add qnbt-t0 netns "+nsTenant+" type veth peer name in0 netns "+nsBast,
		"ip -n "+nsOp+" addr add 192.0.2.2/24 dev qnbt-op0", "ip -n "+nsOp+" link set qnbt-op0 up",
		"ip -n "+nsBast+" addr add 192.0.2.1/24 dev ext0", "ip -n "+nsBast+" link set ext0 up",
		"ip -n "+nsBast+" addr add 10.1.0.1/24 dev in0", "ip -n "+nsBast+" addr add 10.2.0.1/24 dev in0", "ip -n "+nsBast+" link set in0 up",
		"ip -n "+nsTenant+" addr add 10.1.0.10/24 dev qnbt-t0", "ip -n "+nsTenant+" addr add 10.2.0.10/24 dev qnbt-t0",
		"ip -n "+nsTenant+" link set qnbt-t0 up", "ip -n "+nsTenant+" route add default via 10.1.0.1")
}

// operator runs an independent peer: wireguard-go built from the module's
// main package, configured with wireguard-tools' wg from the printed
// wg-quick config (Address and routes by hand, as wg-quick would).
func operator(t *testing.T, cfg string, routes ...string) {
	t.Helper()
	dir := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(dir, "wireguard-go"), "golang.zx2c4.com/wireguard")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wireguard-go: %v: %s", err, out)
	}
	var wgConf, addr []string
	for _, l := range strings.Split(cfg, "\n") {
		if a, ok := strings.CutPrefix(l, "Address = "); ok {
			addr = append(addr, a)
			continue
		}
		wgConf = append(wgConf, l)
	}
	conf := filepath.Join(dir, "wg0.conf")
	if err := os.WriteFile(conf, []byte(strings.Join(wgConf, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", nsOp, filepath.Join(dir, "wireguard-go"), "-f", "wgop")
	cmd.Env = append(os.Environ(), "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	ovsdbtest.Eventually(t, 10e9, func() bool {
		return exec.Command("ip", "netns", "exec", nsOp, "wg", "show", "wgop").Run() == nil
	}, "wireguard-go's wgop")
	sh(t, "ip netns exec "+nsOp+" wg setconf wgop "+conf, "ip -n "+nsOp+" addr add "+addr[0]+" dev wgop", "ip -n "+nsOp+" link set wgop up")
	for _, r := range routes {
		sh(t, "ip -n "+nsOp+" route add "+r+" dev wgop")
	}
}

// TestIntegrationTunnel: an independent WireGuard peer connects with the
// rendered config, reaches its granted subnet, is refused on one it routes
// into the tunnel without a grant, and is cut at once when removed.
func TestIntegrationTunnel(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, TUN, iptables)")
	}
	for _, tool := range []string{"wg", "iptables-restore", "ping"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/deps.sh)", tool)
		}
	}
	topology(t)
	key, _ := bastion.GenerateKey()
	b := bastion.Bastion{Name: "t1", Router: "r1", ListenPort: 51820, PrivateKey: key, TunnelRange: netip.MustParsePrefix("100.96.0.0/24")}
	in, err := Start(b, nsBast, ovsdbtest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	// The kernel's link where the host has the module, else userspace.
	want := ModeUserspace
	if exec.Command("ip", "netns", "exec", nsOp, "ip", "link", "add", "qnbt-probe", "type", "wireguard").Run() == nil {
		exec.Command("ip", "netns", "exec", nsOp, "ip", "link", "del", "qnbt-probe").Run() //nolint:errcheck
		want = ModeKernel
	}
	if in.Mode != want {
		t.Fatalf("device mode %q, want %q on this host", in.Mode, want)
	}
	if _, err := Start(b, nsBast, ovsdbtest.Logger(t)); err == nil || !strings.Contains(err.Error(), "listen_port") {
		t.Fatalf("a second device on the port: %v, want an error naming listen_port", err)
	}
	peerKey, _ := bastion.GenerateKey()
	alice := bastion.Peer{Name: "alice", PublicKey: peerKey.Public(), Address: netip.MustParseAddr("100.96.0.2"), Networks: []string{"blue"}}
	blue := netip.MustParsePrefix("10.1.0.0/24")
	if err := in.SetPeers([]Grant{{Peer: alice, Subnets: []netip.Prefix{blue}}}); err != nil {
		t.Fatal(err)
	}
	cfg := bastion.Render(bastion.PeerConfig{Peer: "alice", Bastion: "t1", PrivateKey: peerKey, Address: alice.Address,
		ServerKey: key.Public(), Endpoint: "192.0.2.1:51820", AllowedIPs: []netip.Prefix{blue}})
	// The operator also routes the not-granted 10.2.0.0/24 into the tunnel:
	// the bastion must refuse it.
	operator(t, strings.Replace(cfg, "AllowedIPs = 10.1.0.0/24", "AllowedIPs = 10.1.0.0/24, 10.2.0.0/24", 1), "10.1.0.0/24", "10.2.0.0/24")

	if !pings(nsOp, "10.1.0.10") {
		t.Fatal("the peer cannot reach its granted network")
	}
	if st := in.Stats()[alice.PublicKey]; st.LastHandshake.IsZero() || st.RX == 0 {
		t.Fatalf("no handshake seen: %+v", st)
	}
	if pings(nsOp, "10.2.0.10") {
		t.Fatal("the peer reaches a network it was not granted")
	}
	if err := in.SetPeers(nil); err != nil {
		t.Fatal(err)
	}
	if pings(nsOp, "10.1.0.10") {
		t.Fatal("a removed peer still reaches its network")
	}
}
