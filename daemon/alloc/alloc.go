// Package alloc allocates addresses and MACs against OVN Northbound, the
// only store. A network's allocations are recorded on its Logical_Switch:
// one external_ids key per address ("quantumnet:ip:ADDR" = "port=LSP" or
// "owner=WHO;mac=MAC", both for a static binding in use), committed in the
// same transaction as the port they belong to. A generation counter in the
// switch's other_config makes every change optimistic: a transaction waits
// for the generation it read and bumps it, so two daemons allocating on one
// network at once cannot both win with the same view; the loser retries
// from the winner's state. The in-memory pools (ipam.Pool bitmaps) are a
// cache of those keys, rebuilt when another daemon moved the generation.
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
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Errors callers map to protocol codes.
var (
	ErrInvalid   = errors.New("invalid argument")
	ErrConflict  = errors.New("address conflict")
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
}

func (e Entry) String() string {
	var parts []string
	if e.Port != "" {
		parts = append(parts, "port="+e.Port)
	}
	if e.Owner != "" {
		parts = append(parts, "owner="+e.Owner)
	}
	if e.MAC != "" {
		parts = append(parts, "mac="+e.MAC)
	}
	return strings.Join(parts, ";")
}

func parseEntry(s string) Entry {
	var e Entry
	for _, kv := range strings.Split(s, ";") {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "port":
			e.Port = v
		case "owner":
			e.Owner = v
		case "mac":
			e.MAC = v
		}
	}
	return e
}

// Allocator allocates on every network, for this daemon.
type Allocator struct {
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
}

func genOf(other map[string]string) int64 {
	g, _ := strconv.ParseInt(other[ovn.KeyIPAMGen], 10, 64)
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

// rebuild reloads st from the switch row (one row: its keys and generation
// are consistent), plus the addresses of ports that have no key (made by
// other tools), so that nothing in use is ever handed out.
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
	st.entries = make(map[netip.Addr]Entry, len(ls.ExternalIDs))
	st.byMAC = map[string]netip.Addr{}
	for k, v := range ls.ExternalIDs {
		s, ok := strings.CutPrefix(k, ovn.KeyIPPrefix)
		if !ok {
			continue
		}
		ip, err := netip.ParseAddr(s)
		if err != nil {
			continue
		}
		e := parseEntry(v)
		st.entries[ip] = e
		if e.MAC != "" {
			st.byMAC[e.MAC] = ip
		}
		if p := st.pools[ip.Is6()]; p != nil {
			_ = p.Claim(ip) // reserved or out of range: never handed out anyway
		}
	}
	in := make(map[string]bool, len(ls.Ports))
	for _, u := range ls.Ports {
		in[u] = true
	}
	ports, err := ovs.Query(a.NB.Conn, func(p *nbdb.LogicalSwitchPort) bool { return in[p.UUID] })
	if err != nil {
		return err
	}
	for _, p := range ports {
		for _, ip := range portAddrs(&p) {
			if _, ok := st.entries[ip]; !ok {
				if pool := st.pools[ip.Is6()]; pool != nil {
					_ = pool.Claim(ip)
				}
			}
		}
	}
	st.other = maps.Clone(ls.OtherConfig)
	if st.other == nil {
		st.other = map[string]string{}
	}
	st.gen = genOf(st.other)
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

// change is one transaction's worth of key changes.
type change struct {
	set   map[netip.Addr]Entry
	unset []netip.Addr
	// picked from the pools by this attempt, given back if it fails
	picked []netip.Addr
	// released to the pools by this attempt, taken back if it fails
	released []netip.Addr
}

func newChange() *change { return &change{set: map[netip.Addr]Entry{}} }

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

// ops builds the key mutations and the generation guard of c.
func (st *netState) ops(c *change) []ovsdb.Operation {
	where := []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: st.uuid}}}
	zero := 0
	next := maps.Clone(st.other)
	next[ovn.KeyIPAMGen] = strconv.FormatInt(st.gen+1, 10)
	ops := []ovsdb.Operation{
		{Op: ovsdb.OperationWait, Table: nbdb.LogicalSwitchTable, Where: where, Timeout: &zero,
			Columns: []string{"other_config"}, Until: string(ovsdb.WaitConditionEqual),
			Rows: []ovsdb.Row{{"other_config": toOvsMap(st.other)}}},
		{Op: ovsdb.OperationUpdate, Table: nbdb.LogicalSwitchTable, Where: where,
			Row: ovsdb.Row{"other_config": toOvsMap(next)}},
	}
	var del []any
	for _, ip := range c.unset {
		del = append(del, ovn.KeyIPPrefix+ip.String())
	}
	ins := map[any]any{}
	for ip, e := range c.set {
		del = append(del, ovn.KeyIPPrefix+ip.String())
		ins[ovn.KeyIPPrefix+ip.String()] = e.String()
	}
	var muts []ovsdb.Mutation
	if len(del) > 0 {
		muts = append(muts, ovsdb.Mutation{Column: "external_ids", Mutator: ovsdb.MutateOperationDelete, Value: ovsdb.OvsSet{GoSet: del}})
	}
	if len(ins) > 0 {
		muts = append(muts, ovsdb.Mutation{Column: "external_ids", Mutator: ovsdb.MutateOperationInsert, Value: ovsdb.OvsMap{GoMap: ins}})
	}
	if len(muts) > 0 {
		ops = append(ops, ovsdb.Operation{Op: ovsdb.OperationMutate, Table: nbdb.LogicalSwitchTable, Where: where, Mutations: muts})
	}
	return ops
}

func toOvsMap(m map[string]string) ovsdb.OvsMap {
	out := make(map[any]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return ovsdb.OvsMap{GoMap: out}
}

// applied records a committed change in st.
func (st *netState) applied(c *change) {
	for _, ip := range c.unset {
		if e, ok := st.entries[ip]; ok && e.MAC != "" {
			delete(st.byMAC, e.MAC)
		}
		delete(st.entries, ip)
	}
	for ip, e := range c.set {
		if old, ok := st.entries[ip]; ok && old.MAC != "" {
			delete(st.byMAC, old.MAC)
		}
		st.entries[ip] = e
		if e.MAC != "" {
			st.byMAC[e.MAC] = ip
		}
	}
	st.other[ovn.KeyIPAMGen] = strconv.FormatInt(st.gen+1, 10)
	st.gen++
}

// run performs one optimistic operation on network: attempt builds the
// change and the extra operations from the locked state; the whole is
// committed guarded by the generation, and retried from fresh state when
// another daemon changed the network meanwhile.
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
		guard := st.ops(c)
		err = a.NB.Transact(ctx, what, append(guard, extra...))
		if err == nil {
			st.applied(c)
			st.mu.Unlock()
			return nil
		}
		st.undo(c)
		var we *ovs.WaitError
		if !errors.As(err, &we) || we.Index != 0 || try >= maxRetries {
			st.mu.Unlock()
			if we != nil && we.Index == 0 {
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

// Want is what a port or reservation asks for.
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

// macInUse reports whether a QuantumNet port already has mac.
func (a *Allocator) macInUse(mac string) bool {
	ps, _ := ovs.Query(a.NB.Conn, func(p *nbdb.LogicalSwitchPort) bool {
		if p.ExternalIDs[ovn.KeyNetwork] == "" || len(p.Addresses) == 0 {
			return false
		}
		f := strings.Fields(p.Addresses[0])
		return len(f) > 0 && strings.EqualFold(f[0], mac)
	})
	return len(ps) > 0
}

// pick chooses the MAC and one address per family of the network for a
// port (static binding of the MAC first, then requested, then the next free).
func (a *Allocator) pick(st *netState, want Want, port string, c *change) (*Claim, error) {
	cl := &Claim{Spec: st.spec}
	if want.MAC != nil {
		if len(want.MAC) != 6 || want.MAC[0]&1 != 0 {
			return nil, fmt.Errorf("%w: mac: %s is not a unicast Ethernet address", ErrInvalid, want.MAC)
		}
		if a.macInUse(want.MAC.String()) {
			return nil, fmt.Errorf("%w: mac: %s is already used by another port", ErrConflict, want.MAC)
		}
		cl.MAC = want.MAC
	} else {
		mac, err := ipam.NewMAC(a.MACPrefix, func(m string) bool { _, static := st.byMAC[m]; return static || a.macInUse(m) })
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
					return nil, fmt.Errorf("%w: ips: %s is not a usable address of %s: %v", ErrInvalid, want, fam.subnet, err)
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
		c := newChange()
		cl, err := a.pick(st, want, name, c)
		if err != nil {
			st.undo(c)
			return nil, nil, err
		}
		ops, err := a.NB.CreatePortOps(ls, mk(cl))
		if err != nil {
			st.undo(c)
			return nil, nil, err
		}
		claim = cl
		return c, ops, nil
	})
	return claim, err
}

// DeletePort deletes the port and releases its addresses (a static binding
// stays, free for its MAC again) in one transaction. A missing port is not
// an error.
func (a *Allocator) DeletePort(ctx context.Context, name string) error {
	lsp, err := a.NB.GetPort(name)
	if err != nil {
		if errors.Is(err, ovn.ErrNotFound) {
			return nil
		}
		return err
	}
	netName := lsp.ExternalIDs[ovn.KeyNetwork]
	if netName == "" {
		return fmt.Errorf("logical port %s: %w", name, ovn.ErrNotManaged)
	}
	if _, err := a.NB.GetSwitch(netName); err != nil {
		return a.NB.DeletePort(ctx, name) // no switch: no keys either
	}
	return a.run(ctx, netName, "delete logical port "+name, func(st *netState, _ *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
		ops, err := a.NB.DeletePortOps(name)
		if err != nil || ops == nil {
			return newChange(), nil, err
		}
		c := newChange()
		for _, ip := range portAddrs(lsp) {
			e, ok := st.entries[ip]
			if !ok || e.Port != name {
				continue
			}
			if e.Owner != "" { // static binding: keep it, no longer in use
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
	if owner == "" || strings.ContainsAny(owner, ";=") {
		return netip.Addr{}, fmt.Errorf("%w: owner: %q must be non-empty without ';' or '='", ErrInvalid, owner)
	}
	if mac != nil && (len(mac) != 6 || mac[0]&1 != 0) {
		return netip.Addr{}, fmt.Errorf("%w: mac: %s is not a unicast Ethernet address", ErrInvalid, mac)
	}
	var got netip.Addr
	err := a.run(ctx, netName, "reserve on "+netName, func(st *netState, _ *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
		c := newChange()
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
		if mac != nil {
			e.MAC = mac.String()
		}
		c.set[got] = e
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
		c := newChange()
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

// Reconcile drops the keys of ports that no longer exist (deleted by another
// tool, without their keys).
func (a *Allocator) Reconcile(ctx context.Context) error {
	lss, err := a.NB.ListSwitches()
	if err != nil {
		return err
	}
	var errs []error
	for _, ls := range lss {
		var stale []netip.Addr
		for k, v := range ls.ExternalIDs {
			s, ok := strings.CutPrefix(k, ovn.KeyIPPrefix)
			e := parseEntry(v)
			if !ok || e.Port == "" {
				continue
			}
			if _, err := a.NB.GetPort(e.Port); errors.Is(err, ovn.ErrNotFound) {
				if ip, err := netip.ParseAddr(s); err == nil {
					stale = append(stale, ip)
				}
			}
		}
		if len(stale) == 0 {
			continue
		}
		netName := ls.ExternalIDs[ovn.KeyNetwork]
		a.Log.Info("reconcile: releasing addresses of ports that are gone", "network", netName, "addresses", stale)
		errs = append(errs, a.run(ctx, netName, "reconcile "+netName, func(st *netState, _ *nbdb.LogicalSwitch) (*change, []ovsdb.Operation, error) {
			c := newChange()
			for _, ip := range stale {
				e, ok := st.entries[ip]
				if !ok || e.Port == "" {
					continue
				}
				if _, err := a.NB.GetPort(e.Port); !errors.Is(err, ovn.ErrNotFound) {
					continue
				}
				if e.Owner != "" {
					e.Port = ""
					c.set[ip] = e
					continue
				}
				c.unset = append(c.unset, ip)
				if p := st.pools[ip.Is6()]; p != nil && p.Release(ip) == nil {
					c.released = append(c.released, ip)
				}
			}
			return c, nil, nil
		}))
	}
	return errors.Join(errs...)
}
