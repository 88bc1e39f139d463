// Package lbmember makes workload ports members of load balancers at
// their start (CNI loadBalancers, VM metadata load-balancers): it is
// lport.LoadBalancers over the load balancer store (daemon/lb/nbstore),
// wired by the daemon's main. A port joins load balancers of its own
// network; a deleted port's memberships are pruned by the load
// balancers' reconciler, not here.
package lbmember

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lb"
	lbstore "github.com/quantumnet/quantumnet/daemon/lb/nbstore"
	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn"
)

// Members joins ports to load balancers.
type Members struct {
	NB  *ovn.NB
	LBs *lbstore.Manager
}

var _ lport.LoadBalancers = (*Members)(nil)

// portWait bounds the wait for a new port to reach the cache the load
// balancer store looks members up in.
const portWait = 5 * time.Second

// Check refuses a name that is no load balancer, or one on another
// network than the port's, naming the field and the load balancer.
func (m *Members) Check(network string, names []string) error {
	for _, n := range names {
		if err := lb.ValidateName(n); err != nil {
			return errs.New(errs.Invalid, fmt.Sprintf("loadBalancers: %q is not a load balancer name", n))
		}
		l, err := m.LBs.Get(n)
		switch {
		case errors.Is(err, errs.NotFound):
			return errs.New(errs.NotFound, fmt.Sprintf("loadBalancers: load balancer %s does not exist (qnetctl lb list shows those that do)", n))
		case err != nil:
			return fmt.Errorf("loadBalancers: load balancer %s: %w", n, err)
		case l.Network != network:
			return errs.New(errs.Invalid, fmt.Sprintf("loadBalancers: load balancer %s is on network %s, the port on %s: a port joins load balancers of its own network", n, l.Network, network))
		}
	}
	return nil
}

// Join makes port a member (enabled) of each load balancer named; one it
// already belongs to is left as it is. If one fails, the memberships this
// call added are taken back.
func (m *Members) Join(ctx context.Context, port string, names []string) (err error) {
	if len(names) == 0 {
		return nil
	}
	if err := m.waitPort(ctx, port); err != nil {
		return err
	}
	var added []string
	defer func() {
		if err != nil {
			for _, n := range added {
				_, _ = m.LBs.DeleteMember(context.WithoutCancel(ctx), n, port)
			}
		}
	}()
	for _, n := range names {
		l, err := m.LBs.Get(n)
		if err != nil {
			return fmt.Errorf("loadBalancers: load balancer %s: %w", n, err)
		}
		if lb.FindMember(l.Members, port) >= 0 {
			continue
		}
		if _, err := m.LBs.AddMember(ctx, n, port, 1); err != nil {
			if errors.Is(err, errs.Conflict) {
				continue // joined meanwhile
			}
			return fmt.Errorf("loadBalancers: joining %s: %w", n, err)
		}
		added = append(added, n)
	}
	return nil
}

// waitPort waits until the cache holds port (its transaction committed).
func (m *Members) waitPort(ctx context.Context, port string) error {
	deadline := time.Now().Add(portWait)
	for {
		_, err := m.NB.LookupPort(port)
		if err == nil {
			return nil
		}
		if !errors.Is(err, errs.NotFound) || time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("loadBalancers: port %s: %w", port, err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
