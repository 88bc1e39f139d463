package ovn

import (
	"net/netip"
	"strings"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Port forwards of floating IPs: one Load_Balancer row per floating IP and
// protocol, ForwardRowName(addr, proto), with keys.Forward (the address)
// and keys.ForwardRules (the record) in its external_ids and one VIP
// "FIP:PORT" -> "TARGET:TPORT" per forward, referenced (weakly) by the
// router that carries the floating IP. Load_Balancer is a root table: a
// row goes only when deleted.

// ForwardRowName is the Load_Balancer name of the forwards of addr/proto.
func ForwardRowName(addr netip.Addr, proto string) string {
	return keys.ForwardPrefix + addr.String() + "-" + proto
}

// IsForwardRow says whether lb is a row of port forwards of QuantumNet's.
func IsForwardRow(lb *nbdb.LoadBalancer) bool {
	a, err := netip.ParseAddr(lb.ExternalIDs[keys.Forward])
	return err == nil && lb.Protocol != nil && lb.Name == ForwardRowName(a, string(*lb.Protocol)) &&
		strings.HasPrefix(lb.Name, keys.ForwardPrefix)
}

// ForwardRows returns the port-forward rows (copies), of the floating IP
// addr only unless addr is zero.
func (c *NB) ForwardRows(addr netip.Addr) ([]nbdb.LoadBalancer, error) {
	return ovs.Query(c.Conn, func(lb *nbdb.LoadBalancer) bool {
		return IsForwardRow(lb) && (!addr.IsValid() || lb.ExternalIDs[keys.Forward] == addr.String())
	})
}

// InsertForwardOps inserts the forward row lb (a named UUID) and adds it
// to the router lr ("" none), failing if a row of its name exists.
func (c *NB) InsertForwardOps(lb *nbdb.LoadBalancer, lr string) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{waitNoLBNamed(lb.Name)}
	ins, err := c.InsertOps(lb)
	if err != nil {
		return nil, err
	}
	ops = append(ops, ins...)
	if lr == "" {
		return ops, nil
	}
	more, err := c.RouterLBOps(lr, lb.UUID, true)
	return append(ops, more...), err
}

// WaitNoForwardsOps fail the transaction if the floating IP addr has port
// forwards of any protocol (the guard of an association).
func WaitNoForwardsOps(addr netip.Addr) []ovsdb.Operation {
	return []ovsdb.Operation{waitNoLBNamed(ForwardRowName(addr, "tcp")), waitNoLBNamed(ForwardRowName(addr, "udp"))}
}

// waitNoLBNamed fails the transaction if a Load_Balancer called name exists.
func waitNoLBNamed(name string) ovsdb.Operation {
	zero := 0
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: nbdb.LoadBalancerTable, Timeout: &zero,
		Where:   []ovsdb.Condition{{Column: "name", Function: ovsdb.ConditionEqual, Value: name}},
		Columns: []string{"name"}, Until: string(ovsdb.WaitConditionNotEqual), Rows: []ovsdb.Row{{"name": name}},
	}
}

// SetForwardOps writes the forward row's vips and external ids, guarded by
// the external ids it was read with.
func (c *NB) SetForwardOps(lb *nbdb.LoadBalancer, readIDs map[string]string) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{WaitLBExternalIDsOp(lb.UUID, readIDs)}
	row := &nbdb.LoadBalancer{UUID: lb.UUID, Vips: lb.Vips, ExternalIDs: lb.ExternalIDs}
	up, err := c.UpdateOps(row, &row.Vips, &row.ExternalIDs)
	return append(ops, up...), err
}

// DeleteForwardOps deletes the forward row uuid, guarded by the external
// ids it was read with (the routers' weak references go with it).
func (c *NB) DeleteForwardOps(uuid string, readIDs map[string]string) ([]ovsdb.Operation, error) {
	del, err := c.DeleteOps(&nbdb.LoadBalancer{UUID: uuid})
	return append([]ovsdb.Operation{WaitLBExternalIDsOp(uuid, readIDs)}, del...), err
}

// ForwardVIPsDeleteOps take the VIPs vips (keys "FIP:PORT") out of the
// forward row uuid by mutation: safe beside any concurrent edit of the row
// (the record in its external ids is left to the store's sync).
func (c *NB) ForwardVIPsDeleteOps(uuid string, vips []string) ([]ovsdb.Operation, error) {
	if len(vips) == 0 {
		return nil, nil
	}
	lb := &nbdb.LoadBalancer{UUID: uuid}
	return c.MutateOps(lb, model.Mutation{Field: &lb.Vips, Mutator: ovsdb.MutateOperationDelete, Value: vips})
}

// RouterLBOps adds the load balancer uuid to the router lr (or takes it out).
func (c *NB) RouterLBOps(lr, uuid string, add bool) ([]ovsdb.Operation, error) {
	mut := ovsdb.MutateOperationInsert
	if !add {
		mut = ovsdb.MutateOperationDelete
	}
	r := &nbdb.LogicalRouter{UUID: lr}
	return c.MutateOps(r, model.Mutation{Field: &r.LoadBalancer, Mutator: mut, Value: []string{uuid}})
}

// RoutersWithLB returns the routers that reference the load balancer uuid (copies).
func (c *NB) RoutersWithLB(uuid string) ([]nbdb.LogicalRouter, error) {
	return ovs.Query(c.Conn, func(r *nbdb.LogicalRouter) bool {
		for _, u := range r.LoadBalancer {
			if u == uuid {
				return true
			}
		}
		return false
	})
}
