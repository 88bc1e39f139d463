package harness

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Databases of a clustered sandbox: the member name prefix and the
// database name cluster/status takes.
const (
	ClusterNB = "nb"
	ClusterSB = "sb"
)

func clusterDBName(db string) string {
	if db == ClusterSB {
		return "OVN_Southbound"
	}
	return "OVN_Northbound"
}

// memberCtl is the control socket of member n (1-3) of db.
func (s *Sandbox) memberCtl(db string, n int) string {
	return fmt.Sprintf("%s/ovsdb-server-%s%d.ctl", s.Dir, db, n)
}

// ClusterStatus is `ovs-appctl cluster/status` of member n of db.
func (s *Sandbox) ClusterStatus(db string, n int) (string, error) {
	out, err := exec.Command("ovs-appctl", "--timeout=3", "-t", s.memberCtl(db, n), "cluster/status", clusterDBName(db)).CombinedOutput()
	return string(out), err
}

// Leader is the member (1-3) of db that says it is the Raft leader, or 0.
func (s *Sandbox) Leader(db string) int {
	for n := 1; n <= 3; n++ {
		if out, err := s.ClusterStatus(db, n); err == nil && strings.Contains(out, "Role: leader") {
			return n
		}
	}
	return 0
}

// WaitLeader waits until db has a leader, and returns it.
func (s *Sandbox) WaitLeader(db string, timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		if n := s.Leader(db); n != 0 {
			return n, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s cluster: no leader after %v", db, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// KillMember kills member n of db with SIGKILL, as a crash would.
func (s *Sandbox) KillMember(db string, n int) error {
	b, err := os.ReadFile(fmt.Sprintf("%s/ovsdb-server-%s%d.pid", s.Dir, db, n))
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s member %d (pid %d): %w", db, n, pid, err)
	}
	for i := 0; i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// Restore starts again what is not running (sandbox.sh up): a killed
// member rejoins its cluster from its database file.
func (s *Sandbox) Restore() error {
	if out, err := s.Script("sandbox.sh", "up"); err != nil {
		return fmt.Errorf("sandbox up: %v\n%s", err, out)
	}
	return nil
}
