// Package lport owns the Northbound transaction of a workload's logical
// port, for containers (daemon/attach) and VM NICs (daemon/vm) alike: one
// transaction creates the port with its addresses (ipam/nbstore's
// allocation and generation guard), its row (pkg/ovn's builders), its
// network's DHCP options references and its security group memberships;
// one deletes it and frees its addresses. The load balancers a port joins
// are checked before and joined after that transaction. It calls only downward: the
// services that contribute rows are small interfaces declared here.
package lport

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// DHCP gives the DHCP options rows a network's new ports refer to
// (daemon/netsvc).
type DHCP interface {
	PortDHCP(network string) (v4, v6 *string)
}

// Groups gives the operations that make a new port (lsp.UUID: its named
// UUID) a member of the port groups of its security groups (the security
// group store).
type Groups interface {
	PortOps(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error)
}

// NAT gives the operations that go with the deletion of a port: its
// floating IPs' NAT rules (the router store; the floating IPs stay
// allocated, disassociated).
type NAT interface {
	PortDeleteOps(p ovn.Port) ([]ovsdb.Operation, error)
}

// LoadBalancers makes ports members of load balancers (the load balancer
// store, through daemon/lport/lbmember). Check refuses names a port of
// network cannot join, before anything is made; Join makes the existing
// port a member of each (already a member is fine). A deleted port's
// memberships are pruned by the load balancers' own reconciler.
type LoadBalancers interface {
	Check(network string, names []string) error
	Join(ctx context.Context, port string, names []string) error
}

// Ports creates and deletes logical ports with their allocations.
type Ports struct {
	NB     *ovn.NB
	Store  *nbstore.Store
	DHCP   DHCP          // optional
	Groups Groups        // optional
	NAT    NAT           // optional
	LBs    LoadBalancers // optional: without, naming load balancers is refused
}

// CheckLoadBalancers refuses load balancers (the CNI's loadBalancers, a
// VM NIC's load-balancers) a new port of network cannot join; call it
// before anything of the port is made. None named: nil.
func (ps *Ports) CheckLoadBalancers(network string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if ps.LBs == nil {
		return errs.New(errs.Invalid, "loadBalancers: load balancers are not enabled on this daemon")
	}
	return ps.LBs.Check(network, names)
}

// JoinLoadBalancers makes the port a member of the load balancers named
// (after its transaction committed; idempotent).
func (ps *Ports) JoinLoadBalancers(ctx context.Context, port string, names []string) error {
	if len(names) == 0 {
		return nil
	}
	if ps.LBs == nil {
		return errs.New(errs.Invalid, "loadBalancers: load balancers are not enabled on this daemon")
	}
	return ps.LBs.Join(ctx, port, names)
}

// Create allocates for the port p (p.Name, p.Network; MAC and IPs are
// filled from the claim) and creates it in the same transaction, retried
// from fresh state while other daemons allocate on the network.
func (ps *Ports) Create(ctx context.Context, p ovn.Port, want nbstore.Want) (*nbstore.Claim, error) {
	return ps.CreateTimed(ctx, p, want, nil)
}

// CreateTimes splits the time of a Create: allocating (IPAM, every try)
// and the Northbound transactions (the rest).
type CreateTimes struct {
	IPAM, Txn time.Duration
}

// CreateTimed is Create telling times (if not nil) where its time went.
func (ps *Ports) CreateTimed(ctx context.Context, p ovn.Port, want nbstore.Want, times *CreateTimes) (*nbstore.Claim, error) {
	t0 := time.Now()
	if times != nil {
		defer func() { times.Txn = time.Since(t0) - times.IPAM }()
	}
	tx := ps.Store.Begin(p.Network, "create logical port "+p.Name)
	defer tx.Abort()
	for {
		tA := time.Now()
		cl, err := tx.Allocate(ctx, want, p.Name)
		if times != nil {
			times.IPAM += time.Since(tA)
		}
		if err != nil {
			return nil, err
		}
		p.MAC, p.IPs = cl.MAC, cl.IPs()
		own, err := ps.createOps(tx.Switch(), p)
		if err != nil {
			return nil, err
		}
		guard, err := tx.Ops()
		if err != nil {
			return nil, err
		}
		res, err := ps.NB.TransactResults(ctx, tx.What(), append(guard, own...))
		if retry, err := tx.Commit(ctx, res, err); !retry {
			if we := (*ovs.WaitError)(nil); errors.As(err, &we) && we.Index == len(guard)+ovn.CreatePortMACWait {
				// Another daemon gave the MAC to a port (of another network:
				// the network's own guard covers its ports) meanwhile.
				return nil, fmt.Errorf("%w: mac: %s is already used by another port", nbstore.ErrConflict, cl.MAC)
			}
			if err != nil {
				return nil, err
			}
			return cl, nil
		}
	}
}

// createOps builds the port's own operations: the row with its DHCP
// references, then its group memberships.
func (ps *Ports) createOps(ls *nbdb.LogicalSwitch, p ovn.Port) ([]ovsdb.Operation, error) {
	lsp := p.Row()
	if ps.DHCP != nil {
		lsp.Dhcpv4Options, lsp.Dhcpv6Options = ps.DHCP.PortDHCP(p.Network)
	}
	ops, err := ps.NB.CreatePortOps(ls, lsp)
	if err != nil {
		return nil, err
	}
	if ps.Groups != nil {
		more, err := ps.Groups.PortOps(lsp)
		if err != nil {
			return nil, err
		}
		ops = append(ops, more...)
	}
	return ops, nil
}

// Delete deletes the port called name, which frees its addresses (a static
// binding stays, free for its MAC again). A missing port is not an error.
func (ps *Ports) Delete(ctx context.Context, name string) error {
	p, err := ps.NB.LookupPort(name)
	if err != nil {
		if errors.Is(err, errs.NotFound) {
			return nil
		}
		return err
	}
	if !p.Managed() {
		return fmt.Errorf("logical port %s: %w", name, ovn.ErrNotManaged)
	}
	if _, err := ps.NB.GetSwitch(p.Network); err != nil {
		return ps.NB.DeletePort(ctx, name)
	}
	tx := ps.Store.Begin(p.Network, "delete logical port "+name)
	defer tx.Abort()
	for {
		if err := tx.Free(ctx, p); err != nil {
			return err
		}
		own, err := ps.NB.DeletePortOps(name)
		if err != nil || own == nil {
			return err // gone meanwhile: nothing to free
		}
		if ps.NAT != nil {
			nat, err := ps.NAT.PortDeleteOps(p)
			if err != nil {
				return err
			}
			own = append(own, nat...)
		}
		guard, err := tx.Ops()
		if err != nil {
			return err
		}
		res, err := ps.NB.TransactResults(ctx, tx.What(), append(guard, own...))
		if retry, err := tx.Commit(ctx, res, err); !retry {
			return err
		}
	}
}
