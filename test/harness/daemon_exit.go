package harness

// ExitedCleanly reports whether the daemon's last process has exited with
// status 0 (a SIGTERM it handled, not the SIGKILL Stop sends after its
// grace period).
func (d *Daemon) ExitedCleanly() bool {
	if !d.Exited() {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cmd != nil && d.cmd.ProcessState != nil && d.cmd.ProcessState.Success()
}
