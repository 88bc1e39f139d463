package ovsdbtest

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// Northd runs a real ovn-northd between the Northbound nb and the
// Southbound sb until the test ends, and returns the path of its log. A
// failed test logs the log's tail and what ovn-northd wrote to stderr.
func Northd(t testing.TB, nb, sb *Server) (logPath string) {
	t.Helper()
	bin := Require(t, "ovn-northd")
	dir := filepath.Dir(nb.Socket)
	logPath = filepath.Join(dir, "northd.log")
	cmd := exec.Command(bin, "--ovnnb-db="+nb.Remote, "--ovnsb-db="+sb.Remote, "--unixctl="+filepath.Join(dir, "northd.ctl"),
		"--no-chdir", "--log-file="+logPath, "-vconsole:off", "-vfile:info")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	// Pdeathsig fires when the forking thread exits: keep this goroutine
	// (the test's, which also runs the cleanup) on its thread.
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("ovsdbtest: start ovn-northd: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("ovsdbtest: tail of %s:\n%s%s", logPath, tail(logPath, 40), stderr.String())
		}
	})
	return logPath
}
