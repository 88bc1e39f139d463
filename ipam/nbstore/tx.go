package nbstore

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"strconv"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Tx is one change of a network's allocations committed by its owner in
// the owner's transaction:
//
//	tx := store.Begin(network, "create logical port "+name)
//	defer tx.Abort()
//	for {
//		claim, err := tx.Allocate(ctx, want, name) // or tx.Free(ctx, port)
//		...                                         // the owner's operations
//		ops, err := tx.Ops()                        // first in the transaction
//		res, err := nb.TransactResults(ctx, tx.What(), append(ops, own...))
//		if retry, err := tx.Commit(ctx, res, err); !retry {
//			return claim, err
//		}
//	}
//
// Between Allocate (or Free) and Commit (or Abort) the network's state is
// locked: the picks are this daemon's until the transaction is decided.
// Commit records a committed change, and undoes the picks of a failed one;
// it asks for a retry (from fresh state) when another daemon allocated on
// the network meanwhile, at most maxRetries times.
type Tx struct {
	s        *Store
	network  string
	what     string
	try      int
	st       *netState // locked while set
	ls       *nbdb.LogicalSwitch
	c        *change
	ownFirst int // index of the first reservation insert among the results
}

// Begin starts a change of network's allocations; what names it in errors.
func (s *Store) Begin(network, what string) *Tx {
	return &Tx{s: s, network: network, what: what}
}

// What is the description the transaction is committed under.
func (tx *Tx) What() string { return tx.what }

// Switch is the network's switch as the locked state was built from.
func (tx *Tx) Switch() *nbdb.LogicalSwitch { return tx.ls }

// open locks the network's state for one attempt.
func (tx *Tx) open(guard bool) (*netState, error) {
	tx.Abort()
	st, ls, err := tx.s.lock(tx.network)
	if err != nil {
		return nil, err
	}
	tx.st, tx.ls, tx.c = st, ls, newChange(guard)
	return st, nil
}

// fail undoes the attempt and returns err.
func (tx *Tx) fail(err error) error {
	tx.Abort()
	return err
}

// Allocate locks the network and picks a MAC and one address per family
// for the new port called port (see Want for the order of preference). On
// error nothing is left picked.
func (tx *Tx) Allocate(_ context.Context, want Want, port string) (*Claim, error) {
	st, err := tx.open(true)
	if err != nil {
		return nil, err
	}
	cl, err := tx.s.pick(st, want, port, tx.c)
	if err != nil {
		return nil, tx.fail(err)
	}
	return cl, nil
}

// Free locks the network and frees the addresses of p, a port being
// deleted in the transaction (a static binding stays, free for its MAC
// again).
func (tx *Tx) Free(_ context.Context, p ovn.Port) error {
	st, err := tx.open(true)
	if err != nil {
		return err
	}
	c := tx.c
	for _, ip := range p.IPs {
		e, ok := st.entries[ip]
		if !ok || e.Port != p.Name {
			continue
		}
		if e.Owner != "" { // static binding: stays, no longer in use
			e.Port = ""
			c.set[ip] = e
			continue
		}
		c.unset = append(c.unset, ip)
		if pool := st.pools[ip.Is6()]; pool != nil && pool.Release(ip) == nil {
			c.released = append(c.released, ip)
		}
	}
	return nil
}

// Ops are the operations of the change: the generation guard (first, when
// it allocates) and the reservation rows. They must open the transaction.
func (tx *Tx) Ops() ([]ovsdb.Operation, error) {
	st, c := tx.st, tx.c
	if st == nil {
		return nil, fmt.Errorf("%s: no allocation in progress", tx.what)
	}
	var ops []ovsdb.Operation
	if c.guard {
		ops = append(ops, ovn.SwitchGuardOps(st.uuid, st.other, st.nextOther())...)
	}
	tx.ownFirst = len(ops)
	for i, r := range c.inserts {
		r.UUID = fmt.Sprintf("res%d", i)
		o, err := tx.s.NB.InsertReservationOps(r)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	for _, u := range c.deletes {
		o, err := tx.s.NB.DeleteReservationOps(u)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// Commit reports the outcome of the transaction that carried Ops (first):
// res and err as the commit returned them. It records a committed change,
// undoes a failed one, and returns retry when the generation guard lost to
// another daemon: the caller starts again with Allocate or Free, from the
// winner's state. err is the commit's error otherwise (wrapped when the
// retries ran out).
func (tx *Tx) Commit(ctx context.Context, res []ovsdb.OperationResult, err error) (retry bool, _ error) {
	st, c := tx.st, tx.c
	if st == nil {
		return false, fmt.Errorf("%s: no allocation in progress", tx.what)
	}
	if err == nil {
		st.applied(c, res, tx.ownFirst)
		tx.release()
		return false, nil
	}
	st.undo(c)
	var we *ovs.WaitError
	conflict := c.guard && errors.As(err, &we) && we.Index == 0
	try := tx.try
	tx.try++
	if !conflict || try >= maxRetries {
		tx.release()
		if conflict {
			return false, fmt.Errorf("%s: network %q changed concurrently %d times, giving up: %w", tx.what, tx.network, try+1, err)
		}
		return false, err
	}
	// Another daemon moved the generation: wait for its change to reach
	// the cache, then start again from it.
	seen := st.gen
	st.gen = -1
	tx.release()
	tx.s.waitGen(ctx, tx.network, seen)
	return true, nil
}

// Abort undoes an attempt not committed (a no-op after Commit).
func (tx *Tx) Abort() {
	if tx.st == nil {
		return
	}
	tx.st.undo(tx.c)
	tx.release()
}

func (tx *Tx) release() {
	tx.st.mu.Unlock()
	tx.st, tx.ls, tx.c = nil, nil, nil
}

// change is one transaction's worth of allocation changes.
type change struct {
	guard    bool                 // allocates: guarded by the generation
	set      map[netip.Addr]Entry // entries after the commit
	unset    []netip.Addr
	inserts  []ovn.Reservation // reservation rows to create
	deletes  []string          // reservation rows to delete
	picked   []netip.Addr      // taken from the pools (given back on failure)
	released []netip.Addr      // given back to the pools (taken again on failure)
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

// applied records a committed change in st; res are the transaction's
// results, for the UUIDs of inserted reservations (from index first).
func (st *netState) applied(c *change, res []ovsdb.OperationResult, first int) {
	for _, ip := range c.unset {
		if e, ok := st.entries[ip]; ok && e.MAC != "" {
			delete(st.byMAC, e.MAC)
		}
		delete(st.entries, ip)
	}
	for i, r := range c.inserts {
		e := c.set[r.IP]
		if first+i < len(res) {
			e.row = res[first+i].UUID.GoUUID
		}
		c.set[r.IP] = e
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
