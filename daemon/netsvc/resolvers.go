package netsvc

import (
	"context"
	"net/netip"
	"slices"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// A network's resolver addresses: read from its switch, or chosen (and
// reserved in IPAM) when it lacks them.

// Resolvers returns a network's resolver addresses (see network.ResolversOf).
func (m *Manager) Resolvers(netName string) (Resolvers, error) {
	ls, err := m.NB.GetSwitch(netName)
	if err != nil {
		return Resolvers{}, err
	}
	return network.ResolversOf(ls), nil
}

// pickResolvers chooses the resolver addresses a network lacks: with an
// allocation range, the subnet's last host address when it lies outside
// the range (IPAM never hands it out); else the range's last free address,
// reserved in IPAM (owner quantumnet:dns) — or one such reservation made
// before (by a concurrent Ensure, here or on another daemon); none if the
// subnet is full. Reservations of the resolver's owner that are not the
// recorded address (a concurrent Ensure that lost) are released.
func (m *Manager) pickResolvers(ctx context.Context, spec network.Spec, have Resolvers) Resolvers {
	r := have
	mine, ok := passResolvers(ctx, spec.Name)
	if !ok {
		if rs, err := m.NB.ReservationsOwned(spec.Name, keys.OwnerResolver); err == nil {
			for _, res := range rs {
				mine = append(mine, res.IP)
			}
		}
	}
	slices.SortFunc(mine, func(a, b netip.Addr) int { return b.Compare(a) }) // the highest first: the candidate's end
	for _, f := range []struct {
		pool ipam.PoolConfig
		got  *netip.Addr
	}{{spec.Pool4(), &r.V4}, {spec.Pool6(), &r.V6}} {
		if !f.pool.Subnet.IsValid() || m.Alloc == nil {
			continue
		}
		v6 := f.pool.Subnet.Addr().Is6()
		if f.got.IsValid() {
			for _, a := range mine {
				if a.Is6() == v6 && a != *f.got {
					if err := m.Alloc.Release(ctx, spec.Name, a); err == nil {
						m.Log.Info("released a resolver address another Ensure reserved", "network", spec.Name, "address", a)
					}
				}
			}
			continue
		}
		if a := outsideRange(f.pool); a.IsValid() {
			*f.got = a
			continue
		}
		if i := slices.IndexFunc(mine, func(a netip.Addr) bool { return a.Is6() == v6 }); i >= 0 {
			*f.got = mine[i]
			continue
		}
		a, err := m.Alloc.Reserve(ctx, spec.Name, keys.OwnerResolver, ResolverCandidate(f.pool), v6, nil)
		if err != nil {
			a, err = m.Alloc.Reserve(ctx, spec.Name, keys.OwnerResolver, netip.Addr{}, v6, nil)
		}
		if err != nil {
			m.Log.Warn("network has no room for a resolver address; DHCP names the gateway (OVN native DNS only)", "network", spec.Name, "subnet", f.pool.Subnet, "err", err)
			continue
		}
		*f.got = a
	}
	return r
}

// outsideRange is the subnet's last host address if an allocation range
// leaves it out (and it is not the gateway or excluded), else invalid.
func outsideRange(c ipam.PoolConfig) netip.Addr {
	if !c.Range.First.IsValid() {
		return netip.Addr{}
	}
	full := c
	full.Range = ipam.Range{}
	a := ResolverCandidate(full)
	if !a.IsValid() || a == c.Gateway || c.Subnet.Addr().Is6() && a.Less(c.Range.Last) {
		return netip.Addr{}
	}
	if !(a.Less(c.Range.First) || c.Range.Last.Less(a)) {
		return netip.Addr{}
	}
	for _, x := range c.Exclude {
		if !a.Less(x.First) && !x.Last.Less(a) {
			return netip.Addr{}
		}
	}
	return a
}

// passKey carries, in a periodic pass's context, the resolver reservations
// of every network read once for the pass: Reservations scans every
// DHCP_Options row (IPAM's reservations with them), which per network made
// a pass cost networks x reservations (issue 20). A reservation made or
// released during the pass is seen by the next one; a retry of Ensure
// reads afresh (withoutPass).
type passKey struct{}

// withPass is ctx carrying the resolver reservations of every network.
func (m *Manager) withPass(ctx context.Context) context.Context {
	rs, err := m.NB.ReservationsOf(keys.OwnerResolver)
	if err != nil {
		return ctx
	}
	byNet := map[string][]netip.Addr{}
	for _, r := range rs {
		byNet[r.Network] = append(byNet[r.Network], r.IP)
	}
	return context.WithValue(ctx, passKey{}, byNet)
}

func withoutPass(ctx context.Context) context.Context {
	if ctx.Value(passKey{}) == nil {
		return ctx
	}
	return context.WithValue(ctx, passKey{}, nil)
}

// passResolvers is the network's resolver reservations read for the pass
// (ok false: none were, read them now).
func passResolvers(ctx context.Context, network string) ([]netip.Addr, bool) {
	byNet, ok := ctx.Value(passKey{}).(map[string][]netip.Addr)
	if !ok {
		return nil, false
	}
	return slices.Clone(byNet[network]), true
}
