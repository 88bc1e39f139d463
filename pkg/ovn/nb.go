package ovn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"maps"
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

// NetworkDHCP returns the UUID of a network's DHCP options row of kind
// keys.KindDHCP or keys.KindDHCP6 ("" if none), in O(1): the DHCP_Options table also
// holds every address reservation, too many to scan on a port's creation.
func (c *NB) NetworkDHCP(network, kind string) string {
	c.dmu.RLock()
	defer c.dmu.RUnlock()
	return c.dhcp[network+"/"+kind]
}

// indexDHCP keeps the DHCP options index in step with the cache.
func (c *NB) indexDHCP(table string, old, cur model.Model) {
	if table != nbdb.DHCPOptionsTable {
		return
	}
	key := func(d *nbdb.DHCPOptions) string {
		if k := d.ExternalIDs[keys.Kind]; k == keys.KindDHCP || k == keys.KindDHCP6 {
			return d.ExternalIDs[keys.Network] + "/" + k
		}
		return ""
	}
	c.dmu.Lock()
	defer c.dmu.Unlock()
	if o, _ := old.(*nbdb.DHCPOptions); o != nil {
		if k := key(o); k != "" && c.dhcp[k] == o.UUID {
			delete(c.dhcp, k)
		}
	}
	if n, _ := cur.(*nbdb.DHCPOptions); n != nil {
		if k := key(n); k != "" {
			c.dhcp[k] = n.UUID
		}
	}
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

// DHCPv4 returns the network's DHCPv4 options row, creating it with opts
// (cidr and options) when there is none.
func (c *NB) DHCPv4(ctx context.Context, network, cidr string, opts map[string]string) (string, error) {
	find := func() (string, bool) {
		rows, err := ovs.Query(c.Conn, func(d *nbdb.DHCPOptions) bool {
			return d.ExternalIDs[keys.Kind] == keys.KindDHCP && d.ExternalIDs[keys.Network] == network && d.Cidr == cidr
		})
		if err != nil || len(rows) == 0 {
			return "", false
		}
		return rows[0].UUID, true
	}
	if u, ok := find(); ok {
		return u, nil
	}
	if err := c.Ready(); err != nil {
		return "", err
	}
	row := &nbdb.DHCPOptions{UUID: "dhcp", Cidr: cidr, Options: opts, ExternalIDs: map[string]string{keys.Network: network, keys.Kind: keys.KindDHCP}}
	ops, err := c.Create(row)
	if err != nil {
		return "", err
	}
	res, err := ovs.Transact(ctx, c.Conn, "create DHCP options of "+network, ops)
	if err != nil {
		return "", err
	}
	return res[0].UUID.GoUUID, nil
}

// SwitchName is the Logical_Switch name of network.
func SwitchName(network string) string { return keys.SwitchPrefix + network }

// GetSwitch returns the Logical_Switch of network.
func (c *NB) GetSwitch(network string) (*nbdb.LogicalSwitch, error) {
	rows, err := ovs.Query(c.Conn, func(ls *nbdb.LogicalSwitch) bool {
		return ls.ExternalIDs[keys.Network] == network && ls.Name == SwitchName(network)
	})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("network %q: %w", network, ErrNotFound)
	}
	return &rows[0], nil
}

// ListSwitches returns every network's Logical_Switch.
func (c *NB) ListSwitches() ([]nbdb.LogicalSwitch, error) {
	return ovs.Query(c.Conn, func(ls *nbdb.LogicalSwitch) bool {
		return ls.ExternalIDs[keys.Network] != ""
	})
}

// CreateSwitch creates the Logical_Switch of network with the given
// external_ids (keys.Network is added); it fails with ErrExists if a switch of
// that name exists, even one created concurrently by another daemon.
func (c *NB) CreateSwitch(ctx context.Context, network string, ids map[string]string) (*nbdb.LogicalSwitch, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	if _, err := c.GetSwitch(network); err == nil {
		return nil, fmt.Errorf("network %q: %w", network, ErrExists)
	}
	ids = maps.Clone(ids)
	if ids == nil {
		ids = map[string]string{}
	}
	ids[keys.Network] = network
	ls := &nbdb.LogicalSwitch{UUID: "ls", Name: SwitchName(network), ExternalIDs: ids}
	ops, err := c.Create(ls)
	if err != nil {
		return nil, err
	}
	wait := ovs.WaitNoRow(nbdb.LogicalSwitchTable, "name", ls.Name)
	res, err := ovs.Transact(ctx, c.Conn, "create network "+network, append([]ovsdb.Operation{wait}, ops...))
	if err != nil {
		if errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("network %q: %w", network, ErrExists)
		}
		return nil, err
	}
	ls.UUID = res[1].UUID.GoUUID
	return ls, nil
}

// DeleteSwitch deletes network's switch with its service rows (router,
// resolver localport, DNS records, DHCP options, reservations); it refuses
// (ErrInUse) while the switch has ports of workloads, checked inside the
// transaction.
func (c *NB) DeleteSwitch(ctx context.Context, network string) error {
	if err := c.Ready(); err != nil {
		return err
	}
	ls, err := c.GetSwitch(network)
	if err != nil {
		return err
	}
	service := map[string]bool{}
	svcPorts, err := ovs.Query(c.Conn, func(p *nbdb.LogicalSwitchPort) bool { return p.ExternalIDs[keys.ServiceOf] == network })
	if err != nil {
		return err
	}
	for _, p := range svcPorts {
		service[p.UUID] = true
	}
	kept := []any{}
	n := 0
	for _, u := range ls.Ports {
		if service[u] {
			kept = append(kept, ovsdb.UUID{GoUUID: u})
		} else {
			n++
		}
	}
	if n > 0 {
		return fmt.Errorf("network %q has %d port(s): %w", network, n, ErrInUse)
	}
	wait := waitRowOp(nbdb.LogicalSwitchTable, ls.UUID, "ports", ovsdb.OvsSet{GoSet: kept})
	del, err := c.Where(ls).Delete()
	if err != nil {
		return err
	}
	// Its address reservations and DHCP options go with it, and its other
	// service rows (root tables: not collected with the switch).
	var rows []model.Model
	dhcp, err := ovs.Query(c.Conn, func(d *nbdb.DHCPOptions) bool { return d.ExternalIDs[keys.Network] == network })
	if err != nil {
		return err
	}
	for i := range dhcp {
		rows = append(rows, &dhcp[i])
	}
	lrs, _ := ovs.Query(c.Conn, func(r *nbdb.LogicalRouter) bool { return r.ExternalIDs[keys.ServiceOf] == network })
	for i := range lrs {
		rows = append(rows, &lrs[i])
	}
	dns, _ := ovs.Query(c.Conn, func(d *nbdb.DNS) bool { return d.ExternalIDs[keys.ServiceOf] == network })
	for i := range dns {
		rows = append(rows, &dns[i])
	}
	for _, r := range rows {
		d, err := c.Where(r).Delete()
		if err != nil {
			return err
		}
		del = append(del, d...)
	}
	if err := c.transact(ctx, "delete network "+network, append([]ovsdb.Operation{wait}, del...)); err != nil {
		if errors.Is(err, ErrExists) {
			return fmt.Errorf("network %q gained ports meanwhile: %w", network, ErrInUse)
		}
		return err
	}
	return nil
}

// TransactResults commits ops (see ovs.Transact) and returns their results.
func (c *NB) TransactResults(ctx context.Context, what string, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	return ovs.Transact(ctx, c.Conn, what, ops)
}

func (c *NB) transact(ctx context.Context, what string, ops []ovsdb.Operation) error {
	_, err := ovs.Transact(ctx, c.Conn, what, ops)
	return err
}
