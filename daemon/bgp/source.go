package bgp

import (
	"net/netip"

	"github.com/ovn-kubernetes/libovsdb/model"

	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/router"
)

// Routers are the router store's views (daemon/router/nbstore).
type Routers interface {
	List() ([]router.Router, error)
	ListFIPs() ([]router.FloatingIP, error)
}

// Networks are the network store's views (daemon/network/nbstore).
type Networks interface {
	List() ([]netstore.Network, error)
}

// Bindings is where Southbound has bound a port.
type Bindings interface {
	BoundChassis(port string) string
}

// Stores is the Source wired from the stores.
type Stores struct {
	Routers  Routers
	Networks Networks
	SB       Bindings
}

// View reads the routers, floating IPs, subnets and the distributed
// floating IPs' ports' bindings.
func (s Stores) View() (View, error) {
	rs, err := s.Routers.List()
	if err != nil {
		return View{}, err
	}
	fs, err := s.Routers.ListFIPs()
	if err != nil {
		return View{}, err
	}
	ns, err := s.Networks.List()
	if err != nil {
		return View{}, err
	}
	v := View{Routers: rs, FIPs: fs, PortChassis: map[string]string{}, Subnets: map[string][]netip.Prefix{}, Physnets: map[string]string{}}
	for _, n := range ns {
		if n.Physnet != "" {
			v.Physnets[n.Name] = n.Physnet
		}
		for _, p := range []netip.Prefix{n.Subnet4, n.Subnet6} {
			if p.IsValid() {
				v.Subnets[n.Name] = append(v.Subnets[n.Name], p)
			}
		}
	}
	for _, f := range fs {
		if f.Port != "" && f.Distributed {
			v.PortChassis[f.Port] = s.SB.BoundChassis(f.Port)
		}
	}
	return v, nil
}

// Subscriber is a database cache's change feed (ovn.NB, ovn.SB).
type Subscriber interface {
	Subscribe(f func(table string, old, cur model.Model))
}

// Follow kicks the speaker on every change of the databases' caches.
func (s *Speaker) Follow(dbs ...Subscriber) {
	for _, db := range dbs {
		db.Subscribe(func(string, model.Model, model.Model) { s.Kick() })
	}
}
