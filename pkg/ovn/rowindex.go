package ovn

import (
	"sync"

	"github.com/ovn-kubernetes/libovsdb/cache"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// rowIndex is the UUIDs of a table's rows by a key read from each row,
// kept by cache events: the lookups a periodic sweep makes per network
// (a network's switch, DNS row, router) cost O(the rows
// found), not a scan of the table per network, which made a pass over
// 500 networks cost networks x rows (issue 20).
type rowIndex struct {
	mu sync.RWMutex
	m  map[string]map[string]struct{} // key -> UUIDs
}

func (x *rowIndex) update(oldKey, oldUUID, newKey, newUUID string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if set := x.m[oldKey]; oldKey != "" && set != nil {
		delete(set, oldUUID)
		if len(set) == 0 {
			delete(x.m, oldKey)
		}
	}
	if newKey == "" {
		return
	}
	if x.m == nil {
		x.m = map[string]map[string]struct{}{}
	}
	set := x.m[newKey]
	if set == nil {
		set = map[string]struct{}{}
		x.m[newKey] = set
	}
	set[newUUID] = struct{}{}
}

func (x *rowIndex) uuids(key string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, len(x.m[key]))
	for u := range x.m[key] {
		out = append(out, u)
	}
	return out
}

// rowIndexes are the NB client's indexes of rows by a key.
type rowIndexes struct {
	switches rowIndex // network -> its Logical_Switch
	routers  rowIndex // name -> Logical_Router
	dns      rowIndex // network -> its DNS row (keys.ServiceOf)

	pmu     sync.RWMutex
	holders map[string]map[string]struct{} // router port UUID -> routers whose ports include it
}

// rowKey is the key a row is indexed under, and the index ("" and nil:
// none).
func (x *rowIndexes) rowKey(m model.Model) (string, string, *rowIndex) {
	switch r := m.(type) {
	case *nbdb.LogicalSwitch:
		if n := r.ExternalIDs[keys.Network]; n != "" && r.Name == SwitchName(n) {
			return n, r.UUID, &x.switches
		}
		return "", r.UUID, &x.switches
	case *nbdb.LogicalRouter:
		return r.Name, r.UUID, &x.routers
	case *nbdb.DNS:
		return r.ExternalIDs[keys.ServiceOf], r.UUID, &x.dns
	}
	return "", "", nil
}

func (x *rowIndexes) update(old, cur model.Model) {
	x.updateHolders(old, cur)
	var ok, ou, nk, nu string
	var idx *rowIndex
	if old != nil {
		ok, ou, idx = x.rowKey(old)
	}
	if cur != nil {
		var ci *rowIndex
		nk, nu, ci = x.rowKey(cur)
		idx = ci
	}
	if idx != nil {
		idx.update(ok, ou, nk, nu)
	}
}

// updateHolders keeps the router ports' holders in step with the routers.
func (x *rowIndexes) updateHolders(old, cur model.Model) {
	o, _ := old.(*nbdb.LogicalRouter)
	n, _ := cur.(*nbdb.LogicalRouter)
	if o == nil && n == nil {
		return
	}
	x.pmu.Lock()
	defer x.pmu.Unlock()
	if o != nil {
		for _, p := range o.Ports {
			delete(x.holders[p], o.UUID)
			if len(x.holders[p]) == 0 {
				delete(x.holders, p)
			}
		}
	}
	if n == nil {
		return
	}
	if x.holders == nil {
		x.holders = map[string]map[string]struct{}{}
	}
	for _, p := range n.Ports {
		if x.holders[p] == nil {
			x.holders[p] = map[string]struct{}{}
		}
		x.holders[p][n.UUID] = struct{}{}
	}
}

// cached is nil once the monitor filled the cache (what ovs.Query
// requires), else ErrNotConnected: an indexed lookup before then must not
// answer "not found".
func (c *NB) cached() error {
	_, err := ovs.QueryShallow(c.Conn, nbdb.NBGlobalTable, func(*nbdb.NBGlobal) bool { return false })
	return err
}

// table is the cached table called name; nil when there is no cache (the
// client closed) or no such table.
func (c *NB) table(name string) *cache.RowCache {
	tc := c.Cache()
	if tc == nil {
		return nil
	}
	return tc.Table(name)
}

// indexed returns copies of the cached rows of table under key in index
// x that satisfy ok, like ovs.Query with that predicate, which it falls
// back to when the index finds none: the index follows the cache's events,
// which lag its rows by a moment (a switch just created, an edited key), so
// only a hit is taken from it, fresh from the cache; "none" is the scan's.
// Sweeps look up what exists: O(1) for them.
func indexed[T any](c *NB, table string, x *rowIndex, key string, ok func(*T) bool) ([]T, error) {
	if err := c.cached(); err != nil {
		return nil, err
	}
	if rc := c.table(table); rc != nil {
		var out []T
		for _, u := range x.uuids(key) {
			if r, isT := rc.Row(u).(*T); isT && ok(r) {
				out = append(out, *r)
			}
		}
		if len(out) > 0 {
			return out, nil
		}
	}
	return ovs.Query(c.Conn, ok)
}

// byName returns a copy of the row of a table with a name index (Logical_
// Switch_Port, Logical_Router_Port) from the cache through that index:
// O(1). Like ovs.Query, it never waits for the server.
func byName[T any](c *NB, table string, row *T) (*T, error) {
	if err := c.cached(); err != nil {
		return nil, err
	}
	if rc := c.table(table); rc != nil {
		if _, m, err := rc.RowByModel(row); err == nil {
			if got, ok := m.(*T); ok {
				return got, nil
			}
		}
	}
	return nil, ErrNotFound
}
