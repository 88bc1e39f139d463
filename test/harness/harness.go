// Package harness is what the end-to-end tests, the daemon-level tests and
// the benchmarks share, so that each exists once:
//
//   - Env: the one TestMain shape (requirements checked, root and programs;
//     under CI=true a missing one fails instead of skipping; the binaries
//     built once; a sandbox brought up and down) and the same setup for the
//     benchmark mains (Start / Close);
//   - Sandbox: scripts/sandbox.sh and the OVN tools pointed at it;
//     TwoHost: scripts/twohost.sh, two hosts on one NB/SB; NHost:
//     scripts/nhost.sh, N hosts and an outside network;
//   - Daemon: the one quantumnetd launcher (config, start, ready, stop,
//     kill, restart, qnetctl);
//   - CNI, Netns, Ping: the plugin binary driven through libcni as a
//     runtime drives it, network namespaces as containers, real packets;
//     InNS, DialTCP, TCPLine: sockets made from this process inside a
//     namespace (a timed connection setup, a server's one-line answer);
//     ServeTCPAnswer, AcceptLoop: servers in a namespace; PingOnce,
//     Within10s: reachability checks;
//   - SmokeFlag, FlagDefaults: every benchmark's -smoke mode; BenchWorld
//     (sandbox, daemon, containers, undo list) and the statistics
//     (Median, Percentiles, QuantileMs) the benchmarks share.
//
// Polling is pkg/ovsdbtest's Eventually (tests) and Until (programs).
package harness

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
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

// Build builds Binaries (only those named, when names are given) into dir,
// at the same time.
func Build(dir string, names ...string) error {
	errs := make(chan error, len(Binaries))
	for pkg, name := range Binaries {
		go func() {
			if len(names) > 0 && !slices.Contains(names, name) {
				errs <- nil
				return
			}
			cmd := exec.Command(GoTool(), "build", "-o", filepath.Join(dir, name), pkg)
			cmd.Dir = Repo()
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("build %s: %v\n%s", pkg, err, out)
				return
			}
			errs <- nil
		}()
	}
	var all []error
	for range Binaries {
		all = append(all, <-errs)
	}
	return errors.Join(all...)
}

// GoTool is the go command: on PATH, else where the Go tarball installs it.
func GoTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return "/usr/local/go/bin/go"
}

// TailFile is the last n lines of a file (a log), or why it cannot be read.
func TailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	return Tail(strings.TrimRight(string(b), "\n"), n)
}

// Tail is the last n lines of s.
func Tail(s string, n int) string {
	l := strings.Split(s, "\n")
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return strings.Join(l, "\n")
}
