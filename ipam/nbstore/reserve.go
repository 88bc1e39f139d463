package nbstore

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

// commitOwn commits a Tx whose only operations are its own (a reservation
// change), retrying when the guard loses; attempt fills tx's change.
func (s *Store) commitOwn(ctx context.Context, tx *Tx, attempt func(st *netState, c *change) error) error {
	defer tx.Abort()
	for {
		st, err := tx.open(true)
		if err != nil {
			return err
		}
		if err := attempt(st, tx.c); err != nil {
			return tx.fail(err)
		}
		ops, err := tx.Ops()
		if err != nil {
			return tx.fail(err)
		}
		res, err := s.NB.TransactResults(ctx, tx.what, ops)
		if retry, err := tx.Commit(ctx, res, err); !retry {
			return err
		}
	}
}

// Reserve records an allocation not tied to a port: owner is who holds it;
// ip is the wanted address (zero: the next free one, of the family given by
// v6); with mac it is a static binding that a port with that MAC gets.
func (s *Store) Reserve(ctx context.Context, netName, owner string, ip netip.Addr, v6 bool, mac net.HardwareAddr) (netip.Addr, error) {
	if owner == "" {
		return netip.Addr{}, fmt.Errorf("%w: owner: required", errs.Invalid)
	}
	if mac != nil && (len(mac) != 6 || mac[0]&1 != 0) {
		return netip.Addr{}, fmt.Errorf("%w: mac: %s is not a unicast Ethernet address", errs.Invalid, mac)
	}
	var got netip.Addr
	err := s.commitOwn(ctx, s.Begin(netName, "reserve on "+netName), func(st *netState, c *change) error {
		var err error
		got, err = reserve(st, c, netName, owner, ip, v6, mac)
		return err
	})
	return got, err
}

func reserve(st *netState, c *change, netName, owner string, ip netip.Addr, v6 bool, mac net.HardwareAddr) (netip.Addr, error) {
	if mac != nil {
		if old, ok := st.byMAC[mac.String()]; ok {
			return netip.Addr{}, fmt.Errorf("%w: mac: %s is already bound to %s", ErrConflict, mac, old)
		}
	}
	fam := v6
	if ip.IsValid() {
		fam = ip.Is6()
	}
	pool := st.pools[fam]
	if pool == nil {
		return netip.Addr{}, fmt.Errorf("%w: network %q has no IPv%s subnet", errs.Invalid, netName, map[bool]string{false: "4", true: "6"}[fam])
	}
	got := ip
	if ip.IsValid() {
		if err := pool.Claim(ip); err != nil {
			switch {
			case errors.Is(err, ipam.ErrInUse):
				return netip.Addr{}, fmt.Errorf("%w: %s is already in use on network %q", ErrConflict, ip, netName)
			case errors.Is(err, ipam.ErrReserved):
				return netip.Addr{}, fmt.Errorf("%w: address: %s is never handed out on network %q (network, broadcast, gateway or excluded)", errs.Invalid, ip, netName)
			default:
				return netip.Addr{}, fmt.Errorf("%w: address: %s is outside network %q's allocation range %s", errs.Invalid, ip, netName, pool.RangeString())
			}
		}
	} else {
		var err error
		if got, err = pool.Allocate(); err != nil {
			return netip.Addr{}, fmt.Errorf("network %q: %w", netName, err)
		}
	}
	c.picked = append(c.picked, got)
	e := Entry{Owner: owner}
	if mac != nil {
		e.MAC = mac.String()
	}
	c.set[got] = e
	c.inserts = append(c.inserts, ovn.Reservation{Network: netName, Owner: owner, MAC: e.MAC, IP: got})
	return got, nil
}

// Release ends a reservation. An address still used by a port stays the
// port's; it is freed when the port goes.
func (s *Store) Release(ctx context.Context, netName string, ip netip.Addr) error {
	return s.commitOwn(ctx, s.Begin(netName, "release on "+netName), func(st *netState, c *change) error {
		e, ok := st.entries[ip]
		if !ok || e.Owner == "" {
			return fmt.Errorf("%w: %s is not reserved on network %q", errs.NotFound, ip, netName)
		}
		c.deletes = append(c.deletes, e.row)
		if e.Port != "" {
			c.set[ip] = Entry{Port: e.Port}
			return nil
		}
		c.unset = append(c.unset, ip)
		if p := st.pools[ip.Is6()]; p != nil && p.Release(ip) == nil {
			c.released = append(c.released, ip)
		}
		return nil
	})
}

// Reserve reserves, in the owner's transaction, ip for owner on the Tx's
// network (zero ip: the next free address of the family v6 says): a
// floating IP, a router's gateway address. Several Reserve and Unreserve
// calls make up one attempt; Ops, the commit and Commit follow as for
// Allocate, and a retry starts again with the first call.
func (tx *Tx) Reserve(owner string, ip netip.Addr, v6 bool) (netip.Addr, error) {
	st, err := tx.attempt()
	if err != nil {
		return netip.Addr{}, err
	}
	got, err := reserve(st, tx.c, tx.network, owner, ip, v6, nil)
	if err != nil {
		return netip.Addr{}, tx.fail(err)
	}
	return got, nil
}

// Unreserve ends, in the owner's transaction, the reservation of ip held
// by owner on the Tx's network (errs.NotFound if there is none).
func (tx *Tx) Unreserve(owner string, ip netip.Addr) error {
	st, err := tx.attempt()
	if err != nil {
		return err
	}
	e, ok := st.entries[ip]
	if !ok || e.Owner != owner {
		return tx.fail(fmt.Errorf("%w: %s is not reserved by %s on network %q", errs.NotFound, ip, owner, tx.network))
	}
	c := tx.c
	c.deletes = append(c.deletes, e.row)
	c.unset = append(c.unset, ip)
	if p := st.pools[ip.Is6()]; p != nil && p.Release(ip) == nil {
		c.released = append(c.released, ip)
	}
	return nil
}

// attempt is the locked state of the attempt in progress, opened (with
// the generation guard) by its first call.
func (tx *Tx) attempt() (*netState, error) {
	if tx.st != nil {
		return tx.st, nil
	}
	return tx.open(true)
}

// Hold opens the attempt without changing anything yet (a transaction
// that may reserve or release nothing still needs Ops).
func (tx *Tx) Hold() error {
	_, err := tx.attempt()
	return err
}
