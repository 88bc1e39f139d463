package ovn

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
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

	dmu  sync.RWMutex
	dhcp map[string]string // network + "/" + keys.KindDHCP|keys.KindDHCP6 -> the network's DHCP_Options row (kept by cache events)
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
	c.smu.RLock()
	defer c.smu.RUnlock()
	for _, f := range c.subs {
		f(table, old, cur)
	}
}

// NewNB dials the Northbound database (one remote, or one per cluster member).
func NewNB(ctx context.Context, remotes []string, tlsCfg *tls.Config, log *slog.Logger) (*NB, error) {
	dbm, err := nbdb.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	nb := &NB{macs: map[string]string{}, dhcp: map[string]string{}}
	c, err := ovs.Dial(ctx, dbm, ovs.DialConfig{
		Name: "nb", Remotes: remotes, TLS: tlsCfg, Logger: log, LeaderOnly: true,
		Tables: []model.Model{&nbdb.LogicalSwitch{}, &nbdb.LogicalSwitchPort{}, &nbdb.DHCPOptions{}, &nbdb.PortGroup{}, &nbdb.ACL{},
			&nbdb.LogicalRouter{}, &nbdb.LogicalRouterPort{}, &nbdb.DNS{}},
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

func portMAC(p *nbdb.LogicalSwitchPort) string {
	if p == nil || p.ExternalIDs[keys.Network] == "" || len(p.Addresses) == 0 {
		return ""
	}
	f := strings.Fields(p.Addresses[0])
	if len(f) == 0 {
		return ""
	}
	return strings.ToLower(f[0])
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

// Reservations returns the reservation rows of network, read-only (they
// point into the cache: scans of tens of thousands copy nothing).
func (c *NB) Reservations(network string) ([]*nbdb.DHCPOptions, error) {
	return ovs.QueryShallow(c.Conn, nbdb.DHCPOptionsTable, func(d *nbdb.DHCPOptions) bool {
		return d.ExternalIDs[keys.Kind] == keys.KindReservation && d.ExternalIDs[keys.Network] == network
	})
}

// UpdatePort writes the given columns of lsp (found by name).
func (c *NB) UpdatePort(ctx context.Context, lsp *nbdb.LogicalSwitchPort, fields ...any) error {
	if err := c.Ready(); err != nil {
		return err
	}
	ops, err := c.Where(lsp).Update(lsp, fields...)
	if err != nil {
		return err
	}
	return c.transact(ctx, "update logical port "+lsp.Name, ops)
}

// GetPort returns the Logical_Switch_Port called name.
func (c *NB) GetPort(name string) (*nbdb.LogicalSwitchPort, error) {
	rows, err := ovs.Query(c.Conn, func(p *nbdb.LogicalSwitchPort) bool { return p.Name == name })
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("logical port %s: %w", name, ErrNotFound)
	}
	return &rows[0], nil
}

// ListPorts returns the QuantumNet ports whose external_ids match every key of match.
func (c *NB) ListPorts(match map[string]string) ([]nbdb.LogicalSwitchPort, error) {
	return ovs.Query(c.Conn, func(p *nbdb.LogicalSwitchPort) bool {
		if p.ExternalIDs[keys.Network] == "" {
			return false
		}
		for k, v := range match {
			if p.ExternalIDs[k] != v {
				return false
			}
		}
		return true
	})
}

// CreatePortOps builds the operations that create lsp on network's switch
// (insert plus switch membership). extra operations (e.g. IPAM waits) are
// committed in the same transaction by CreatePort.
func (c *NB) CreatePortOps(ls *nbdb.LogicalSwitch, lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	lsp.UUID = "lsp"
	ops, err := c.Create(lsp)
	if err != nil {
		return nil, err
	}
	mut, err := c.Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{lsp.UUID}})
	if err != nil {
		return nil, err
	}
	wait := ovs.WaitNoRow(nbdb.LogicalSwitchPortTable, "name", lsp.Name)
	return append(append([]ovsdb.Operation{wait}, ops...), mut...), nil
}

// CreatePort creates lsp on ls in one transaction, with extra operations.
func (c *NB) CreatePort(ctx context.Context, ls *nbdb.LogicalSwitch, lsp *nbdb.LogicalSwitchPort, extra ...ovsdb.Operation) error {
	ops, err := c.CreatePortOps(ls, lsp)
	if err != nil {
		return err
	}
	return c.transact(ctx, "create logical port "+lsp.Name, append(extra, ops...))
}

// DeletePort deletes the port called name from its switch; a missing port is
// not an error. A port without QuantumNet ownership is refused.
func (c *NB) DeletePort(ctx context.Context, name string) error {
	ops, err := c.DeletePortOps(name)
	if err != nil || ops == nil {
		return err
	}
	return c.transact(ctx, "delete logical port "+name, ops)
}

// DeletePortOps builds the operations that delete the port called name
// (nil, nil when there is no such port).
func (c *NB) DeletePortOps(name string) ([]ovsdb.Operation, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	lsp, err := c.GetPort(name)
	if err != nil {
		return nil, nil
	}
	if lsp.ExternalIDs[keys.Network] == "" {
		return nil, fmt.Errorf("logical port %s: %w", name, ErrNotManaged)
	}
	ls, err := c.GetSwitch(lsp.ExternalIDs[keys.Network])
	if err != nil {
		return nil, err
	}
	mut, err := c.Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{lsp.UUID}})
	if err != nil {
		return nil, err
	}
	del, err := c.Where(lsp).Delete()
	if err != nil {
		return nil, err
	}
	return append(mut, del...), nil
}

// TransactResults commits ops (see ovs.Transact) and returns their results.
func (c *NB) TransactResults(ctx context.Context, what string, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	return ovs.Transact(ctx, c.Conn, what, ops)
}

func (c *NB) transact(ctx context.Context, what string, ops []ovsdb.Operation) error {
	_, err := ovs.Transact(ctx, c.Conn, what, ops)
	return err
}
