package nbstore

import (
	"context"
	"errors"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/daemon/lb"
	"github.com/quantumnet/quantumnet/pkg/dirty"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The reconciler keeps every load balancer's derived columns in step with
// what they are derived from: a member port's addresses (or its deletion,
// which removes the member from the record and releases a probe source it
// alone needed), the routers (attach, detach, gateway) that decide the
// switches and router the row is on and which members the VIP reaches,
// and the floating IP (deleted: the listeners leave it).
// Events from the Northbound cache mark load balancers dirty: a port's
// change marks those it is a member of (an index port -> load balancers
// kept from Load_Balancer events, O(1) per event); a router, router port or
// a switch's router key marks all. A periodic sweep (O(load balancers ×
// members), never O(ports)) catches anything missed. A pass writes only
// what differs, guarded like any edit, so several daemons can run it.

// Reconciler runs the load balancers' reconcile loop.
type Reconciler struct {
	M        *Manager
	Interval time.Duration // the sweep (default 30 s)

	dirty dirty.Set // load balancers

	mu     sync.Mutex
	of     map[string]map[string]bool // member port -> load balancers
	passes int                        // completed passes (tests)
}

// Run works until ctx ends. Call it once Northbound is connected.
func (r *Reconciler) Run(ctx context.Context) {
	r.mu.Lock()
	r.of = map[string]map[string]bool{}
	r.mu.Unlock()
	r.M.NB.Subscribe(r.event)
	if rows, err := r.M.NB.LBs(); err == nil {
		for i := range rows {
			r.index(nil, &rows[i])
		}
	}
	r.dirty.Run(ctx, r.Interval, r.sweep, func(ctx context.Context, name string) { r.one(ctx, name, nil) })
}

// event runs in the cache's goroutine: it only marks.
func (r *Reconciler) event(table string, old, cur model.Model) {
	switch table {
	case nbdb.LoadBalancerTable:
		r.index(old, cur)
	case nbdb.LogicalSwitchPortTable:
		o, _ := old.(*nbdb.LogicalSwitchPort)
		c, _ := cur.(*nbdb.LogicalSwitchPort)
		if o != nil && c != nil && slicesEqual(o.Addresses, c.Addresses) {
			return
		}
		name := ""
		if o != nil {
			name = o.Name
		} else if c != nil {
			name = c.Name
		}
		r.mu.Lock()
		names := slices.Collect(maps.Keys(r.of[name]))
		r.mu.Unlock()
		r.dirty.Mark(names...)
	case nbdb.LogicalRouterTable, nbdb.LogicalRouterPortTable:
		r.dirty.MarkAll()
	case nbdb.DHCPOptionsTable: // a floating IP's reservation deleted
		if o, _ := old.(*nbdb.DHCPOptions); o != nil && cur == nil && o.ExternalIDs[keys.Owner] == keys.OwnerFIP {
			r.dirty.MarkAll()
		}
	case nbdb.LogicalSwitchTable:
		o, _ := old.(*nbdb.LogicalSwitch)
		c, _ := cur.(*nbdb.LogicalSwitch)
		if o == nil || c == nil || o.ExternalIDs[keys.Router] != c.ExternalIDs[keys.Router] {
			r.dirty.MarkAll()
		}
	}
}

func slicesEqual(a, b []string) bool {
	return len(a) == len(b) && (len(a) == 0 || maps.Equal(setOf(a), setOf(b)))
}

func setOf(a []string) map[string]bool {
	m := make(map[string]bool, len(a))
	for _, x := range a {
		m[x] = true
	}
	return m
}

// index keeps the member port -> load balancers index.
func (r *Reconciler) index(old, cur model.Model) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, x := range []model.Model{old, cur} {
		row, _ := x.(*nbdb.LoadBalancer)
		if row == nil || row.ExternalIDs[keys.LB] == "" {
			continue
		}
		name := row.ExternalIDs[keys.LB]
		l, err := lb.FromIDs(row.ExternalIDs, "tcp")
		if err != nil {
			continue
		}
		for _, mb := range l.Members {
			if mb.Port == "" {
				continue
			}
			if i == 0 {
				delete(r.of[mb.Port], name)
				if len(r.of[mb.Port]) == 0 {
					delete(r.of, mb.Port)
				}
				continue
			}
			if r.of[mb.Port] == nil {
				r.of[mb.Port] = map[string]bool{}
			}
			r.of[mb.Port][name] = true
		}
	}
}

// sweep reconciles every load balancer, from one topology read.
func (r *Reconciler) sweep(ctx context.Context) {
	rows, err := r.M.NB.LBs()
	var t *topo
	if err == nil && len(rows) > 0 && r.M.NB.Connected() {
		t, err = r.M.topology()
	}
	if err == nil {
		for _, row := range rows {
			r.one(ctx, row.ExternalIDs[keys.LB], t)
		}
	}
	r.mu.Lock()
	r.passes++
	r.mu.Unlock()
}

// one reconciles the load balancer name (t: a shared topology, or nil).
func (r *Reconciler) one(ctx context.Context, name string, t *topo) {
	if !r.M.NB.Connected() {
		return
	}
	if _, err := r.M.sync(ctx, name, t); err != nil && !isNotFound(err) {
		r.M.Log.Warn("load balancer reconcile failed", "lb", name, "err", err)
	}
}

// Sync brings the row of the load balancer name in step with its record,
// its members' ports and the routers; wrote reports a write.
func (m *Manager) Sync(ctx context.Context, name string) (wrote bool, err error) {
	return m.sync(ctx, name, nil)
}

func (m *Manager) sync(ctx context.Context, name string, t *topo) (wrote bool, err error) {
	if err := lb.ValidateName(name); err != nil {
		return false, err
	}
	defer m.locks.Lock(name)()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	_, wrote, err = m.write(ctx, name, "reconcile", nil, t)
	if wrote {
		m.Log.Info("load balancer reconciled", "lb", name)
	}
	return wrote, err
}

func isNotFound(err error) bool { return errors.Is(err, errs.NotFound) }
