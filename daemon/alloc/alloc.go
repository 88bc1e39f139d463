// Package alloc allocates addresses and MACs against OVN Northbound, the
// only store. An address is in use when a logical port of the network has
// it (the port's addresses) or a reservation holds it: a DHCP_Options row
// marked quantumnet:kind=reservation (an API allocation, or a static MAC
// binding that DHCP honours). Both are written in the transaction that
// allocates them. A generation counter in the switch's other_config makes
// allocation optimistic: the transaction waits for the generation its
// choice was based on and bumps it, so two daemons allocating on one
// network at once cannot both win with the same view; the loser rebuilds
// from the winner's state and retries. Freeing needs no guard. The
// in-memory pools (ipam.Pool bitmaps) are a cache of those rows.
package alloc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Errors callers map to protocol codes.
var (
	ErrInvalid   = errs.Invalid
	ErrConflict  = errs.New(errs.Conflict, "address conflict")
	ErrExhausted = ipam.ErrExhausted
	ErrNotFound  = ovn.ErrNotFound
)

// maxRetries bounds the optimistic retries of one operation.
const maxRetries = 200

// Entry is what one allocated address is for.
type Entry struct {
	Port  string // logical port using it
	Owner string // reservation owner (API allocation or static binding)
	MAC   string // static binding: the MAC that gets this address
	row   string // the reservation's DHCP_Options UUID
}

// Allocator allocates on every network, for this daemon.
type Allocator struct {
	NB        *ovn.NB
	MACPrefix [3]byte
	Log       *slog.Logger
	// PortOps, if set, adds operations to the transaction that creates a
	// port (lsp.UUID is its named UUID): its security group memberships.
	PortOps func(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error)

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
}

func genOf(other map[string]string) int64 {
	g, _ := strconv.ParseInt(other[keys.IPAMGen], 10, 64)
	return g
}

// lock returns the network's state, locked and current with the cache (or
// ahead of it, right after this daemon's own commit).
func (a *Allocator) lock(netName string) (*netState, *nbdb.LogicalSwitch, error) {
	a.mu.Lock()
	if a.nets == nil {
		a.nets = map[string]*netState{}
	}
	st, ok := a.nets[netName]
	if !ok {
		st = &netState{gen: -1}
		a.nets[netName] = st
	}
	a.mu.Unlock()
	st.mu.Lock()
	ls, err := a.NB.GetSwitch(netName)
	if err != nil {
		st.mu.Unlock()
		return nil, nil, err
	}
	if st.gen < 0 || st.uuid != ls.UUID || genOf(ls.OtherConfig) > st.gen {
		if err := a.rebuild(st, ls); err != nil {
			st.mu.Unlock()
			return nil, nil, err
		}
	}
	return st, ls, nil
}

// rebuild reloads st from the cache: the switch (its generation first: the
// cache applies a whole update before any later read sees a table), then
// the addresses of its ports and its reservations.
func (a *Allocator) rebuild(st *netState, ls *nbdb.LogicalSwitch) error {
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return err
	}
	st.spec, st.uuid = spec, ls.UUID
	st.pools = map[bool]*ipam.Pool{}
	for is6, cfg := range map[bool]ipam.PoolConfig{false: spec.Pool4(), true: spec.Pool6()} {
		if !cfg.Subnet.IsValid() {
			continue
		}
		if st.pools[is6], err = ipam.NewPool(cfg); err != nil {
			return err
		}
	}
	st.entries = map[netip.Addr]Entry{}
	st.byMAC = map[string]netip.Addr{}
	in := make(map[string]bool, len(ls.Ports))
	for _, u := range ls.Ports {
		in[u] = true
	}
	ports, err := ovs.QueryShallow(a.NB.Conn, nbdb.LogicalSwitchPortTable, func(p *nbdb.LogicalSwitchPort) bool { return in[p.UUID] })
	if err != nil {
		return err
	}
	for _, p := range ports {
		for _, ip := range portAddrs(p) {
			st.entries[ip] = Entry{Port: p.Name}
		}
	}
	res, err := a.NB.Reservations(spec.Name)
	if err != nil {
		return err
	}
	for _, r := range res {
		ip := r.IP
		e := st.entries[ip]
		e.Owner, e.MAC, e.row = r.Owner, r.MAC, r.UUID
		st.entries[ip] = e
		if e.MAC != "" {
			st.byMAC[e.MAC] = ip
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

// portAddrs are the IP addresses of a port's "MAC IP..." addresses.
func portAddrs(p *nbdb.LogicalSwitchPort) []netip.Addr {
	var out []netip.Addr
	for _, a := range p.Addresses {
		f := strings.Fields(a)
		for _, s := range f[min(1, len(f)):] {
			if ip, err := netip.ParseAddr(s); err == nil {
				out = append(out, ip)
			}
		}
	}
	return out
}

// change is one transaction's worth of allocation changes.
type change struct {
	guard    bool                 // allocates: guarded by the generation
	set      map[netip.Addr]Entry // entries after the commit
	unset    []netip.Addr
	inserts  []*nbdb.DHCPOptions // reservation rows to create
	deletes  []string            // reservation rows to delete
	picked   []netip.Addr        // taken from the pools (given back on failure)
	released []netip.Addr        // given back to the pools (taken again on failure)
}

func newChange(guard bool) *change { return &change{guard: guard, set: map[netip.Addr]Entry{}} }

// undo restores the pools after a failed attempt.
func (st *netState) undo(c *change) {
	for _, ip := range c.picked {
		if p := st.pools[ip.Is6()]; p != nil {
			_ = p.Release(ip)
		}
	}
	for _, ip := range c.released {
		if p := st.pools[ip.Is6()]; p != nil {
			_ = p.Claim(ip)
		}
	}
}

// nextOther is the other_config a guarded commit writes: the next
// generation and where each pool's round robin stands.
func (st *netState) nextOther() map[string]string {
	next := maps.Clone(st.other)
	next[keys.IPAMGen] = strconv.FormatInt(st.gen+1, 10)
	for is6, key := range map[bool]string{false: keys.IPAMLast4, true: keys.IPAMLast6} {
		if p := st.pools[is6]; p != nil && p.Last().IsValid() {
			next[key] = p.Last().String()
		}
	}
	return next
}

// ops builds the generation guard (first, when c allocates) and the
// reservation rows of c.
func (a *Allocator) ops(st *netState, c *change) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	if c.guard {
		where := []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: st.uuid}}}
		zero := 0
		ops = append(ops,
			ovsdb.Operation{Op: ovsdb.OperationWait, Table: nbdb.LogicalSwitchTable, Where: where, Timeout: &zero,
				Columns: []string{"other_config"}, Until: string(ovsdb.WaitConditionEqual),
				Rows: []ovsdb.Row{{"other_config": ovn.OvsMap(st.other)}}},
			ovsdb.Operation{Op: ovsdb.OperationUpdate, Table: nbdb.LogicalSwitchTable, Where: where,
				Row: ovsdb.Row{"other_config": ovn.OvsMap(st.nextOther())}})
	}
	for i, r := range c.inserts {
		r.UUID = fmt.Sprintf("res%d", i)
		o, err := a.NB.Create(r)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	for _, u := range c.deletes {
		o, err := a.NB.Where(&nbdb.DHCPOptions{UUID: u}).Delete()
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// applied records a committed change in st; res are the transaction's
// results, for the UUIDs of inserted reservations.
func (st *netState) applied(c *change, res []ovsdb.OperationResult, first int) {
	for _, ip := range c.unset {
		if e, ok := st.entries[ip]; ok && e.MAC != "" {
			delete(st.byMAC, e.MAC)
		}
		delete(st.entries, ip)
	}
	for i, r := range c.inserts {
		ip, _ := netip.ParseAddr(r.ExternalIDs[keys.IP])
		e := c.set[ip]
		if first+i < len(res) {
			e.row = res[first+i].UUID.GoUUID
		}
		c.set[ip] = e
	}
	for ip, e := range c.set {
		if old, ok := st.entries[ip]; ok && old.MAC != "" && old.MAC != e.MAC {
			delete(st.byMAC, old.MAC)
		}
		st.entries[ip] = e
		if e.MAC != "" {
			st.byMAC[e.MAC] = ip
		}
	}
	if c.guard {
		st.other = st.nextOther()
		st.gen++
	}
}

// run performs one operation on network: attempt builds the change and the
// extra operations from the locked state; the whole is committed (guarded
// by the generation when it allocates) and retried from fresh state when
// another daemon allocated on the network meanwhile.
func (a *Allocator) run(ctx context.Context, netName, what string, attempt func(st *netState, ls *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error)) error {
	for try := 0; ; try++ {
		st, ls, err := a.lock(netName)
		if err != nil {
			return err
		}
		c, extra, err := attempt(st, ls)
		if err != nil {
			st.mu.Unlock()
			return err
		}
		own, err := a.ops(st, c)
		if err != nil {
			st.undo(c)
			st.mu.Unlock()
			return err
		}
		first := 0
		if c.guard {
			first = 2
		}
		all := append(own, extra...)
		res, err := a.NB.TransactResults(ctx, what, all)
		if err == nil {
			st.applied(c, res, first)
			st.mu.Unlock()
			return nil
		}
		st.undo(c)
		var we *ovs.WaitError
		conflict := c.guard && errors.As(err, &we) && we.Index == 0
		if !conflict || try >= maxRetries {
			st.mu.Unlock()
			if conflict {
				return fmt.Errorf("%s: network %q changed concurrently %d times, giving up: %w", what, netName, try+1, err)
			}
			return err
		}
		// Another daemon moved the generation: wait for its change to reach
		// the cache, then start again from it.
		seen := st.gen
		st.gen = -1
		st.mu.Unlock()
		a.waitGen(ctx, netName, seen)
	}
}

// waitGen waits (briefly) until the cached generation of network passes gen.
func (a *Allocator) waitGen(ctx context.Context, netName string, gen int64) {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if ls, err := a.NB.GetSwitch(netName); err != nil || genOf(ls.OtherConfig) > gen {
			return
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Want is what a port asks for.
type Want struct {
	IPs []netip.Addr     // requested addresses, at most one per family
	MAC net.HardwareAddr // requested MAC
}

// Claim is what a port got.
type Claim struct {
	MAC      net.HardwareAddr
	Addrs    []netip.Prefix
	Gateways []netip.Addr
	Spec     network.Spec
}

// pick chooses the MAC and one address per family of the network for a
// port: the static binding of its MAC first, then the requested address,
// then the next free one.
func (a *Allocator) pick(st *netState, want Want, port string, c *change) (*Claim, error) {
	cl := &Claim{Spec: st.spec}
	if want.MAC != nil {
		if len(want.MAC) != 6 || want.MAC[0]&1 != 0 {
			return nil, fmt.Errorf("%w: mac: %s is not a unicast Ethernet address", ErrInvalid, want.MAC)
		}
		if a.NB.MACInUse(want.MAC.String()) {
			return nil, fmt.Errorf("%w: mac: %s is already used by another port", ErrConflict, want.MAC)
		}
		cl.MAC = want.MAC
	} else {
		mac, err := ipam.NewMAC(a.MACPrefix, func(m string) bool { _, static := st.byMAC[m]; return static || a.NB.MACInUse(m) })
		if err != nil {
			return nil, err
		}
		cl.MAC = mac
	}
	requested := map[bool]netip.Addr{}
	for _, ip := range want.IPs {
		if _, dup := requested[ip.Is6()]; dup {
			return nil, fmt.Errorf("%w: ips: more than one address of one family requested", ErrInvalid)
		}
		requested[ip.Is6()] = ip
	}
	static, hasStatic := st.byMAC[cl.MAC.String()]
	for _, fam := range []struct {
		is6    bool
		subnet netip.Prefix
		gw     netip.Addr
	}{{false, st.spec.Subnet4, st.spec.Gateway4}, {true, st.spec.Subnet6, st.spec.Gateway6}} {
		pool := st.pools[fam.is6]
		want, asked := requested[fam.is6]
		if pool == nil {
			if asked {
				return nil, fmt.Errorf("%w: ips: %s: network %q has no subnet of that family", ErrInvalid, want, st.spec.Name)
			}
			continue
		}
		var ip netip.Addr
		switch {
		case hasStatic && static.Is6() == fam.is6 && (!asked || want == static):
			e := st.entries[static]
			if e.Port != "" {
				return nil, fmt.Errorf("%w: %s, reserved for MAC %s, is in use by port %s", ErrConflict, static, cl.MAC, e.Port)
			}
			e.Port = port
			c.set[static] = e
			ip = static
		case asked:
			if e, ok := st.entries[want]; ok && e.Port == "" && e.Owner != "" {
				return nil, fmt.Errorf("%w: ips: %s is reserved (by %s)", ErrConflict, want, e.Owner)
			}
			if err := pool.Claim(want); err != nil {
				switch {
				case errors.Is(err, ipam.ErrInUse):
					return nil, fmt.Errorf("%w: ips: %s is already in use on network %q", ErrConflict, want, st.spec.Name)
				case errors.Is(err, ipam.ErrReserved):
					return nil, fmt.Errorf("%w: ips: %s is not a usable address of %s (network, broadcast, gateway or excluded)", ErrInvalid, want, fam.subnet)
				default:
					return nil, fmt.Errorf("%w: ips: %s is outside the allocation range %s", ErrInvalid, want, pool.RangeString())
				}
			}
			c.picked = append(c.picked, want)
			c.set[want] = Entry{Port: port}
			ip = want
		default:
			var err error
			if ip, err = pool.Allocate(); err != nil {
				return nil, fmt.Errorf("network %q: %w", st.spec.Name, err)
			}
			c.picked = append(c.picked, ip)
			c.set[ip] = Entry{Port: port}
		}
		cl.Addrs = append(cl.Addrs, netip.PrefixFrom(ip, fam.subnet.Bits()))
		cl.Gateways = append(cl.Gateways, fam.gw)
	}
	return cl, nil
}

// CreatePort allocates for a new port of network and creates it (built by
// mk from the claim) in the same transaction.
func (a *Allocator) CreatePort(ctx context.Context, netName string, want Want, name string, mk func(*Claim) *nbdb.LogicalSwitchPort) (*Claim, error) {
	var claim *Claim
	err := a.run(ctx, netName, "create logical port "+name, func(st *netState, ls *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
		c := newChange(true)
		cl, err := a.pick(st, want, name, c)
		if err != nil {
			st.undo(c)
			return nil, nil, err
		}
		lsp := mk(cl)
		ops, err := a.NB.CreatePortOps(ls, lsp)
		if err == nil && a.PortOps != nil {
			var more []ovsdb.Operation
			if more, err = a.PortOps(lsp); err == nil {
				ops = append(ops, more...)
			}
		}
		if err != nil {
			st.undo(c)
			return nil, nil, err
		}
		claim = cl
		return c, ops, nil
	})
	return claim, err
}

// DeletePort deletes the port, which frees its addresses (a static binding
// stays, free for its MAC again). A missing port is not an error.
func (a *Allocator) DeletePort(ctx context.Context, name string) error {
	lsp, err := a.NB.GetPort(name)
	if err != nil {
		if errors.Is(err, ovn.ErrNotFound) {
			return nil
		}
		return err
	}
	netName := lsp.ExternalIDs[keys.Network]
	if netName == "" {
		return fmt.Errorf("logical port %s: %w", name, ovn.ErrNotManaged)
	}
	if _, err := a.NB.GetSwitch(netName); err != nil {
		return a.NB.DeletePort(ctx, name)
	}
	return a.run(ctx, netName, "delete logical port "+name, func(st *netState, _ *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
		c := newChange(true)
		ops, err := a.NB.DeletePortOps(name)
		if err != nil || ops == nil {
			return c, nil, err
		}
		for _, ip := range portAddrs(lsp) {
			e, ok := st.entries[ip]
			if !ok || e.Port != name {
				continue
			}
			if e.Owner != "" { // static binding: stays, no longer in use
				e.Port = ""
				c.set[ip] = e
				continue
			}
			c.unset = append(c.unset, ip)
			if p := st.pools[ip.Is6()]; p != nil && p.Release(ip) == nil {
				c.released = append(c.released, ip)
			}
		}
		return c, ops, nil
	})
}

// Reserve records an allocation not tied to a port: owner is who holds it;
// ip is the wanted address (zero: the next free one, of the family given by
// v6); with mac it is a static binding that a port with that MAC gets.
func (a *Allocator) Reserve(ctx context.Context, netName, owner string, ip netip.Addr, v6 bool, mac net.HardwareAddr) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, fmt.Errorf("%w: owner: required", ErrInvalid)
	}
	if mac != nil && (len(mac) != 6 || mac[0]&1 != 0) {
		return netip.Addr{}, fmt.Errorf("%w: mac: %s is not a unicast Ethernet address", ErrInvalid, mac)
	}
	var got netip.Addr
	err := a.run(ctx, netName, "reserve on "+netName, func(st *netState, _ *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
		c := newChange(true)
		if mac != nil {
			if old, ok := st.byMAC[mac.String()]; ok {
				return nil, nil, fmt.Errorf("%w: mac: %s is already bound to %s", ErrConflict, mac, old)
			}
		}
		fam := v6
		if ip.IsValid() {
			fam = ip.Is6()
		}
		pool := st.pools[fam]
		if pool == nil {
			return nil, nil, fmt.Errorf("%w: network %q has no IPv%s subnet", ErrInvalid, netName, map[bool]string{false: "4", true: "6"}[fam])
		}
		if ip.IsValid() {
			if err := pool.Claim(ip); err != nil {
				switch {
				case errors.Is(err, ipam.ErrInUse):
					return nil, nil, fmt.Errorf("%w: %s is already in use on network %q", ErrConflict, ip, netName)
				case errors.Is(err, ipam.ErrReserved):
					return nil, nil, fmt.Errorf("%w: address: %s is never handed out on network %q (network, broadcast, gateway or excluded)", ErrInvalid, ip, netName)
				default:
					return nil, nil, fmt.Errorf("%w: address: %s is outside network %q's allocation range %s", ErrInvalid, ip, netName, pool.RangeString())
				}
			}
			got = ip
		} else {
			var err error
			if got, err = pool.Allocate(); err != nil {
				return nil, nil, fmt.Errorf("network %q: %w", netName, err)
			}
		}
		c.picked = append(c.picked, got)
		e := Entry{Owner: owner}
		ids := map[string]string{keys.Network: netName, keys.Kind: keys.KindReservation, keys.Owner: owner, keys.IP: got.String()}
		if mac != nil {
			e.MAC = mac.String()
			ids[keys.MAC] = e.MAC
		}
		c.set[got] = e
		c.inserts = append(c.inserts, &nbdb.DHCPOptions{Cidr: netip.PrefixFrom(got, got.BitLen()).String(), ExternalIDs: ids})
		return c, nil, nil
	})
	return got, err
}

// Release ends a reservation. An address still used by a port stays the
// port's; it is freed when the port goes.
func (a *Allocator) Release(ctx context.Context, netName string, ip netip.Addr) error {
	return a.run(ctx, netName, "release on "+netName, func(st *netState, _ *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
		e, ok := st.entries[ip]
		if !ok || e.Owner == "" {
			return nil, nil, fmt.Errorf("%w: %s is not reserved on network %q", ErrNotFound, ip, netName)
		}
		c := newChange(true)
		c.deletes = append(c.deletes, e.row)
		if e.Port != "" {
			c.set[ip] = Entry{Port: e.Port}
			return c, nil, nil
		}
		c.unset = append(c.unset, ip)
		if p := st.pools[ip.Is6()]; p != nil && p.Release(ip) == nil {
			c.released = append(c.released, ip)
		}
		return c, nil, nil
	})
}

// Usage is one subnet's allocation state.
type Usage struct {
	Subnet                     netip.Prefix
	Range                      string
	Size, Used, Reserved, Free uint64 // Reserved: network, broadcast, gateway, excluded
	Reservations               map[netip.Addr]Entry
}

// Show reports a network's allocations per subnet.
func (a *Allocator) Show(netName string) ([]Usage, error) {
	st, _, err := a.lock(netName)
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
