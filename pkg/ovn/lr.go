package ovn

import (
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Logical_Router and Logical_Router_Port: a network's own router (its
// gateway and router advertisements), found by name.

// GetRouter returns the logical router called name (a copy), nil if none.
func (c *NB) GetRouter(name string) *nbdb.LogicalRouter {
	return first(indexed(c, nbdb.LogicalRouterTable, &c.rows.routers, name, func(r *nbdb.LogicalRouter) bool { return r.Name == name }))
}

// RoutersHolding returns the UUIDs of the routers whose ports include the
// router port lrp (a UUID), in O(them): from an index kept by cache events,
// each checked against its cached row. The events lag the cache by a
// moment: a router that took the port just now may be missing (a sweep
// asks again at its next pass).
func (c *NB) RoutersHolding(lrp string) ([]string, error) {
	if err := c.cached(); err != nil {
		return nil, err
	}
	c.rows.pmu.RLock()
	cand := make([]string, 0, len(c.rows.holders[lrp]))
	for u := range c.rows.holders[lrp] {
		cand = append(cand, u)
	}
	c.rows.pmu.RUnlock()
	rc := c.table(nbdb.LogicalRouterTable)
	if rc == nil {
		return nil, nil
	}
	out := make([]string, 0, len(cand))
	for _, u := range cand {
		if r, _ := rc.Row(u).(*nbdb.LogicalRouter); r != nil && slices.Contains(r.Ports, lrp) {
			out = append(out, u)
		}
	}
	return out, nil
}

// GetRouterPort returns the logical router port called name (a copy), nil
// if none.
func (c *NB) GetRouterPort(name string) *nbdb.LogicalRouterPort {
	p, err := byName(c, nbdb.LogicalRouterPortTable, &nbdb.LogicalRouterPort{Name: name}) // O(1): the name index
	if err != nil {
		return nil
	}
	return p
}

// CreateRouterOps inserts lrp (lrp.UUID: a named UUID) and the router lr
// with lrp as its port, failing the transaction if a router has lr's name
// already (an optimistic "create if absent").
func (c *NB) CreateRouterOps(lr *nbdb.LogicalRouter, lrp *nbdb.LogicalRouterPort) ([]ovsdb.Operation, error) {
	ops, err := c.Create(lrp)
	if err != nil {
		return nil, err
	}
	ops = append(ops, ovs.WaitNoRow(nbdb.LogicalRouterTable, "name", lr.Name))
	lr.Ports = []string{lrp.UUID}
	ins, err := c.Create(lr)
	if err != nil {
		return nil, err
	}
	return append(ops, ins...), nil
}

// AddRouterPortOps inserts lrp (lrp.UUID: a named UUID) into the router lr.
func (c *NB) AddRouterPortOps(lr *nbdb.LogicalRouter, lrp *nbdb.LogicalRouterPort) ([]ovsdb.Operation, error) {
	ops, err := c.Create(lrp)
	if err != nil {
		return nil, err
	}
	ref := &nbdb.LogicalRouter{UUID: lr.UUID}
	mut, err := c.MutateOps(ref, model.Mutation{Field: &ref.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{lrp.UUID}})
	if err != nil {
		return nil, err
	}
	return append(ops, mut...), nil
}

// UpdateRouterPortOps rewrites the MAC, networks and router advertisement
// settings of the router port lrp.UUID.
func (c *NB) UpdateRouterPortOps(lrp *nbdb.LogicalRouterPort) ([]ovsdb.Operation, error) {
	return c.UpdateOps(lrp, &lrp.MAC, &lrp.Networks, &lrp.Ipv6RaConfigs)
}

// first is the first of rows (a copy), nil if none or on error.
func first[T any](rows []T, err error) *T {
	if err != nil || len(rows) == 0 {
		return nil
	}
	return &rows[0]
}
