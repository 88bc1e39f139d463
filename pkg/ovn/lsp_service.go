package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Service ports: the Logical_Switch_Ports QuantumNet adds to a network for
// its own services (the switch side of its router port, the resolver's
// localport), marked keys.ServiceOf. Their switch membership is a
// SwitchEdit of the same transaction.

// InsertServicePortOps inserts lsp (lsp.UUID: a named UUID the switch
// refers to in the same transaction), failing the transaction if a port has
// its name already.
func (c *NB) InsertServicePortOps(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	ops, err := c.Create(lsp)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{ovs.WaitNoRow(nbdb.LogicalSwitchPortTable, "name", lsp.Name)}, ops...), nil
}

// UpdatePortAddressesOps rewrites the addresses of the port lsp.UUID.
func (c *NB) UpdatePortAddressesOps(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	return c.UpdateOps(lsp, &lsp.Addresses)
}

// DeleteServicePortOps deletes the port lsp.UUID (take it out of its switch
// with a SwitchEdit in the same transaction).
func (c *NB) DeleteServicePortOps(lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	return c.DeleteOps(lsp)
}
