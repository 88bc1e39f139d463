package vm

import "time"

// Observer is told of each live-migration handoff the destination ends:
// how long the ports were bound on both chassis (from MigrateIn to done or
// rolled back). The network gap of the guest (paused at the source until
// its RARP here) is not visible to the daemon; the handoff bounds it.
type Observer interface {
	Handoff(done bool, d time.Duration)
}

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
