package nbstore

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// snapshot is what a change is computed from.
type snapshot struct {
	cur      secgroup.Output
	groups   []secgroup.Group
	ports    []secgroup.Port
	portUUID map[string]string // LSP name -> UUID
	portName map[string]string // LSP UUID -> name
	services []netip.Addr
	all      *nbdb.PortGroup   // the all-members port group, nil if none
	meter    *nbdb.Meter       // the log meter, nil if none
	frozen   map[string]bool   // groups with a rule this version cannot parse: their rows stay as they are
	problems []string          // why
	guards   []ovsdb.Operation // waits the change adds (the bastions its rules name exist)
}

// snapshot reads the rows a change is computed from. The cache applies one
// transaction's tables one by one: a port group may already name an ACL or
// a port the cache does not have yet. Such a read is taken again (briefly),
// or a change computed from it would take that ACL or port out.
func (m *Manager) snapshot() (*snapshot, error) {
	for i := 0; ; i++ {
		s, consistent, err := m.read()
		if err != nil || consistent || i >= 40 {
			return s, err // a reference that stays unknown is not ours: the change takes it out
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (m *Manager) read() (*snapshot, bool, error) {
	if err := m.NB.Ready(); err != nil {
		return nil, false, err
	}
	lsps, err := m.NB.PortsShallow()
	if err != nil {
		return nil, false, err
	}
	s := &snapshot{portUUID: make(map[string]string, len(lsps)), portName: make(map[string]string, len(lsps))}
	for _, p := range lsps {
		s.portUUID[p.Name], s.portName[p.UUID] = p.UUID, p.Name
	}
	pgs, err := m.NB.PortGroups(keys.SG)
	if err != nil {
		return nil, false, err
	}
	acls, err := m.NB.ACLs(keys.SG)
	if err != nil {
		return nil, false, err
	}
	s.cur = secgroup.FromModels(pgs, acls, func(u string) (string, bool) { n, ok := s.portName[u]; return n, ok })
	var bad []secgroup.Unparsed
	s.groups, bad = secgroup.GroupsLenient(s.cur)
	s.frozen = map[string]bool{}
	for _, u := range bad {
		s.frozen[u.Group] = true
		s.problems = append(s.problems, fmt.Sprintf("security group %s: rule %q cannot be parsed (%v): the group's rows are left as they are", u.Group, u.Rule, u.Err))
	}
	switch meter, err := m.NB.GetMeter(secgroup.LogMeter); {
	case err == nil:
		s.meter = meter
	case !errors.Is(err, ovn.ErrNotFound):
		return nil, false, err
	}
	for _, pg := range pgs {
		if pg.Name == secgroup.AllPortGroup {
			s.all = pg
		}
	}
	known := make(map[string]bool, len(s.groups))
	for _, g := range s.groups {
		known[g.Name] = true
	}
	for _, p := range lsps {
		var gs []string
		for _, g := range PortGroupsOf(p) {
			if known[g] {
				gs = append(gs, g)
			} else {
				m.Log.Warn("port names a security group that does not exist; ignored", "port", p.Name, "security_group", g)
			}
		}
		if len(gs) > 0 {
			s.ports = append(s.ports, secgroup.Port{Name: p.Name, Groups: gs})
		}
	}
	switches, err := m.NB.ListSwitches()
	if err != nil {
		return nil, false, err
	}
	for i := range switches {
		spec, err := network.FromSwitch(&switches[i])
		if err != nil {
			continue
		}
		// The network's own services: its gateways (DHCP, OVN native DNS),
		// its resolver and the DNS servers it names.
		res := network.ResolversOf(&switches[i])
		for _, a := range append([]netip.Addr{spec.Gateway4, spec.Gateway6, res.V4, res.V6}, spec.DNSServers...) {
			if a.IsValid() {
				s.services = append(s.services, a)
			}
		}
	}
	return s, consistent(pgs, acls, s.portName), nil
}

// consistent: every ACL and port the security groups' port groups name is
// in the cache.
func consistent(pgs []*nbdb.PortGroup, acls []*nbdb.ACL, portName map[string]string) bool {
	known := make(map[string]bool, len(acls))
	for _, a := range acls {
		known[a.UUID] = true
	}
	for _, pg := range pgs {
		for _, u := range pg.ACLs {
			if !known[u] {
				return false
			}
		}
		for _, u := range pg.Ports {
			if _, ok := portName[u]; !ok {
				return false
			}
		}
	}
	return true
}
