// Package testenv holds what the end-to-end and daemon-level tests share:
// finding the repository, building the binaries under test, waiting for a
// condition, and the import-graph check of the thin binaries.
package testenv

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Repo is the repository's root directory.
func Repo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Binaries maps the package of each binary to its file name.
var Binaries = map[string]string{
	"./daemon":         "quantumnetd",
	"./plugins/cni":    "quantumnet",
	"./daemon/qnetctl": "qnetctl",
	"./hooks/qemu":     "quantumnet-qemu-hook",
}

// Build builds Binaries into dir.
func Build(dir string) error {
	for pkg, name := range Binaries {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		cmd.Dir = Repo()
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	return nil
}

// WaitFor polls cond until it holds, failing the test with msg after d.
func WaitFor(t testing.TB, d time.Duration, cond func() bool, msg string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}

// HeavyImports lists what the package in the current directory links of the
// heavy machinery: libovsdb, netlink, libvirt, the allocator, the daemon.
// The thin binaries only parse their input and make one RPC.
func HeavyImports(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	var heavy []string
	if len(deps) < 10 {
		t.Fatalf("go list returned too little: %v", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{
			"github.com/ovn-kubernetes/libovsdb", "github.com/ovn-org/libovsdb", "github.com/vishvananda/netlink",
			"libvirt.org/go/libvirt", "github.com/quantumnet/quantumnet/ipam", "github.com/quantumnet/quantumnet/daemon",
			"github.com/quantumnet/quantumnet/pkg/ovn", "github.com/quantumnet/quantumnet/pkg/ovs",
		} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				heavy = append(heavy, d)
			}
		}
	}
	return heavy
}
