// Package console tests the daemon's web console in a real browser: Debian's
// chromium, headless, driven through the DevTools protocol by chromedp,
// against the real sandbox and one quantumnetd with `[http] listen` and
// `console = true`. The page loads with nothing from outside its origin,
// shows the network and ports made through the CNI plugin, follows a
// container added and deleted live, edits security groups with rules that
// change real traffic, shows the rule parser's errors, refuses writes
// without its cross-site protection, and reconnects by itself after the
// daemon restarts.
//
// It needs root, OVN and chromium (scripts/deps.sh); without them it skips,
// except under CI=true where that is a failure. One sandbox, one daemon and
// one browser serve every test (each test has its own tab); a failing test
// saves a screenshot and the page's HTML into the directory it logs
// ($QN_ARTIFACTS, else a kept temporary directory).
package console

import (
	"fmt"
	"os"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

const chassis = "chassis-console"

var (
	// sbx is the sandbox, its chassis in a network namespace standing for
	// the host; the daemon runs there, and its console listens on that
	// namespace's loopback (reached through fwd).
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-con-%d", os.Getpid()), Chassis: chassis,
		Netns: fmt.Sprintf("qn-con-host-%d", os.Getpid())}
	env = harness.New(harness.Setup{Name: "console", Root: true,
		Programs: []string{"ovn-controller", "chromium"},
		Binaries: []string{"quantumnetd", "quantumnet", "qnetctl"},
		Up:       up})

	// w is the world TestMain made: the daemon, the console's address,
	// the browser, the network and its two containers.
	w world
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// up brings the sandbox up, then the daemon with its console, the
// forwarder to it, the fixture and the browser; each registers its undo.
func up(e *harness.Env) error {
	if err := sbx.Up(e); err != nil {
		return err
	}
	steps := []func(*harness.Env) error{startDaemon, startFixture, startBrowser}
	for _, s := range steps {
		if err := s(e); err != nil {
			return err
		}
	}
	return nil
}

// requireWorld skips the test unless TestMain prepared the world.
func requireWorld(t *testing.T) {
	t.Helper()
	env.Require(t)
	if w.d == nil || w.browser == nil {
		t.Fatal("console: the world was not prepared")
	}
}
