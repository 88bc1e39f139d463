package vm

import (
	"slices"
	"strings"
	"time"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// Observer is told of each live-migration handoff that began on this
// chassis, the destination: from MigrateIn (ports bound on both chassis)
// to the guest running here (libvirt's RESUMED_MIGRATED, RunsHere, or a
// completion seen here) or to the rollback; and of each incoming
// migration's network gap as far as this chassis can measure it
// (MeasureGap).
type Observer interface {
	Handoff(done bool, d time.Duration)
	// NetworkGap: QEMU's downtime (the guest paused at the source until
	// it resumed here, libvirt's completed-job figure) and activation, the
	// time from the daemon seeing the guest resume here until Southbound
	// showed all its ports active on this chassis.
	NetworkGap(downtime, activation time.Duration)
}

// Bindings are the Southbound facts of a port (ovn.SB).
type Bindings interface {
	BoundChassis(port string) string
	PortOption(port, key string) string
}

// staleHandoff: a handoff not ended after this long is forgotten.
const staleHandoff = time.Hour

// gapPoll is how often MeasureGap reads the Southbound cache (in memory).
const gapPoll = 2 * time.Millisecond

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

// MeasureGap measures, in the background, the network gap of a guest
// that resumed here after an incoming migration (libvirt's
// RESUMED_MIGRATED, seen at resumed): downtime asks libvirt for QEMU's
// downtime; the activation is the time until every port of the domain is
// active on this chassis in Southbound: bound here, or activated here by
// the guest's RARP (additional-chassis-activated). Both go to the
// Observer; nothing when the ports do not become active here within the
// ready timeout or libvirt has no downtime (the log says why).
func (m *Manager) MeasureGap(uuid string, resumed time.Time, downtime func() (time.Duration, error)) {
	if m.Observer == nil || m.SB == nil {
		return
	}
	go func() {
		var names []string
		for _, p := range m.portsOf(uuid) {
			names = append(names, p.Name)
		}
		if len(names) == 0 {
			return
		}
		deadline := resumed.Add(max(m.ReadyTimeout, 30*time.Second))
		for !m.activeHere(names) {
			if time.Now().After(deadline) {
				m.Log.Info("migration in: the ports did not become active here in time; no network gap measured", "uuid", uuid, "ports", names)
				return
			}
			time.Sleep(gapPoll)
		}
		activation := max(time.Since(resumed), 0)
		dt, err := downtime()
		if err != nil {
			m.Log.Info("migration in: no downtime from libvirt; no network gap measured", "uuid", uuid, "err", err)
			return
		}
		m.Log.Info("migration in: network gap", "uuid", uuid, "qemu_downtime", dt, "activation", activation.Round(time.Millisecond))
		m.Observer.NetworkGap(dt, activation)
	}()
}

// activeHere says whether every port is active on this chassis in
// Southbound.
func (m *Manager) activeHere(ports []string) bool {
	for _, p := range ports {
		if m.SB.BoundChassis(p) == m.Chassis {
			continue
		}
		if !slices.Contains(strings.Split(m.SB.PortOption(p, keys.OptActivatedChassis), ","), m.Chassis) {
			return false
		}
	}
	return true
}
