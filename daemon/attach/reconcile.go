package attach

import (
	"fmt"
	"slices"
	"sync"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// reconcileState is what the start-up reconcile learnt: the Northbound
// database's identity (recorded on the OVS ports of new attachments) and
// the problems it skipped (reported by STATUS, not retried forever).
type reconcileState struct {
	rmu      sync.Mutex
	nbID     string
	problems []string
}

// Problems are what the last reconcile could not handle and skipped (a
// failing row, local attachments kept against an unknown Northbound).
// They do not keep ADD from being served.
func (m *Manager) Problems() []string {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	return slices.Clone(m.problems)
}

func (m *Manager) setProblems(ps []string) {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	m.problems = ps
}

// NBID is the Northbound database identity seen by the last reconcile
// ("" before).
func (m *Manager) NBID() string {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	return m.nbID
}

func (m *Manager) setNBID(id string) {
	m.rmu.Lock()
	defer m.rmu.Unlock()
	m.nbID = id
}

// portIDs are the external_ids of an attachment's OVS port.
func (m *Manager) portIDs(name, containerID, ifname string) map[string]string {
	ids := map[string]string{keys.Port: name, keys.ContainerID: containerID, keys.Ifname: ifname}
	if id := m.NBID(); id != "" {
		ids[keys.NBID] = id
	}
	return ids
}

// heldBecause tells why a local attachment whose logical port is missing
// must not be torn down ("" when it may): it was attached against another
// Northbound database (recorded is its identity, cur the current one), or,
// made before identities were recorded, Northbound has no QuantumNet port
// at all (nbEmpty: an empty or re-created database, not a deleted port).
func heldBecause(recorded, cur string, nbEmpty bool) string {
	switch {
	case recorded != "" && recorded != cur:
		return fmt.Sprintf("attached against Northbound database %s, now connected to %q", recorded, cur)
	case recorded == "" && nbEmpty:
		return "Northbound has no QuantumNet ports at all (empty or re-created database?)"
	}
	return ""
}
