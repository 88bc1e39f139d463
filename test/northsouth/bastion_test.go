package northsouth_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// bastionShow is `bastion show -o json`.
type bastionShow struct {
	Endpoint string `json:"endpoint"`
	Active   string `json:"active_chassis"`
	Peers    []struct {
		Name      string `json:"name"`
		Handshake string `json:"last_handshake_unix"`
	} `json:"peers"`
}

// TestBastion: an operator in the outside namespace runs an independent
// WireGuard peer (wireguard-go built from the module's main package, set
// up with wireguard-tools' wg from the config qnetctl printed), reaches a
// container on its granted network through the bastion on the router's
// active gateway chassis, is refused on a network it routes into the
// tunnel without a grant, and is cut once the peer is removed.
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
	qn(t, "bastion", "create", "nsb1", "--router", "nsbr")
	later(t, "bastion", "delete", "nsb1")
	qnFails(t, []string{"networks", "nope"}, "bastion", "peer", "add", "nsb1", "bob", "--networks", "nope")
	qnFails(t, []string{"public_key"}, "bastion", "peer", "add", "nsb1", "bob", "--networks", "nsbblue", "--pubkey", "xyz")
	qnFails(t, []string{"listen_port"}, "bastion", "create", "nsb2", "--router", "nsbr", "--listen-port", "51820")
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
		t.Errorf("bastion show: %+v, want alice with a handshake", b)
	}
	if exec.Command("ip", "netns", "exec", outside, "ping", "-c2", "-W1", red.IP).Run() == nil {
		t.Error("the operator reaches a network it was not granted")
	}
	removed := time.Now()
	qn(t, "bastion", "peer", "remove", "nsb1", "alice")
	ovsdbtest.Eventually(t, 2*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", outside, "ping", "-c1", "-W1", blue.IP).Run() != nil
	}, "a removed peer still reaches its network")
	t.Logf("peer remove: the first ping after it failed %v after the command started (ping waits 1 s for a reply)",
		time.Since(removed).Round(10*time.Millisecond))
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
	cmd := exec.Command("ip", "netns", "exec", ns, bin, "-f", "wgop")
	cmd.Env = append(os.Environ(), "WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() }) //nolint:errcheck
	ovsdbtest.Eventually(t, 10*time.Second, func() bool {
		return exec.Command("ip", "netns", "exec", ns, "wg", "show", "wgop").Run() == nil
	}, "wireguard-go's wgop did not come up")
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
