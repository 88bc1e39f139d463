package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestThinImports: the hook must not link the heavy machinery (libovsdb,
// netlink, the allocator, the daemon): it only parses and makes one RPC.
func TestThinImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list returned too little: %v", deps)
	}
	for _, d := range deps {
		for _, banned := range []string{
			"github.com/ovn-kubernetes/libovsdb", "github.com/ovn-org/libovsdb", "github.com/vishvananda/netlink",
			"github.com/quantumnet/quantumnet/ipam", "github.com/quantumnet/quantumnet/daemon",
			"github.com/quantumnet/quantumnet/pkg/ovn", "github.com/quantumnet/quantumnet/pkg/ovs",
		} {
			if d == banned || strings.HasPrefix(d, banned+"/") {
				t.Errorf("the qemu hook imports %s", d)
			}
		}
	}
}
