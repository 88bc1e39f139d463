package ovs

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"

	"github.com/ovn-kubernetes/libovsdb/cache"
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovs/vswitchd"
)

// Well-known external_ids keys that ovn-controller reads or writes.
const (
	KeyIfaceID      = "iface-id"
	KeyAttachedMAC  = "attached-mac"
	KeyOVNInstalled = "ovn-installed"
)

// Client is the typed client of the local Open_vSwitch database.
type Client struct {
	*Conn
	log *slog.Logger

	mu      sync.Mutex
	waiters map[string][]chan struct{} // interface name -> waiters for ovn-installed

	batch portBatcher // BatchedAddPort's
}

// New dials the local OVS database (normally unix:/run/openvswitch/db.sock;
// tlsCfg is used for ssl: remotes and may be nil otherwise).
func New(ctx context.Context, remotes []string, tlsCfg *tls.Config, log *slog.Logger) (*Client, error) {
	dbm, err := vswitchd.FullDatabaseModel()
	if err != nil {
		return nil, err
	}
	c := &Client{log: log, waiters: map[string][]chan struct{}{}}
	conn, err := Dial(ctx, dbm, DialConfig{
		Name: "ovs", Remotes: remotes, TLS: tlsCfg, Logger: log,
		Tables: []model.Model{&vswitchd.OpenvSwitch{}, &vswitchd.Bridge{}, &vswitchd.Port{}, &vswitchd.Interface{}},
		OnCache: func(tc *cache.TableCache) {
			tc.AddEventHandler(&cache.EventHandlerFuncs{
				AddFunc:    func(table string, m model.Model) { c.onInterface(table, m) },
				UpdateFunc: func(table string, _, m model.Model) { c.onInterface(table, m) },
			})
		},
	})
	if err != nil {
		return nil, err
	}
	c.Conn = conn
	return c, nil
}

func (c *Client) onInterface(table string, m model.Model) {
	if table != vswitchd.InterfaceTable {
		return
	}
	iface := m.(*vswitchd.Interface)
	if iface.ExternalIDs[KeyOVNInstalled] != "true" {
		return
	}
	c.mu.Lock()
	ws := c.waiters[iface.Name]
	delete(c.waiters, iface.Name)
	if id := iface.ExternalIDs[KeyIfaceID]; id != "" {
		ws = append(ws, c.waiters["iface-id:"+id]...)
		delete(c.waiters, "iface-id:"+id)
	}
	c.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

// WaitInstalledByIfaceID is WaitInstalled for the interface carrying
// external_ids:iface-id=id (one libvirt added, whose name we do not choose).
func (c *Client) WaitInstalledByIfaceID(ctx context.Context, id string) error {
	key := "iface-id:" + id
	ch := make(chan struct{})
	c.mu.Lock()
	c.waiters[key] = append(c.waiters[key], ch)
	c.mu.Unlock()
	if ifs, err := Query(c.Conn, func(i *vswitchd.Interface) bool {
		return i.ExternalIDs[KeyIfaceID] == id && i.ExternalIDs[KeyOVNInstalled] == "true"
	}); err == nil && len(ifs) > 0 {
		c.dropWaiter(key, ch)
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.dropWaiter(key, ch)
		return fmt.Errorf("port %s: ovn-controller did not install its flows (ovn-installed) in time: %w", id, ctx.Err())
	}
}

// WaitInstalled blocks until ovn-controller marks interface name with
// external_ids:ovn-installed=true (an event from the monitor, no polling),
// or ctx ends.
func (c *Client) WaitInstalled(ctx context.Context, name string) error {
	ch := make(chan struct{})
	c.mu.Lock()
	c.waiters[name] = append(c.waiters[name], ch)
	c.mu.Unlock()
	if iface, err := c.GetInterface(name); err == nil && iface.ExternalIDs[KeyOVNInstalled] == "true" {
		c.dropWaiter(name, ch)
		return nil
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		c.dropWaiter(name, ch)
		return fmt.Errorf("interface %s: ovn-controller did not install its flows (ovn-installed) in time: %w", name, ctx.Err())
	}
}

func (c *Client) dropWaiter(name string, ch chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ws := c.waiters[name]
	for i, w := range ws {
		if w == ch {
			c.waiters[name] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(c.waiters[name]) == 0 {
		delete(c.waiters, name)
	}
}

// Root returns the single Open_vSwitch row.
func (c *Client) Root() (*vswitchd.OpenvSwitch, error) {
	rows, err := Query(c.Conn, func(*vswitchd.OpenvSwitch) bool { return true })
	if err != nil {
		return nil, err
	}
	if len(rows) != 1 {
		return nil, fmt.Errorf("Open_vSwitch table has %d rows, want 1: %w", len(rows), ErrNotFound)
	}
	return &rows[0], nil
}

// EnsureExternalIDs sets the given keys in Open_vSwitch external_ids
// (keeping every other key). It writes nothing when all are already set.
func (c *Client) EnsureExternalIDs(ctx context.Context, want map[string]string) error {
	if err := c.Ready(); err != nil {
		return err
	}
	root, err := c.Root()
	if err != nil {
		return err
	}
	ids := maps.Clone(root.ExternalIDs)
	if ids == nil {
		ids = map[string]string{}
	}
	changed := false
	for k, v := range want {
		if ids[k] != v {
			ids[k] = v
			changed = true
		}
	}
	if !changed {
		return nil
	}
	root.ExternalIDs = ids
	ops, err := c.Where(root).Update(root, &root.ExternalIDs)
	if err != nil {
		return err
	}
	return c.transact(ctx, "set Open_vSwitch external_ids", ops)
}

// GetBridge returns the bridge called name.
func (c *Client) GetBridge(name string) (*vswitchd.Bridge, error) {
	rows, err := Query(c.Conn, func(b *vswitchd.Bridge) bool { return b.Name == name })
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("bridge %s: %w", name, ErrNotFound)
	}
	return &rows[0], nil
}

// EnsureBridge creates the integration bridge with its internal port if it
// does not exist (fail-mode secure, in-band control off) and returns its
// datapath type. An existing bridge is left as it is.
func (c *Client) EnsureBridge(ctx context.Context, name, datapathType string) (string, error) {
	if err := c.Ready(); err != nil {
		return "", err
	}
	if b, err := c.GetBridge(name); err == nil {
		return b.DatapathType, nil
	}
	root, err := c.Root()
	if err != nil {
		return "", err
	}
	secure := vswitchd.BridgeFailModeSecure
	iface := &vswitchd.Interface{UUID: "iface", Name: name, Type: "internal"}
	port := &vswitchd.Port{UUID: "port", Name: name, Interfaces: []string{"iface"}}
	br := &vswitchd.Bridge{UUID: "br", Name: name, DatapathType: datapathType, FailMode: &secure,
		OtherConfig: map[string]string{"disable-in-band": "true"}, Ports: []string{"port"}}
	ops, err := c.createAll(iface, port, br)
	if err != nil {
		return "", err
	}
	mut, err := c.Where(root).Mutate(root, model.Mutation{Field: &root.Bridges, Mutator: ovsdb.MutateOperationInsert, Value: []string{"br"}})
	if err != nil {
		return "", err
	}
	wait := WaitNoRow(vswitchd.BridgeTable, "name", name)
	if err := c.transact(ctx, "create bridge "+name, append(append([]ovsdb.Operation{wait}, ops...), mut...)); err != nil {
		return "", err
	}
	return datapathType, nil
}

// WaitNoRow is an OVSDB wait that fails the transaction when exactly one row
// with column == value already exists (optimistic "create if absent").
func WaitNoRow(table, column, value string) ovsdb.Operation {
	zero := 0
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: table, Timeout: &zero,
		Where:   []ovsdb.Condition{{Column: column, Function: ovsdb.ConditionEqual, Value: value}},
		Columns: []string{column}, Until: string(ovsdb.WaitConditionNotEqual),
		Rows: []ovsdb.Row{{column: value}},
	}
}

// createAll builds insert operations for models of different tables.
func (c *Client) createAll(ms ...model.Model) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	for _, m := range ms {
		op, err := c.Create(m)
		if err != nil {
			return nil, err
		}
		ops = append(ops, op...)
	}
	return ops, nil
}

// GetInterface returns the interface called name.
func (c *Client) GetInterface(name string) (*vswitchd.Interface, error) {
	return byName(c.Conn, vswitchd.InterfaceTable, &vswitchd.Interface{Name: name}, "interface "+name)
}

// GetPort returns the port called name.
func (c *Client) GetPort(name string) (*vswitchd.Port, error) {
	return byName(c.Conn, vswitchd.PortTable, &vswitchd.Port{Name: name}, "port "+name)
}

// byName reads the row of a table with a name index (Port, Interface)
// from the cache through that index, a copy: O(1), where a scan per port
// made a start-up reconcile of a thousand ports cost ports x ports (issue
// 20). Like Query, it never waits for the server.
func byName[T any](c *Conn, table string, row *T, what string) (*T, error) {
	if !c.monitor.Load() {
		return nil, fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
	}
	tc := c.Cache()
	if tc == nil { // the client closed
		return nil, fmt.Errorf("%s %v: %w", c.cfg.Name, c.cfg.Remotes, ErrNotConnected)
	}
	if rc := tc.Table(table); rc != nil {
		if _, m, err := rc.RowByModel(row); err == nil {
			if got, ok := m.(*T); ok {
				return got, nil
			}
		}
	}
	return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
}

// ListPorts returns the ports whose external_ids match every key of match.
func (c *Client) ListPorts(match map[string]string) ([]vswitchd.Port, error) {
	return Query(c.Conn, func(p *vswitchd.Port) bool {
		for k, v := range match {
			if p.ExternalIDs[k] != v {
				return false
			}
		}
		return true
	})
}

// AddPort adds a system port name to bridge in one transaction (Interface,
// Port, bridge membership), with the given external_ids on both rows.
func (c *Client) AddPort(ctx context.Context, bridge, name string, ifaceIDs, portIDs map[string]string) error {
	return c.addPort(ctx, bridge, name, "", ifaceIDs, portIDs)
}

// AddInternalPort is AddPort for an internal port: ovs-vswitchd creates
// its interface in its own network namespace.
func (c *Client) AddInternalPort(ctx context.Context, bridge, name string, ifaceIDs, portIDs map[string]string) error {
	return c.addPort(ctx, bridge, name, "internal", ifaceIDs, portIDs)
}

func (c *Client) addPort(ctx context.Context, bridge, name, ifType string, ifaceIDs, portIDs map[string]string) error {
	return c.AddPorts(ctx, []NewPort{{Bridge: bridge, Name: name, Type: ifType, IfaceIDs: ifaceIDs, PortIDs: portIDs}})
}

// DeletePort removes port name from bridge (its interface goes with it).
// A missing port is not an error.
func (c *Client) DeletePort(ctx context.Context, bridge, name string) error {
	if err := c.Ready(); err != nil {
		return err
	}
	p, err := c.GetPort(name)
	if err != nil {
		return nil
	}
	br, err := c.GetBridge(bridge)
	if err != nil {
		return err
	}
	mut, err := c.Where(br).Mutate(br, model.Mutation{Field: &br.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{p.UUID}})
	if err != nil {
		return err
	}
	del, err := c.Where(p).Delete()
	if err != nil {
		return err
	}
	return c.transact(ctx, "delete port "+name, append(mut, del...))
}

// WaitError is a caller's wait operation that failed: what it guarded
// changed concurrently. It wraps ErrExists.
type WaitError struct {
	What  string
	Index int // of the operation in the caller's list
}

func (e *WaitError) Error() string {
	return e.What + ": " + ErrExists.Error() + " (changed concurrently)"
}

// Unwrap makes errors.Is(err, ErrExists) true.
func (e *WaitError) Unwrap() error { return ErrExists }

// transact commits ops and turns any per-operation error into one error.
func (c *Client) transact(ctx context.Context, what string, ops []ovsdb.Operation) error {
	_, err := Transact(ctx, c.Conn, what, ops)
	return err
}

// Transact commits ops on conn and checks every operation's result. A
// failed wait of the caller's is ErrExists (someone changed what the
// decision was based on). Every mutate or update of a row named by UUID
// gets a wait for that row appended, so that a row deleted meanwhile aborts
// the whole transaction with ErrNotFound instead of committing around it.
// A ctx without a deadline gets the connection's TxTimeout: no caller
// waits forever on a stalled connection.
func Transact(ctx context.Context, conn *Conn, what string, ops []ovsdb.Operation) ([]ovsdb.OperationResult, error) {
	if !conn.Connected() {
		return nil, fmt.Errorf("%s: %s database: %w", what, conn.Name(), ErrNotConnected)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, conn.cfg.TxTimeout)
		defer cancel()
	}
	n := len(ops)
	for _, op := range ops[:n] {
		if (op.Op == ovsdb.OperationMutate || op.Op == ovsdb.OperationUpdate) && len(op.Where) == 1 && op.Where[0].Column == "_uuid" {
			zero := 0
			ops = append(ops, ovsdb.Operation{
				Op: ovsdb.OperationWait, Table: op.Table, Timeout: &zero, Where: op.Where,
				Columns: []string{"_uuid"}, Until: string(ovsdb.WaitConditionEqual),
				Rows: []ovsdb.Row{{"_uuid": op.Where[0].Value}},
			})
		}
	}
	res, err := conn.Transact(ctx, ops...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if _, err := ovsdb.CheckOperationResults(res, ops); err != nil {
		for i, r := range res {
			if i < len(ops) && ops[i].Op == ovsdb.OperationWait && r.Error != "" {
				if i >= n {
					return nil, fmt.Errorf("%s: %s row %v was deleted meanwhile: %w", what, ops[i].Table, ops[i].Where[0].Value, ErrNotFound)
				}
				return nil, &WaitError{What: what, Index: i}
			}
		}
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return res[:n], nil
}

// DatapathType is the datapath type of bridge ("system" when the column is
// empty), or want while the bridge does not exist (yet).
func (c *Client) DatapathType(bridge, want string) string {
	if b, err := c.GetBridge(bridge); err == nil {
		if b.DatapathType == "" {
			return "system"
		}
		return b.DatapathType
	}
	return want
}

// MappedBridgeKey marks, in a bridge's external_ids, a bridge the daemon
// created for a bridge mapping (it removes only those).
const MappedBridgeKey = "quantumnet:mapped-bridge"

// EnsureMappedBridge creates the bridge of a bridge mapping (a physnet's
// bridge, e.g. br-ex) with its internal port if no bridge has the name,
// marked as the daemon's; standalone (no fail-mode): ovn-controller adds
// only the patch port, the bridge switches normally. An existing bridge
// is left as it is.
func (c *Client) EnsureMappedBridge(ctx context.Context, name, datapathType string) error {
	if err := c.Ready(); err != nil {
		return err
	}
	if _, err := c.GetBridge(name); err == nil {
		return nil
	}
	root, err := c.Root()
	if err != nil {
		return err
	}
	iface := &vswitchd.Interface{UUID: "iface", Name: name, Type: "internal"}
	port := &vswitchd.Port{UUID: "port", Name: name, Interfaces: []string{"iface"}}
	br := &vswitchd.Bridge{UUID: "br", Name: name, DatapathType: datapathType, Ports: []string{"port"},
		ExternalIDs: map[string]string{MappedBridgeKey: "true"}}
	ops, err := c.createAll(iface, port, br)
	if err != nil {
		return err
	}
	mut, err := c.Where(root).Mutate(root, model.Mutation{Field: &root.Bridges, Mutator: ovsdb.MutateOperationInsert, Value: []string{"br"}})
	if err != nil {
		return err
	}
	wait := WaitNoRow(vswitchd.BridgeTable, "name", name)
	return c.transact(ctx, "create bridge "+name, append(append([]ovsdb.Operation{wait}, ops...), mut...))
}

// DeleteMappedBridges deletes the bridges the daemon created for bridge
// mappings (MappedBridgeKey) whose names are not in keep, with their ports.
func (c *Client) DeleteMappedBridges(ctx context.Context, keep []string) error {
	if err := c.Ready(); err != nil {
		return err
	}
	brs, err := Query(c.Conn, func(b *vswitchd.Bridge) bool {
		return b.ExternalIDs[MappedBridgeKey] == "true" && !slices.Contains(keep, b.Name)
	})
	if err != nil || len(brs) == 0 {
		return err
	}
	root, err := c.Root()
	if err != nil {
		return err
	}
	var muts []model.Mutation
	for _, b := range brs {
		muts = append(muts, model.Mutation{Field: &root.Bridges, Mutator: ovsdb.MutateOperationDelete, Value: []string{b.UUID}})
	}
	ops, err := c.Where(root).Mutate(root, muts...)
	if err != nil {
		return err
	}
	return c.transact(ctx, "delete mapped bridges", ops)
}
