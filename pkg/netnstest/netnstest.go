// Package netnstest runs test code inside a network namespace of its own,
// for tests of code that changes a host's links, routes, sysctls or
// iptables: everything it does stays in that namespace and goes with it.
package netnstest

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netns"
)

// InFresh runs f on a locked thread in a new network namespace (netlink
// calls, /proc/sys/net and iptables see only that namespace). It skips
// the test when not root.
func InFresh(t *testing.T, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces)")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread dies with its namespace
		ns, err := netns.New()
		if err != nil {
			t.Error(err)
			return
		}
		defer ns.Close()
		f()
	}()
	<-done
}
