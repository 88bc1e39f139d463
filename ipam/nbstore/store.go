// Package nbstore is the Northbound store of ipam: it allocates addresses
// and MACs against OVN Northbound, the only store, with the pure pools of
// package ipam as its in-memory cache. An address is in use when a logical
// port of the network has it (the port's addresses) or a reservation holds
// it: a DHCP_Options row marked quantumnet:kind=reservation (an API
// allocation, or a static MAC binding that DHCP honours).
//
// A generation counter in the switch's other_config makes allocation
// optimistic: a transaction that allocates waits for the generation its
// choice was based on and bumps it, so two daemons allocating on one
// network at once cannot both win with the same view; the loser rebuilds
// from the winner's state and retries. Freeing needs no guard.
//
// The store never creates or deletes logical ports. The owner of a port's
// transaction (daemon/lport) opens a Tx, lets it pick (Allocate) or free
// (Free) the port's addresses, adds its own operations after the Tx's
// (Ops), commits, and reports the result (Commit), retrying when Commit
// says the guard lost. Reservations (Reserve, Release) and Show are
// complete methods.
package nbstore

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// ErrConflict is an address or MAC already taken.
var ErrConflict = errs.New(errs.Conflict, "address conflict")

// maxRetries bounds the optimistic retries of one operation.
const maxRetries = 200

// Entry is what one allocated address is for.
type Entry struct {
	Port  string // logical port using it
	Owner string // reservation owner (API allocation or static binding)
	MAC   string // static binding: the MAC that gets this address
	row   string // the reservation's DHCP_Options UUID
}

// Store allocates on every network, for this daemon.
type Store struct {
	NB        *ovn.NB
	MACPrefix [3]byte
	Log       *slog.Logger

	mu   sync.Mutex
	nets map[string]*netState
}

// netState is the cache of one network's allocations.
type netState struct {
	mu      sync.Mutex
	gen     int64             // generation the pools reflect; -1: rebuild
	other   map[string]string // the switch's other_config at gen
	uuid    string
	spec    network.Spec
	pools   map[bool]*ipam.Pool // is6 -> pool
	entries map[netip.Addr]Entry
	byMAC   map[string]netip.Addr // static bindings
	base    map[bool]*ipam.Pool   // empty pools of the spec (cloned by rebuild)
	baseIDs map[string]string     // the switch's external_ids base was built from
}

// basePools counts the empty pools built (for tests).
var basePools atomic.Int64

// Forget drops the cached state of network (call it when its switch is
// deleted): the cache holds no deleted network. A transaction in flight
// on it keeps its own copy.
func (s *Store) Forget(network string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.nets, network)
}

// forget drops st if it is still network's state.
func (s *Store) forget(network string, st *netState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nets[network] == st {
		delete(s.nets, network)
	}
}

// cachedNets is the number of networks with cached state (for tests).
func (s *Store) cachedNets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nets)
}

func genOf(other map[string]string) int64 {
	g, _ := strconv.ParseInt(other[keys.IPAMGen], 10, 64)
	return g
}

// lock returns the network's state, locked and current with the cache (or
// ahead of it, right after this daemon's own commit).
func (s *Store) lock(netName string) (*netState, *nbdb.LogicalSwitch, error) {
	s.mu.Lock()
	if s.nets == nil {
		s.nets = map[string]*netState{}
	}
	st, ok := s.nets[netName]
	if !ok {
		st = &netState{gen: -1}
		s.nets[netName] = st
	}
	s.mu.Unlock()
	st.mu.Lock()
	ls, err := s.NB.GetSwitch(netName)
	if err == nil && !s.NB.InScope(netName) {
		// Load the network's reservations (pkg/ovn loads them per network)
		// before reading its generation: they are then at least as new.
		if err = s.NB.NeedNetwork(netName); err == nil {
			ls, err = s.NB.GetSwitch(netName)
		}
	}
	if err != nil {
		never := st.uuid == ""
		st.mu.Unlock()
		if never { // a name that is no network: keep no state for it
			s.forget(netName, st)
		}
		return nil, nil, err
	}
	if st.gen < 0 || st.uuid != ls.UUID || genOf(ls.OtherConfig) > st.gen {
		if err := s.rebuild(st, ls); err != nil {
			st.mu.Unlock()
			return nil, nil, err
		}
	}
	return st, ls, nil
}

// rebuild reloads st from the cache: the switch (its generation first: the
// cache applies a whole update before any later read sees a table), then
// the addresses of its ports and its reservations.
func (s *Store) rebuild(st *netState, ls *nbdb.LogicalSwitch) error {
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	if st.base == nil || st.uuid != ls.UUID || !maps.Equal(st.baseIDs, ls.ExternalIDs) {
		// The empty pools of the network's ranges: built again only when
		// its spec changes, not on every allocation by another daemon.
		st.base, st.baseIDs = map[bool]*ipam.Pool{}, maps.Clone(ls.ExternalIDs)
		for is6, cfg := range map[bool]ipam.PoolConfig{false: spec.Pool4(), true: spec.Pool6()} {
			if !cfg.Subnet.IsValid() {
				continue
			}
			basePools.Add(1)
			if st.base[is6], err = ipam.NewPool(cfg); err != nil {
				st.base = nil
				return err
			}
		}
	}
	st.spec, st.uuid = spec, ls.UUID
	st.pools = map[bool]*ipam.Pool{}
	for is6, p := range st.base {
		st.pools[is6] = p.Clone()
	}
	st.entries = map[netip.Addr]Entry{}
	st.byMAC = map[string]netip.Addr{}
	ports, err := s.NB.PortsByUUID(ls.Ports) // O(the network's ports)
	if err != nil {
		return err
	}
	for _, p := range ports {
		_, ips := ovn.ParseAddresses(p.Addresses)
		for _, ip := range ips {
			st.entries[ip] = Entry{Port: p.Name}
		}
	}
	res, err := s.NB.Reservations(spec.Name)
	if err != nil {
		return err
	}
	for _, r := range res {
		e := st.entries[r.IP]
		e.Owner, e.MAC, e.row = r.Owner, r.MAC, r.UUID
		st.entries[r.IP] = e
		if e.MAC != "" {
			st.byMAC[e.MAC] = r.IP
		}
	}
	for ip := range st.entries {
		if p := st.pools[ip.Is6()]; p != nil {
			_ = p.Claim(ip) // reserved or out of range: never handed out anyway
		}
	}
	st.other = maps.Clone(ls.OtherConfig)
	if st.other == nil {
		st.other = map[string]string{}
	}
	st.gen = genOf(st.other)
	for is6, key := range map[bool]string{false: keys.IPAMLast4, true: keys.IPAMLast6} {
		if last, err := netip.ParseAddr(st.other[key]); err == nil && st.pools[is6] != nil {
			st.pools[is6].ResumeAfter(last)
		}
	}
	return nil
}

// waitGen waits (briefly) until the cached generation of network passes gen.
func (s *Store) waitGen(ctx context.Context, netName string, gen int64) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if ls, err := s.NB.GetSwitch(netName); err != nil || genOf(ls.OtherConfig) > gen {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Usage is one subnet's allocation state.
type Usage struct {
	Subnet                     netip.Prefix
	Range                      string
	Size, Used, Reserved, Free uint64 // Reserved: network, broadcast, gateway, excluded
	Reservations               map[netip.Addr]Entry
}

// Show reports a network's allocations per subnet.
func (s *Store) Show(netName string) ([]Usage, error) {
	st, _, err := s.lock(netName)
	if err != nil {
		return nil, err
	}
	defer st.mu.Unlock()
	var out []Usage
	for _, is6 := range []bool{false, true} {
		p := st.pools[is6]
		if p == nil {
			continue
		}
		s := p.Stats()
		u := Usage{Subnet: p.Subnet(), Range: p.RangeString(), Size: s.Size, Used: s.Used, Reserved: s.Reserved, Free: s.Free,
			Reservations: map[netip.Addr]Entry{}}
		for ip, e := range st.entries {
			if ip.Is6() == is6 && e.Owner != "" {
				u.Reservations[ip] = e
			}
		}
		out = append(out, u)
	}
	return out, nil
}

// SortedAddrs returns the keys of m in order.
func SortedAddrs(m map[netip.Addr]Entry) []netip.Addr {
	out := make([]netip.Addr, 0, len(m))
	for ip := range m {
		out = append(out, ip)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Less(out[j]) })
	return out
}
