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
	mu   sync.Mutex
	all  bool // every reservation (WholeMonitor, or ReservationsOf an owner of every network)
	nets map[string]bool
}

// where is the DHCP_Options monitor's condition of s (a disjunction).
func (s *resScope) where() []ovsdb.Condition {
	if s.all {
		return []ovsdb.Condition{}
	}
	w := []ovsdb.Condition{
		{Column: "external_ids", Function: ovsdb.ConditionExcludes, Value: OvsMap(map[string]string{keys.Kind: keys.KindReservation})},
	}
	for _, o := range alwaysLoaded {
		w = append(w, ExternalIDsInclude(map[string]string{keys.Kind: keys.KindReservation, keys.Owner: o}))
	}
	names := make([]string, 0, len(s.nets))
	for n := range s.nets {
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
// asks for.
func (c *NB) NeedNetworks(ctx context.Context, networks ...string) error {
	s := &c.scope
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.all {
		return nil
	}
	var add []string
	for _, n := range networks {
		if n != "" && !s.nets[n] && !slices.Contains(add, n) {
			add = append(add, n)
		}
	}
	if len(add) == 0 {
		return nil
	}
	for _, n := range add {
		s.nets[n] = true
	}
	if err := c.Conn.SetWhere(ctx, nbdb.DHCPOptionsTable, s.where()); err != nil {
		for _, n := range add {
			delete(s.nets, n)
		}
		return fmt.Errorf("load the reservations of %v: %w", add, err)
	}
	return nil
}

// NeedAllReservations loads every reservation and keeps them (for a
// reader of every network's).
func (c *NB) NeedAllReservations(ctx context.Context) error {
	s := &c.scope
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.all {
		return nil
	}
	s.all = true
	if err := c.Conn.SetWhere(ctx, nbdb.DHCPOptionsTable, s.where()); err != nil {
		s.all = false
		return fmt.Errorf("load every reservation: %w", err)
	}
	return nil
}

// InScope reports whether network's reservations are loaded (tests,
// metrics).
func (c *NB) InScope(network string) bool {
	c.scope.mu.Lock()
	defer c.scope.mu.Unlock()
	return c.scope.all || c.scope.nets[network]
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
