package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
)

// perf records quantumnetd with perf (-perf DIR) into DIR/NAME.data
// until the returned stop is called: the process by its pid, or with pid
// 0 every CPU (a restart: the process to come has no pid yet; perf report
// --comm quantumnetd picks it). Without -perf it does nothing.
func (b *bench) perf(name string, pid int) (stop func()) {
	if *flagPerf == "" {
		return func() {}
	}
	if err := os.MkdirAll(*flagPerf, 0o755); err != nil {
		logf("perf: %v", err)
		return func() {}
	}
	out := filepath.Join(*flagPerf, name+".data")
	args := []string{"record", "-q", "-g", "-F", "499", "-o", out}
	if pid > 0 {
		args = append(args, "-p", strconv.Itoa(pid))
	} else {
		args = append(args, "-a")
	}
	c := exec.Command("perf", args...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := c.Start(); err != nil {
		logf("perf: %v", err)
		return func() {}
	}
	return func() {
		_ = c.Process.Signal(syscall.SIGINT)
		_ = c.Wait()
		logf("perf: %s (perf report -i %s%s)", out, out, map[bool]string{true: "", false: " --comm quantumnetd"}[pid > 0])
	}
}
