package ovn

// The reservations a host loads. Every other row of Northbound is
// monitored whole, but address reservations (DHCP_Options rows of kind
// keys.KindReservation) can be tens of thousands, and a host needs only
// those of the networks it allocates on: a fresh daemon that decoded them
// all spent seconds before it could serve. So DHCP_Options is monitored
// where a row is not a reservation, or is a floating IP's or a resolver's
// (alwaysLoaded), or belongs to a network in scope. Reading a network's reservations (Reservations) puts
// it in scope first, loading its rows on the connection; the scope only
// grows. The daemon starts with the networks of its own ports in scope
// (NeedNetworks at start-up), so their ADDs find them loaded.

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// scopeTimeout bounds the load of a network's reservations when the
// caller has no context (Reservations).
const scopeTimeout = time.Minute

// alwaysLoaded are the owners whose reservations every host keeps, on
// every network: floating IPs (routers, load balancers and the event
// streams read all of them) and the networks' resolvers (one or two per
// network; the network services' periodic pass reads them).
var alwaysLoaded = []string{keys.OwnerFIP, keys.OwnerResolver}

// resScope is the set of networks whose reservations are monitored.
type resScope struct {
	mu   sync.Mutex   // serializes loads (held while one runs)
	rmu  sync.RWMutex // guards all and nets: readers never wait for a load
	all  bool         // every reservation (WholeMonitor, or ReservationsOf an owner of every network)
	nets map[string]bool
}

// where is the DHCP_Options monitor's condition (a disjunction) for every
// reservation (all) or those of nets.
func where(all bool, nets map[string]bool) []ovsdb.Condition {
	if all {
		return []ovsdb.Condition{}
	}
	w := []ovsdb.Condition{
		{Column: "external_ids", Function: ovsdb.ConditionExcludes, Value: OvsMap(map[string]string{keys.Kind: keys.KindReservation})},
	}
	for _, o := range alwaysLoaded {
		w = append(w, ExternalIDsInclude(map[string]string{keys.Kind: keys.KindReservation, keys.Owner: o}))
	}
	names := make([]string, 0, len(nets))
	for n := range nets {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w = append(w, ExternalIDsInclude(map[string]string{keys.Kind: keys.KindReservation, keys.Network: n}))
	}
	return w
}

// NeedNetworks loads the reservations of the networks not yet in scope
// into the cache and keeps them there; it returns once they are loaded.
// Before the first connection it only widens what the first monitor
// asks for. Loads run one at a time; InScope does not wait for them.
func (c *NB) NeedNetworks(ctx context.Context, networks ...string) error {
	s := &c.scope
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rmu.RLock()
	all, nets := s.all, maps.Clone(s.nets)
	s.rmu.RUnlock()
	if all {
		return nil
	}
	var add []string
	for _, n := range networks {
		if n != "" && !nets[n] {
			nets[n] = true
			add = append(add, n)
		}
	}
	if len(add) == 0 {
		return nil
	}
	if err := c.Conn.SetWhere(ctx, nbdb.DHCPOptionsTable, where(false, nets)); err != nil {
		return fmt.Errorf("load the reservations of %v: %w", add, err)
	}
	s.rmu.Lock()
	s.nets = nets
	s.rmu.Unlock()
	return nil
}

// NeedAllReservations loads every reservation and keeps them (for a
// reader of every network's).
func (c *NB) NeedAllReservations(ctx context.Context) error {
	s := &c.scope
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.InScope("") {
		return nil
	}
	if err := c.Conn.SetWhere(ctx, nbdb.DHCPOptionsTable, where(true, nil)); err != nil {
		return fmt.Errorf("load every reservation: %w", err)
	}
	s.rmu.Lock()
	s.all = true
	s.rmu.Unlock()
	return nil
}

// InScope reports whether network's reservations are loaded ("": whether
// every network's are).
func (c *NB) InScope(network string) bool {
	c.scope.rmu.RLock()
	defer c.scope.rmu.RUnlock()
	return c.scope.all || (network != "" && c.scope.nets[network])
}

// LocalNetworks are the networks of the ports chassis created or owns.
func (c *NB) LocalNetworks(chassis string) ([]string, error) {
	ports, err := c.Ports(map[string]string{keys.Chassis: chassis})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range ports {
		if p.Network != "" && !slices.Contains(out, p.Network) {
			out = append(out, p.Network)
		}
	}
	return out, nil
}

// NeedNetwork is NeedNetworks of one network for readers without a
// context; a name that is no network's (no switch) loads nothing.
func (c *NB) NeedNetwork(network string) error {
	if c.InScope(network) {
		return nil
	}
	if _, err := c.GetSwitch(network); err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), scopeTimeout)
	defer cancel()
	return c.NeedNetworks(ctx, network)
}
