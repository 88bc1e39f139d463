package ovn

import (
	"context"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Load_Balancer and Load_Balancer_Health_Check: a load balancer is one
// Load_Balancer row LBRowName(name) (keys.LB), referenced (weakly) by its
// network's switch and router; its health checks are owned by the row
// (strong references: replacing the set garbage-collects the old ones).

// LBRowName is the Load_Balancer name of the load balancer name.
func LBRowName(name string) string { return keys.LBPrefix + name }

// GetLB returns the Load_Balancer of the load balancer name (a copy), nil
// if none.
func (c *NB) GetLB(name string) *nbdb.LoadBalancer {
	return first(ovs.Query(c.Conn, func(lb *nbdb.LoadBalancer) bool {
		return lb.Name == LBRowName(name) && lb.ExternalIDs[keys.LB] == name
	}))
}

// LBs returns the Load_Balancer rows of every load balancer (copies).
func (c *NB) LBs() ([]nbdb.LoadBalancer, error) {
	return ovs.Query(c.Conn, func(lb *nbdb.LoadBalancer) bool {
		return lb.ExternalIDs[keys.LB] != "" && lb.Name == LBRowName(lb.ExternalIDs[keys.LB])
	})
}

// LBHealthChecks returns the health check rows of uuids (copies).
func (c *NB) LBHealthChecks(uuids []string) ([]nbdb.LoadBalancerHealthCheck, error) {
	return ovs.Query(c.Conn, func(h *nbdb.LoadBalancerHealthCheck) bool {
		for _, u := range uuids {
			if h.UUID == u {
				return true
			}
		}
		return false
	})
}

// RouterWithPort returns the logical router that has the router port
// named lrp (a copy), nil if none.
func (c *NB) RouterWithPort(lrp string) *nbdb.LogicalRouter {
	p := c.GetRouterPort(lrp)
	if p == nil {
		return nil
	}
	return first(ovs.Query(c.Conn, func(r *nbdb.LogicalRouter) bool {
		for _, u := range r.Ports {
			if u == p.UUID {
				return true
			}
		}
		return false
	}))
}

// AttachLBOps adds the load balancer uuid to the switch ls and, if
// lr is not "", to the router lr.
func (c *NB) AttachLBOps(uuid, ls, lr string) ([]ovsdb.Operation, error) {
	sw := &nbdb.LogicalSwitch{UUID: ls}
	ops, err := c.MutateOps(sw, model.Mutation{Field: &sw.LoadBalancer, Mutator: ovsdb.MutateOperationInsert, Value: []string{uuid}})
	if err != nil || lr == "" {
		return ops, err
	}
	r := &nbdb.LogicalRouter{UUID: lr}
	more, err := c.MutateOps(r, model.Mutation{Field: &r.LoadBalancer, Mutator: ovsdb.MutateOperationInsert, Value: []string{uuid}})
	return append(ops, more...), err
}

// NBGlobalDefaultsOps inserts opts into NB_Global's options where a key
// is absent (values the operator set stay). No opts: no operation.
func NBGlobalDefaultsOps(opts map[string]string) []ovsdb.Operation {
	return GatewayBFDDefaultsOps(opts)
}

// WaitLBExternalIDsOp fails the transaction unless the Load_Balancer uuid
// has exactly these external ids (the record an edit was read from).
func WaitLBExternalIDsOp(uuid string, ids map[string]string) ovsdb.Operation {
	return waitRowOp(nbdb.LoadBalancerTable, uuid, "external_ids", OvsMap(ids))
}

// PortByName returns the view of the logical port called name through
// the table's name index (O(1), unlike LookupPort's scan); ok is false
// when there is none (or no cache yet).
func (c *NB) PortByName(name string) (Port, bool) {
	if c.Ready() != nil {
		return Port{}, false
	}
	lsp := &nbdb.LogicalSwitchPort{Name: name}
	if err := c.Get(context.Background(), lsp); err != nil {
		return Port{}, false
	}
	return PortOf(lsp), true
}

// LBAttachment is where a load balancer row is referenced from: switch and
// router UUIDs.
type LBAttachment struct {
	Switches, Routers []string
}

// LBAttachments maps each Load_Balancer UUID to the switches and routers
// that reference it (one pass over switches and routers).
func (c *NB) LBAttachments() (map[string]*LBAttachment, error) {
	out := map[string]*LBAttachment{}
	at := func(u string) *LBAttachment {
		if out[u] == nil {
			out[u] = &LBAttachment{}
		}
		return out[u]
	}
	sws, err := ovs.QueryShallow(c.Conn, nbdb.LogicalSwitchTable, func(*nbdb.LogicalSwitch) bool { return true })
	if err != nil {
		return nil, err
	}
	for _, ls := range sws {
		for _, u := range ls.LoadBalancer {
			at(u).Switches = append(at(u).Switches, ls.UUID)
		}
	}
	lrs, err := ovs.QueryShallow(c.Conn, nbdb.LogicalRouterTable, func(*nbdb.LogicalRouter) bool { return true })
	if err != nil {
		return nil, err
	}
	for _, lr := range lrs {
		for _, u := range lr.LoadBalancer {
			at(u).Routers = append(at(u).Routers, lr.UUID)
		}
	}
	return out, nil
}

// LBAttachOps references the load balancer uuid from the switches and
// routers in add and drops the references of those in del.
func (c *NB) LBAttachOps(uuid string, add, del LBAttachment) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	for _, x := range []struct {
		sws []string
		lrs []string
		m   ovsdb.Mutator
	}{{add.Switches, add.Routers, ovsdb.MutateOperationInsert}, {del.Switches, del.Routers, ovsdb.MutateOperationDelete}} {
		for _, s := range x.sws {
			sw := &nbdb.LogicalSwitch{UUID: s}
			o, err := c.MutateOps(sw, model.Mutation{Field: &sw.LoadBalancer, Mutator: x.m, Value: []string{uuid}})
			if err != nil {
				return nil, err
			}
			ops = append(ops, o...)
		}
		for _, r := range x.lrs {
			lr := &nbdb.LogicalRouter{UUID: r}
			o, err := c.MutateOps(lr, model.Mutation{Field: &lr.LoadBalancer, Mutator: x.m, Value: []string{uuid}})
			if err != nil {
				return nil, err
			}
			ops = append(ops, o...)
		}
	}
	return ops, nil
}
