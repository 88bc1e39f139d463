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
