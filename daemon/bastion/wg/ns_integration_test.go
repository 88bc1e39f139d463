package wg

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// TestIntegrationEnsureNSStale: a /run/netns file left without its mount
// (the daemon restarted in a new private mount namespace) is replaced by a
// real namespace, not taken for one.
func TestIntegrationEnsureNSStale(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	name := fmt.Sprintf("qnbt-stale-%d", os.Getpid())
	path := filepath.Join("/run/netns", name)
	t.Cleanup(func() {
		exec.Command("ip", "netns", "del", name).Run() //nolint:errcheck
		os.Remove(path)                                //nolint:errcheck
	})
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o444); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call finds the namespace and keeps it
		if err := EnsureNS(name); err != nil {
			t.Fatal(err)
		}
		h, err := netns.GetFromName(name)
		if err != nil {
			t.Fatal(err)
		}
		var st unix.Statfs_t
		err = unix.Fstatfs(int(h), &st)
		h.Close()
		if err != nil || st.Type != unix.NSFS_MAGIC {
			t.Fatalf("/run/netns/%s is not a namespace after EnsureNS (fs type %#x, %v)", name, st.Type, err)
		}
	}
}
