package ovs

// Conditional monitoring. A table of DialConfig.Where is monitored with a
// where clause: OVSDB's monitor_cond conditions are a disjunction (a row
// is sent, and kept in the cache, when it matches any of them; an empty
// list matches every row). SetWhere changes them on the live connection
// with monitor_cond_change, which libovsdb v0.8.1 does not offer: the
// request goes through libovsdb's own RPC client (the connection the
// monitor lives on, so the rows it brings are ordered with every other
// update), reached by reflection (internalsOf; its test fails when a libovsdb
// upgrade renames those fields, before a daemon would).

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"github.com/cenkalti/rpc2"
	"github.com/ovn-kubernetes/libovsdb/client"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"
)

// emptyTxnID makes a reconnect ask for every row again (monitor_cond_since
// with a known transaction would bring only changes, not the rows a wider
// condition adds).
const emptyTxnID = "00000000-0000-0000-0000-000000000000"

// condMonitor is the connection's one monitor and its conditions.
type condMonitor struct {
	mu     sync.Mutex
	where  map[string][]ovsdb.Condition // table -> conditions (a copy of DialConfig.Where, then SetWhere's)
	mon    *client.Monitor              // nil until the first monitor is up
	cookie client.MonitorCookie
}

// monitorTables starts the monitor of cfg.Tables with the current
// conditions (SetWhere waits meanwhile).
func (c *Conn) monitorTables(ctx context.Context) error {
	c.cond.mu.Lock()
	defer c.cond.mu.Unlock()
	m := c.Client.NewMonitor(tables(c.cfg.Tables)...)
	for i := range m.Tables {
		if w, ok := c.cond.where[m.Tables[i].Table]; ok {
			m.Tables[i].Conditions = w
		}
		if cols, ok := c.cfg.Columns[m.Tables[i].Table]; ok {
			m.Tables[i].Fields = cols
		}
	}
	cookie, err := c.Client.Monitor(ctx, m)
	if err == nil {
		c.cond.mon, c.cond.cookie = m, cookie
	}
	return err
}

// SetWhere replaces the conditions of table's monitor (the table must be
// in DialConfig.Where: monitored with conditions from the start) and
// returns once the server's answer is in the cache: the rows that now
// match inserted, those that no longer do deleted. Before the first
// connection it only records them. Reconnects keep them.
func (c *Conn) SetWhere(ctx context.Context, table string, where []ovsdb.Condition) error {
	if where == nil {
		where = []ovsdb.Condition{} // every row (JSON [], never null)
	}
	c.cond.mu.Lock()
	defer c.cond.mu.Unlock()
	if _, ok := c.cond.where[table]; !ok {
		return fmt.Errorf("%s: table %s is not monitored with conditions", c.cfg.Name, table)
	}
	c.cond.where[table] = where
	if c.cond.mon == nil {
		return nil // the first monitor takes them
	}
	in, err := internalsOf(c.Client, c.cond.cookie.DatabaseName)
	if err != nil {
		return err
	}
	// libovsdb holds rpcMutex exclusively while it reconnects and re-sends
	// the monitor; with it held shared the monitor can be rewritten
	// (monitorsMutex guards its transaction ID against update handling).
	in.rpcMu.RLock()
	defer in.rpcMu.RUnlock()
	if c.cond.mon.Method == ovsdb.MonitorRPC {
		return nil // a server without monitor_cond: every row is monitored
	}
	in.monMu.Lock()
	for i := range c.cond.mon.Tables {
		if c.cond.mon.Tables[i].Table == table {
			c.cond.mon.Tables[i].Conditions = where
		}
	}
	c.cond.mon.LastTransactionID = emptyTxnID
	in.monMu.Unlock()
	rpc := *in.rpc
	if rpc == nil {
		return fmt.Errorf("%s: %w", c.cfg.Name, ErrNotConnected) // the reconnect sends the new conditions
	}
	args := []any{c.cond.cookie, c.cond.cookie, map[string][]any{table: {map[string]any{"where": where}}}}
	var reply any
	// ovsdb-server sends the update before the reply, and libovsdb handles
	// notifications in its read loop (blocking): the rows are in the cache
	// when the call returns.
	if err := rpc.CallWithContext(ctx, "monitor_cond_change", args, &reply); err != nil {
		if err == rpc2.ErrShutdown {
			err = ErrNotConnected
		}
		return fmt.Errorf("%s: monitor_cond_change of %s: %w", c.cfg.Name, table, err)
	}
	return nil
}

// internals are the parts of libovsdb's client SetWhere needs.
type internals struct {
	rpcMu *sync.RWMutex
	rpc   **rpc2.Client
	monMu *sync.Mutex
}

// internalsOf reaches into libovsdb's *ovsdbClient (v0.8.1).
func internalsOf(cl client.Client, db string) (internals, error) {
	var in internals
	bad := func(what string) error {
		return fmt.Errorf("libovsdb's client has changed (%s): conditional monitoring needs an update of pkg/ovs", what)
	}
	v := reflect.ValueOf(cl)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return in, bad("not a pointer to a struct")
	}
	o := v.Elem()
	rpcMu, rpcC, dbs := o.FieldByName("rpcMutex"), o.FieldByName("rpcClient"), o.FieldByName("databases")
	if !rpcMu.IsValid() || !rpcC.IsValid() || !dbs.IsValid() {
		return in, bad("rpcMutex, rpcClient or databases missing")
	}
	if rpcMu.Type() != reflect.TypeFor[sync.RWMutex]() || rpcC.Type() != reflect.TypeFor[*rpc2.Client]() || dbs.Kind() != reflect.Map {
		return in, bad("rpcMutex, rpcClient or databases")
	}
	d := dbs.MapIndex(reflect.ValueOf(db))
	if !d.IsValid() || d.Kind() != reflect.Pointer || d.IsNil() || d.Elem().Kind() != reflect.Struct {
		return in, bad("database " + db)
	}
	monMu := d.Elem().FieldByName("monitorsMutex")
	if !monMu.IsValid() || monMu.Type() != reflect.TypeFor[sync.Mutex]() {
		return in, bad("monitorsMutex")
	}
	in.rpcMu = (*sync.RWMutex)(unsafe.Pointer(rpcMu.UnsafeAddr()))
	in.rpc = (**rpc2.Client)(unsafe.Pointer(rpcC.UnsafeAddr()))
	in.monMu = (*sync.Mutex)(unsafe.Pointer(monMu.UnsafeAddr()))
	return in, nil
}
