package vm

import "time"

// Observer is told of each live-migration handoff that began on this
// chassis, the destination: from MigrateIn (ports bound on both chassis)
// to the guest running here (libvirt's RESUMED_MIGRATED, RunsHere, or a
// completion seen here) or to the rollback. The guest's network gap
// (paused at the source until its RARP here) lies inside it and is not
// visible to the daemon.
type Observer interface {
	Handoff(done bool, d time.Duration)
}

// staleHandoff: a handoff not ended after this long is forgotten.
const staleHandoff = time.Hour

// handoffBegan notes when a domain's ports became bound on both chassis.
func (m *Manager) handoffBegan(uuid string) {
	if m.Observer == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.handoffs == nil {
		m.handoffs = map[string]time.Time{}
	}
	for u, t0 := range m.handoffs { // ends never seen (no libvirt events)
		if time.Since(t0) > staleHandoff {
			delete(m.handoffs, u)
		}
	}
	m.handoffs[uuid] = time.Now()
}

// handoffEnded reports a handoff begun here, once.
func (m *Manager) handoffEnded(uuid string, done bool) {
	if m.Observer == nil {
		return
	}
	m.mu.Lock()
	t0, ok := m.handoffs[uuid]
	delete(m.handoffs, uuid)
	m.mu.Unlock()
	if ok {
		m.Observer.Handoff(done, time.Since(t0))
	}
}
