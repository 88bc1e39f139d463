package bgp_test

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

	"github.com/quantumnet/quantumnet/test/harness"
)

// TestBadConfig: quantumnetd refuses a bad [bgp] section with an error
// naming the key, before it starts anything, and stops when the BGP
// listen port is in use.
func TestBadConfig(t *testing.T) {
	env.Require(t)
	const good = "\n[bgp]\nasn = 65001\nrouter_id = \"127.0.0.1\"\nnext_hop = \"192.0.2.21\"\n" +
		"neighbors = [{ address = \"192.0.2.10\", asn = 65000 }]\n"
	for _, tc := range []struct{ extra, key string }{
		{strings.Replace(good, `"192.0.2.10"`, `"tor1"`, 1), "bgp.neighbors[0].address"},
		{strings.Replace(good, "asn = 65000", "asn = 4294967295", 1), "bgp.neighbors[0].asn"},
		{strings.Replace(good, `router_id = "127.0.0.1"`, `router_id = "::1"`, 1), "bgp.router_id"},
	} {
		out, err := runDaemon(t, tc.extra, "-check-config")
		if err == nil || !strings.Contains(out, tc.key) {
			t.Errorf("quantumnetd with %s bad: %v, want an error naming it:\n%s", tc.key, err, out)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	out, err := runDaemon(t, good+fmt.Sprintf("listen_address = \"127.0.0.1\"\nlisten_port = %d\n", port))
	if err == nil || !strings.Contains(out, "bgp") {
		t.Errorf("quantumnetd with the BGP port %d in use: %v, want it to stop naming bgp:\n%s", port, err, out)
	}
	t.Logf("port in use: %s", lastLine(out))
}

// runDaemon runs quantumnetd (root namespace, databases nobody serves)
// with the extra config and args until it exits (at most 20 s).
func runDaemon(t *testing.T, extra string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	c := harness.DaemonConfig{Bin: env.Bin, Dir: dir, NB: "unix:" + filepath.Join(dir, "none-nb.sock"),
		Socket: filepath.Join(dir, "q.sock"), Chassis: "bgp-bad", NoLibvirt: true, Extra: extra}
	path := filepath.Join(dir, "quantumnetd.toml")
	if err := os.WriteFile(path, []byte(c.TOML()), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(env.Bin, "quantumnetd"), append([]string{"-config", path}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("quantumnetd did not exit: %s", out)
	}
	return string(out), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
