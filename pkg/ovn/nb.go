package ovn

import (
	"context"
	"crypto/tls"
	"log/slog"
	"strings"
	"sync"

	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Sentinel errors (aliases of the OVSDB helper's, so errors.Is works across both).
var (
	ErrNotFound     = ovs.ErrNotFound
	ErrExists       = ovs.ErrExists
	ErrNotConnected = ovs.ErrNotConnected
	ErrNotManaged   = errs.New(errs.Conflict, "not managed by quantumnet")
	ErrInUse        = errs.InUse
)

// NB is the typed Northbound client.
type NB struct {
	*ovs.Conn

	mmu  sync.RWMutex
	macs map[string]string // MAC -> port, of QuantumNet's ports (kept by cache events)

	smu  sync.RWMutex
	subs []func(table string, old, cur model.Model)

	nets netIndex   // network -> its ports (kept by cache events)
	rows rowIndexes // switches, routers, DNS rows, reservations by key (kept by cache events)

	dmu  sync.RWMutex
	dhcp map[string]string // network + "/" + keys.KindDHCP|keys.KindDHCP6 -> the network's DHCP_Options row (kept by cache events)

	scope resScope // the networks whose reservations are loaded (scope.go)
}

// NBOption changes how NewNB monitors.
type NBOption func(*NB)

// WholeMonitor monitors every reservation of every network from the
// start, as before scopes (the benchmark's peer; tools that read all).
func WholeMonitor() NBOption {
	return func(nb *NB) { nb.scope.all = true }
}

// Subscribe calls f for every change of a cached row (old nil: inserted,
// cur nil: deleted). f runs in the cache's goroutine: it must not block.
func (c *NB) Subscribe(f func(table string, old, cur model.Model)) {
	c.smu.Lock()
	defer c.smu.Unlock()
	c.subs = append(c.subs, f)
}

func (c *NB) changed(table string, old, cur model.Model) {
	c.indexPort(table, old, cur)
	c.indexDHCP(table, old, cur)
	c.nets.update(table, old, cur)
	c.rows.update(old, cur)
	c.smu.RLock()
	defer c.smu.RUnlock()
	for _, f := range c.subs {
		f(table, old, cur)
	}
}

// NewNB dials the Northbound database (one remote, or one per cluster
// member). Address reservations are loaded per network, when first read
// (see scope.go), unless WholeMonitor.
func NewNB(ctx context.Context, remotes []string, tlsCfg *tls.Config, log *slog.Logger, opts ...NBOption) (*NB, error) {
	dbm, err := nbdb.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	nb := &NB{macs: map[string]string{}, dhcp: map[string]string{}, scope: resScope{nets: map[string]bool{}}}
	for _, o := range opts {
		o(nb)
	}
	c, err := ovs.Dial(ctx, dbm, ovs.DialConfig{
		Name: "nb", Remotes: remotes, TLS: tlsCfg, Logger: log, LeaderOnly: true,
		Where: map[string][]ovsdb.Condition{nbdb.DHCPOptionsTable: where(nb.scope.all, nb.scope.nets)},
		Tables: []model.Model{&nbdb.LogicalSwitch{}, &nbdb.LogicalSwitchPort{}, &nbdb.DHCPOptions{}, &nbdb.PortGroup{}, &nbdb.ACL{},
			&nbdb.LogicalRouter{}, &nbdb.LogicalRouterPort{}, &nbdb.DNS{},
			&nbdb.NAT{}, &nbdb.LogicalRouterStaticRoute{}, &nbdb.HAChassisGroup{}, &nbdb.HAChassis{},
			&nbdb.LoadBalancer{}, &nbdb.LoadBalancerHealthCheck{}, &nbdb.Meter{}, &nbdb.AddressSet{}},
		OnCache: func(tc *cache.TableCache) {
			tc.AddEventHandler(&cache.EventHandlerFuncs{
				AddFunc:    func(table string, m model.Model) { nb.changed(table, nil, m) },
				UpdateFunc: func(table string, old, m model.Model) { nb.changed(table, old, m) },
				DeleteFunc: func(table string, m model.Model) { nb.changed(table, m, nil) },
			})
		},
	})
	if err != nil {
		return nil, err
	}
	nb.Conn = c
	return nb, nil
}

// indexPort keeps the MAC index in step with the cache.
func (c *NB) indexPort(table string, old, cur model.Model) {
	if table != nbdb.LogicalSwitchPortTable {
		return
	}
	c.mmu.Lock()
	defer c.mmu.Unlock()
	if o, _ := old.(*nbdb.LogicalSwitchPort); o != nil {
		if m := portMAC(o); m != "" && c.macs[m] == o.Name {
			delete(c.macs, m)
		}
	}
	if n, _ := cur.(*nbdb.LogicalSwitchPort); n != nil {
		if m := portMAC(n); m != "" {
			c.macs[m] = n.Name
		}
	}
}

// MACInUse reports whether one of QuantumNet's ports has mac (O(1)).
func (c *NB) MACInUse(mac string) bool {
	c.mmu.RLock()
	defer c.mmu.RUnlock()
	_, ok := c.macs[strings.ToLower(mac)]
	return ok
}

// TransactResults commits ops (see ovs.Transact) and returns their results.
func (c *NB) TransactResults(ctx context.Context, what string, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	return ovs.Transact(ctx, c.Conn, what, ops)
}

func (c *NB) transact(ctx context.Context, what string, ops []ovsdb.Operation) error {
	_, err := ovs.Transact(ctx, c.Conn, what, ops)
	return err
}
