package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Port groups and ACLs: the rows of the security groups. The builders
// return operations for one transaction (see ovs.Transact, which adds an
// existence wait to every mutate or update by UUID).

// PortGroups returns the port groups with a non-empty external id key,
// read-only (they point into the cache).
func (c *NB) PortGroups(key string) ([]*nbdb.PortGroup, error) {
	return ovs.QueryShallow(c.Conn, nbdb.PortGroupTable, func(p *nbdb.PortGroup) bool { return p.ExternalIDs[key] != "" })
}

// GetPortGroup returns the port group called name (a copy).
func (c *NB) GetPortGroup(name string) (*nbdb.PortGroup, error) {
	rows, err := ovs.Query(c.Conn, func(p *nbdb.PortGroup) bool { return p.Name == name })
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, ErrNotFound
	}
	return &rows[0], nil
}

// PortsShallow returns QuantumNet's logical switch ports, read-only.
func (c *NB) PortsShallow() ([]*nbdb.LogicalSwitchPort, error) {
	return ovs.QueryShallow(c.Conn, nbdb.LogicalSwitchPortTable, func(p *nbdb.LogicalSwitchPort) bool {
		return p.ExternalIDs[keys.Network] != ""
	})
}

// InsertPortGroupOps inserts pg (its Ports and ACLs are UUIDs or named
// UUIDs), failing the transaction if a port group has its name already.
func (c *NB) InsertPortGroupOps(pg *nbdb.PortGroup) ([]ovsdb.Operation, error) {
	ops, err := c.Create(pg)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{ovs.WaitNoRow(nbdb.PortGroupTable, "name", pg.Name)}, ops...), nil
}

// MutatePortGroupOps inserts into and deletes from the port group uuid's
// ports and acls (UUIDs or named UUIDs): one element per change, however
// large the group.
func (c *NB) MutatePortGroupOps(uuid string, addPorts, delPorts, addACLs, delACLs []string) ([]ovsdb.Operation, error) {
	pg := &nbdb.PortGroup{UUID: uuid}
	var muts []model.Mutation
	for _, m := range []struct {
		field any
		op    ovsdb.Mutator
		v     []string
	}{
		{&pg.Ports, ovsdb.MutateOperationDelete, delPorts},
		{&pg.Ports, ovsdb.MutateOperationInsert, addPorts},
		{&pg.ACLs, ovsdb.MutateOperationDelete, delACLs},
		{&pg.ACLs, ovsdb.MutateOperationInsert, addACLs},
	} {
		if len(m.v) > 0 {
			muts = append(muts, model.Mutation{Field: m.field, Mutator: m.op, Value: m.v})
		}
	}
	if len(muts) == 0 {
		return nil, nil
	}
	return c.Where(pg).Mutate(pg, muts...)
}

// SetPortGroupExternalIDsOps replaces the external ids of the port group uuid.
func (c *NB) SetPortGroupExternalIDsOps(uuid string, ids map[string]string) ([]ovsdb.Operation, error) {
	pg := &nbdb.PortGroup{UUID: uuid, ExternalIDs: ids}
	return c.Where(pg).Update(pg, &pg.ExternalIDs)
}

// DeletePortGroupOps deletes the port group uuid (its ACLs go with it).
func (c *NB) DeletePortGroupOps(uuid string) ([]ovsdb.Operation, error) {
	return c.Where(&nbdb.PortGroup{UUID: uuid}).Delete()
}

// UpdatePortOps updates fields of the logical switch port lsp.UUID.
func (c *NB) UpdatePortOps(lsp *nbdb.LogicalSwitchPort, fields ...any) ([]ovsdb.Operation, error) {
	return c.Where(lsp).Update(lsp, fields...)
}

// WaitPortGroupExternalIDsOp fails the transaction unless the port group
// uuid has exactly these external ids (the caller's view: an optimistic
// guard).
func WaitPortGroupExternalIDsOp(uuid string, externalIDs map[string]string) ovsdb.Operation {
	return waitRowOp(nbdb.PortGroupTable, uuid, "external_ids", OvsMap(externalIDs))
}

// WaitPortGroupPortsOp fails the transaction unless the port group uuid has
// exactly these ports (UUIDs).
func WaitPortGroupPortsOp(uuid string, ports []string) ovsdb.Operation {
	set := make([]any, len(ports))
	for i, p := range ports {
		set[i] = ovsdb.UUID{GoUUID: p}
	}
	return waitRowOp(nbdb.PortGroupTable, uuid, "ports", ovsdb.OvsSet{GoSet: set})
}

// WaitPortExternalIDsOp fails the transaction unless the logical switch
// port uuid has exactly these external ids.
func WaitPortExternalIDsOp(uuid string, ids map[string]string) ovsdb.Operation {
	return waitRowOp(nbdb.LogicalSwitchPortTable, uuid, "external_ids", OvsMap(ids))
}

func waitRowOp(table, uuid, column string, value any) ovsdb.Operation {
	zero := 0
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: table, Timeout: &zero,
		Where:   []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: uuid}}},
		Columns: []string{column}, Until: string(ovsdb.WaitConditionEqual),
		Rows: []ovsdb.Row{{column: value}},
	}
}

// OvsMap is m as an OVSDB map value, for operations built by hand.
func OvsMap(m map[string]string) ovsdb.OvsMap {
	om := ovsdb.OvsMap{GoMap: make(map[any]any, len(m))}
	for k, v := range m {
		om.GoMap[k] = v
	}
	return om
}

// WaitNoPortGroupOp fails the transaction if a port group called name
// exists (the guard of a change computed while there was none).
func WaitNoPortGroupOp(name string) ovsdb.Operation {
	return ovs.WaitNoRow(nbdb.PortGroupTable, "name", name)
}

// DeleteEmptiedPortGroupOps deletes the port group uuid only while its
// ports are these (UUIDs): a port joining meanwhile aborts the transaction.
func (c *NB) DeleteEmptiedPortGroupOps(uuid string, ports []string) ([]ovsdb.Operation, error) {
	del, err := c.DeletePortGroupOps(uuid)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{WaitPortGroupPortsOp(uuid, ports)}, del...), nil
}

// JoinPortGroupsOps adds the port portUUID (a UUID or named UUID) to each
// of the port groups pgs (UUIDs): one element per group.
func (c *NB) JoinPortGroupsOps(portUUID string, pgs []string) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	for _, pg := range pgs {
		o, err := c.MutatePortGroupOps(pg, []string{portUUID}, nil, nil, nil)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// WaitPortGroupAsSeenOp fails the transaction unless the port group called
// name is as the caller saw it: absent (seen nil), or with seen's external
// ids (an optimistic guard on a generation kept there).
func WaitPortGroupAsSeenOp(name string, seen *nbdb.PortGroup) ovsdb.Operation {
	if seen == nil {
		return WaitNoPortGroupOp(name)
	}
	return WaitPortGroupExternalIDsOp(seen.UUID, seen.ExternalIDs)
}
