// Package nbstore is the Northbound store of package secgroup (the pure
// translator): it keeps QuantumNet's security groups in Northbound, their
// only store. It reads the groups back from their Port_Group and ACL rows,
// lets the translator compute the rows wanted after a change, and writes
// the difference in one transaction. A port's groups are the
// keys.SecurityGroups of its Logical_Switch_Port, and its Port_Group
// memberships change with it, in the same transaction.
//
// Concurrency between daemons: a change of groups or rules waits on the
// generation (keys.SGGen) of the all-members port group it read and bumps
// it, so two concurrent changes cannot both commit on the same view (the
// loser retries on the new one). Port memberships are mutations of single
// elements, which commute with everything else; deleting a group waits on
// its (empty) member list. Within one daemon, the changes of one group (and
// of one port's memberships) are serialized by a per-key lock.
//
// Files: read.go reads the rows into a snapshot, apply.go computes and
// writes a change, groups.go holds the group and rule operations, ports.go
// a port's memberships.
package nbstore

import (
	"log/slog"
	"slices"
	"sync"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/keylock"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

// Manager changes security groups and port memberships in Northbound.
type Manager struct {
	NB  *ovn.NB
	Log *slog.Logger
	// Observer, if set, is told of every Sync (daemon/metrics).
	Observer interface{ SecurityGroupSync(err error) }

	locks    keylock.Map // per group name, and per "port/"+port name
	problems problemList
}

// Info is a security group as shown to users.
type Info struct {
	secgroup.Group
	Members []string // logical port names, sorted
	ACLs    int      // ACL rows of the group
}

// problemList is what the last read found and skipped.
type problemList struct {
	mu   sync.Mutex
	list []string
}

// Problems are the rows the last change or sync could not handle (a rule
// this version cannot parse): their groups are left as they are.
func (m *Manager) Problems() []string {
	m.problems.mu.Lock()
	defer m.problems.mu.Unlock()
	return slices.Clone(m.problems.list)
}

func (m *Manager) setProblems(ps []string) {
	m.problems.mu.Lock()
	defer m.problems.mu.Unlock()
	if len(ps) > len(m.problems.list) {
		for _, p := range ps {
			if !slices.Contains(m.problems.list, p) {
				m.Log.Warn("security groups: " + p)
			}
		}
	}
	m.problems.list = ps
}
