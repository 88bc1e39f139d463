// Package pkg_test checks what QuantumNet installs: the systemd unit passes
// systemd-analyze verify; make install lays out the same files as the
// Debian package; and the package, installed on this machine with dpkg,
// runs a network with two containers that ping each other using only its
// installed files, then purges without a trace.
//
// It needs root (dpkg, the OVN sandbox, network namespaces); run it alone
// and under the e2e lock:
//
//	flock -o /tmp/qn-e2e.lock go test -count=1 -v ./test/pkg/
package pkg_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/test/harness"
)

var (
	// sbx is the OVN sandbox the installed daemon is pointed at, its chassis
	// in a network namespace standing for the host.
	sbx = &harness.Sandbox{Dir: fmt.Sprintf("/tmp/qn-pkg-%d", os.Getpid()), Chassis: "chassis-pkg",
		Netns: fmt.Sprintf("qn-pkg-host-%d", os.Getpid())}
	env = harness.New(harness.Setup{Name: "pkg", Root: true, Locks: []string{harness.LockSystemLibvirt},
		Programs: []string{"ovn-controller", "dpkg", "dpkg-deb", "systemd-analyze", "setpriv", "make"},
		Binaries: []string{"qnetctl"}, Up: up})
	// deb is the package make deb built.
	deb string
)

func TestMain(m *testing.M) { os.Exit(env.Run(m)) }

// up builds the package with make deb (its binaries into the Env's bin)
// and starts the sandbox.
func up(e *harness.Env) error {
	out, err := makeIn(e, "deb", "DEB_DIR="+filepath.Join(e.Tmp, "dist"))
	if err != nil {
		return err
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	deb = lines[len(lines)-1]
	if !strings.HasSuffix(deb, ".deb") {
		return fmt.Errorf("make deb did not print the package's path:\n%s", out)
	}
	return sbx.Up(e)
}

// makeIn runs make TARGET in the repository with the Env's bin directory.
func makeIn(e *harness.Env, target string, vars ...string) (string, error) {
	cmd := exec.Command("make", append([]string{"--no-print-directory", target, "BIN=" + e.Bin}, vars...)...)
	cmd.Dir = e.Repo
	cmd.Env = append(os.Environ(), "PATH="+os.Getenv("PATH")+":/usr/local/go/bin")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("make %s: %v\n%s\n%s", target, err, out, stderr.String())
	}
	return string(out), nil
}
