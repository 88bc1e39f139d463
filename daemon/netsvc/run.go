package netsvc

import (
	"context"
	"slices"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/pkg/dirty"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// Runner follows Northbound: a change of a network's switch, of its ports
// (names, addresses), of its load balancers' names (VIP, listeners) or of
// its resolver reservations brings its service
// rows and this chassis' resolver endpoint up to date within milliseconds;
// everything is checked again every Interval.
type Runner struct {
	M         *Manager
	Endpoints *Endpoints // nil: no resolver endpoints on this chassis
	Upstream  []string   // the daemon's default upstream DNS servers
	Interval  time.Duration

	dirty dirty.Set // networks
}

// networkOf returns the network a changed row belongs to, if any.
func networkOf(table string, m model.Model) string {
	switch r := m.(type) {
	case *nbdb.LogicalSwitch:
		return network.NameOf(r)
	case *nbdb.LogicalSwitchPort:
		if p := ovn.PortOf(r); p.Network != "" {
			return p.Network
		} else {
			return p.ServiceOf
		}
	case *nbdb.DHCPOptions:
		return dhcpNetwork(r)
	case *nbdb.LoadBalancer:
		n, _, _, _ := serviceOf(r)
		return n
	}
	return ""
}

// matters reports whether a change of a workload's port concerns the
// network's services: its DNS name or addresses (records), or DHCP options
// it should refer to and does not. A plain container ADD (no name, its
// DHCP references set at creation) wakes nothing: the ADD path stays quiet.
func matters(old, cur model.Model) bool {
	o, _ := old.(*nbdb.LogicalSwitchPort)
	c, _ := cur.(*nbdb.LogicalSwitchPort)
	view := func(p *nbdb.LogicalSwitchPort) ovn.Port {
		if p == nil {
			return ovn.Port{}
		}
		return ovn.PortOf(p)
	}
	ov, cv := view(o), view(c)
	named := func(p *nbdb.LogicalSwitchPort) bool { return p != nil && view(p).DNSName != "" }
	switch {
	case o == nil && c == nil:
		return false
	case ov.ServiceOf != "" || cv.ServiceOf != "":
		return true
	case c == nil:
		return named(o)
	case c.Dhcpv4Options == nil && c.Dhcpv6Options == nil:
		return true
	case o == nil:
		return named(c)
	}
	return named(o) != named(c) || ov.DNSName != cv.DNSName ||
		named(c) && !slices.Equal(o.Addresses, c.Addresses) ||
		!eqPtr(o.Dhcpv4Options, c.Dhcpv4Options) || !eqPtr(o.Dhcpv6Options, c.Dhcpv6Options)
}

func (r *Runner) mark(n string) { r.dirty.Mark(n) }

// Run works until ctx ends. Call it once Northbound is connected.
func (r *Runner) Run(ctx context.Context) {
	r.M.NB.Subscribe(func(table string, old, cur model.Model) {
		if table == nbdb.LogicalSwitchPortTable && !matters(old, cur) {
			return
		}
		if table == nbdb.LoadBalancerTable {
			o, _ := old.(*nbdb.LoadBalancer)
			c, _ := cur.(*nbdb.LoadBalancer)
			if !lbMatters(o, c) {
				return
			}
		}
		if old != nil {
			r.mark(networkOf(table, old))
		}
		if cur != nil {
			r.mark(networkOf(table, cur))
		}
	})
	r.dirty.Run(ctx, r.Interval, r.all, r.one)
	if r.Endpoints != nil {
		r.Endpoints.Close(context.Background())
	}
}

// passTimeout bounds the work of one network in one pass.
const passTimeout = 30 * time.Second

// all brings every network up to date and drops endpoints of networks
// that are gone.
func (r *Runner) all(ctx context.Context) {
	if !r.M.NB.Connected() {
		return
	}
	lss, err := r.M.NB.ListSwitches()
	if err != nil {
		return
	}
	keep := map[string]bool{}
	ctx = r.M.withPass(ctx) // per-network reads done once for the pass
	for i := range lss {
		if n := network.NameOf(&lss[i]); n != "" {
			keep[n] = true
			r.one(ctx, n)
		}
	}
	if r.Endpoints != nil {
		pctx, cancel := context.WithTimeout(ctx, passTimeout)
		r.Endpoints.Prune(pctx, keep)
		cancel()
	}
}

func (r *Runner) one(ctx context.Context, n string) {
	if !r.M.NB.Connected() {
		r.mark(n) // again once connected
		return
	}
	// A deadline per network: a stalled connection fails this network's
	// pass (the next pass retries) instead of stopping the runner.
	ctx, cancel := context.WithTimeout(ctx, passTimeout)
	defer cancel()
	ls, err := r.M.NB.GetSwitch(n)
	if err != nil {
		if r.Endpoints != nil {
			_ = r.Endpoints.Sync(ctx, n, nil, Resolvers{}, nil, nil, nil)
		}
		return
	}
	if err := r.M.Ensure(ctx, n); err != nil && ctx.Err() == nil {
		r.M.Log.Warn("network services", "network", n, "err", err)
	}
	if r.Endpoints == nil {
		return
	}
	spec, err := network.FromSwitch(ls)
	if err != nil {
		return
	}
	if spec.External { // no services: no resolver endpoint either
		_ = r.Endpoints.Sync(ctx, n, nil, Resolvers{}, nil, nil, nil)
		return
	}
	res, _ := r.M.Resolvers(n)
	hosts, _ := r.M.Hosts(n)
	up := spec.Upstream
	if len(up) == 0 {
		up = r.Upstream
	}
	if err := r.Endpoints.Sync(ctx, n, &spec, res, hosts, r.M.Services(n), up); err != nil && ctx.Err() == nil {
		r.M.Log.Warn("resolver endpoint", "network", n, "err", err)
	}
}
