package ovsdbtest

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Cluster is a 3-member Raft cluster of private ovsdb-servers (ovsdb-tool
// create-cluster / join-cluster), each member on its own unix socket, Raft
// between them on 127.0.0.1.
type Cluster struct {
	// Members are the servers; Members[i].Remote is member i's socket.
	Members []*Server
	// Name is the clustered database's name (OVN_Northbound).
	Name string
}

// NewNBCluster starts a 3-member Northbound cluster and waits for a leader.
func NewNBCluster(t testing.TB) *Cluster {
	t.Helper()
	return NewCluster(t, requireSchema(t, NBSchema), "OVN_Northbound", "ovn-nbctl")
}

// NewCluster starts a 3-member cluster of the database schemaPath names
// (name is its name; tool its command-line client, for Rows).
func NewCluster(t testing.TB, schemaPath, name, tool string) *Cluster {
	t.Helper()
	c := &Cluster{Name: name}
	ports := []int{FreePort(t), FreePort(t), FreePort(t)}
	raft := func(i int) string { return fmt.Sprintf("tcp:127.0.0.1:%d", ports[i]) }
	for i := range ports {
		s := createWith(t, schemaPath, func(db, schema string) []string {
			if i == 0 {
				return []string{"create-cluster", db, schema, raft(0)}
			}
			return []string{"join-cluster", db, name, raft(i), raft(0)}
		})
		s.Tool = tool
		s.Start()
		c.Members = append(c.Members, s)
	}
	if _, err := c.WaitLeader(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	return c
}

// Remotes are the members' remotes, as a client lists them.
func (c *Cluster) Remotes() []string {
	var rs []string
	for _, m := range c.Members {
		rs = append(rs, m.Remote)
	}
	return rs
}

// Leader is the index of the member that says it is the leader, or -1.
func (c *Cluster) Leader() int {
	for i, m := range c.Members {
		if !m.Running() {
			continue
		}
		out, err := exec.Command("ovs-appctl", "--timeout=3", "-t", m.Control, "cluster/status", c.Name).CombinedOutput()
		if err == nil && strings.Contains(string(out), "Role: leader") {
			return i
		}
	}
	return -1
}

// WaitLeader waits until the cluster has a leader (every member that runs
// has joined), and returns it.
func (c *Cluster) WaitLeader(timeout time.Duration) (int, error) {
	deadline := time.Now().Add(timeout)
	for {
		if i := c.Leader(); i >= 0 {
			return i, nil
		}
		if time.Now().After(deadline) {
			return -1, fmt.Errorf("ovsdbtest: cluster %s: no leader after %v", c.Name, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
