package ovn

import (
	"sync"

	"github.com/ovn-kubernetes/libovsdb/model"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// netIndex is the UUIDs of each network's ports (QuantumNet's, by
// keys.Network), kept by cache events, so that a network's ports are read
// in O(its ports), not by a scan of every port (sweeps over networks would
// cost networks x ports).
type netIndex struct {
	mu sync.RWMutex
	m  map[string]map[string]struct{} // network -> LSP UUIDs
}

func (x *netIndex) update(table string, old, cur model.Model) {
	if table != nbdb.LogicalSwitchPortTable {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if o, _ := old.(*nbdb.LogicalSwitchPort); o != nil {
		if set := x.m[o.ExternalIDs[keys.Network]]; set != nil {
			delete(set, o.UUID)
			if len(set) == 0 {
				delete(x.m, o.ExternalIDs[keys.Network])
			}
		}
	}
	if n, _ := cur.(*nbdb.LogicalSwitchPort); n != nil && n.ExternalIDs[keys.Network] != "" {
		if x.m == nil {
			x.m = map[string]map[string]struct{}{}
		}
		set := x.m[n.ExternalIDs[keys.Network]]
		if set == nil {
			set = map[string]struct{}{}
			x.m[n.ExternalIDs[keys.Network]] = set
		}
		set[n.UUID] = struct{}{}
	}
}

func (x *netIndex) uuids(network string) []string {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]string, 0, len(x.m[network]))
	for u := range x.m[network] {
		out = append(out, u)
	}
	return out
}

// NetworkPorts returns the ports of network (copies of the cached rows), in
// O(the network's ports).
func (c *NB) NetworkPorts(network string) ([]nbdb.LogicalSwitchPort, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	rc := c.Cache().Table(nbdb.LogicalSwitchPortTable)
	if rc == nil {
		return nil, nil
	}
	var out []nbdb.LogicalSwitchPort
	for _, u := range c.nets.uuids(network) {
		if p, ok := rc.Row(u).(*nbdb.LogicalSwitchPort); ok && p.ExternalIDs[keys.Network] == network {
			out = append(out, *p)
		}
	}
	return out, nil
}

// PortsByUUID returns the cached ports with the given UUIDs (copies; the
// ones not in the cache are left out), in O(len(uuids)).
func (c *NB) PortsByUUID(uuids []string) ([]nbdb.LogicalSwitchPort, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	rc := c.Cache().Table(nbdb.LogicalSwitchPortTable)
	if rc == nil {
		return nil, nil
	}
	out := make([]nbdb.LogicalSwitchPort, 0, len(uuids))
	for _, u := range uuids {
		if p, ok := rc.Row(u).(*nbdb.LogicalSwitchPort); ok {
			out = append(out, *p)
		}
	}
	return out, nil
}
