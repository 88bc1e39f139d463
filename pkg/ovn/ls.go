package ovn

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Logical_Switch: a network's switch, found by its name and keys.Network.

// SwitchName is the Logical_Switch name of network.
func SwitchName(network string) string { return keys.SwitchPrefix + network }

// GetSwitch returns the Logical_Switch of network.
func (c *NB) GetSwitch(network string) (*nbdb.LogicalSwitch, error) {
	rows, err := indexed(c, nbdb.LogicalSwitchTable, &c.rows.switches, network, func(ls *nbdb.LogicalSwitch) bool {
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
// external_ids (keys.Network is added) and ports (named UUIDs: an external
// network's localnet port), in one transaction; it fails with ErrExists if
// a switch of that name exists, even one created concurrently by another
// daemon.
func (c *NB) CreateSwitch(ctx context.Context, network string, ids map[string]string, ports ...*nbdb.LogicalSwitchPort) (*nbdb.LogicalSwitch, error) {
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
	var ops []ovsdb.Operation
	for _, p := range ports {
		o, err := c.Create(p)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
		ls.Ports = append(ls.Ports, p.UUID)
	}
	o, err := c.Create(ls)
	if err != nil {
		return nil, err
	}
	ops = append(ops, o...) // after its ports: named UUIDs are defined before use
	wait := ovs.WaitNoRow(nbdb.LogicalSwitchTable, "name", ls.Name)
	res, err := ovs.Transact(ctx, c.Conn, "create network "+network, append([]ovsdb.Operation{wait}, ops...))
	if err != nil {
		if errors.Is(err, ErrExists) {
			return nil, fmt.Errorf("network %q: %w", network, ErrExists)
		}
		return nil, err
	}
	ls.UUID = res[1+len(ports)].UUID.GoUUID
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
	if err := c.NeedNetworks(ctx, network); err != nil {
		return err
	}
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
	// Its external ids as read too: a router attached meanwhile keeps it.
	waitIDs := WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs)
	if err := c.transact(ctx, "delete network "+network, append([]ovsdb.Operation{wait, waitIDs}, del...)); err != nil {
		if errors.Is(err, ErrExists) {
			return fmt.Errorf("network %q gained ports or was attached to a router meanwhile: %w", network, ErrInUse)
		}
		return err
	}
	return nil
}

// UpdateSwitchExternalIDsOps replaces the external ids of the switch ls
// with ids, only over the ones ls was read with: a concurrent change fails
// the transaction (an ovs.WaitError), and the caller computes again.
func (c *NB) UpdateSwitchExternalIDsOps(ls *nbdb.LogicalSwitch, ids map[string]string) ([]ovsdb.Operation, error) {
	row := &nbdb.LogicalSwitch{UUID: ls.UUID, ExternalIDs: ids}
	ops, err := c.UpdateOps(row, &row.ExternalIDs)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs)}, ops...), nil
}

// SwitchEdit gathers changes of one switch's ports, DNS records and
// external ids into one mutate operation (single elements: it commutes
// with concurrent changes of other elements).
type SwitchEdit struct {
	row  nbdb.LogicalSwitch
	muts []model.Mutation
}

// EditSwitch starts an edit of the switch uuid.
func EditSwitch(uuid string) *SwitchEdit { return &SwitchEdit{row: nbdb.LogicalSwitch{UUID: uuid}} }

// AddPort adds the port uuid (or named UUID) to the switch.
func (e *SwitchEdit) AddPort(uuid string) {
	e.muts = append(e.muts, model.Mutation{Field: &e.row.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{uuid}})
}

// DeletePort takes the port uuid out of the switch.
func (e *SwitchEdit) DeletePort(uuid string) {
	e.muts = append(e.muts, model.Mutation{Field: &e.row.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{uuid}})
}

// AddDNSRecords makes the switch refer to the DNS row uuid (or named UUID).
func (e *SwitchEdit) AddDNSRecords(uuid string) {
	e.muts = append(e.muts, model.Mutation{Field: &e.row.DNSRecords, Mutator: ovsdb.MutateOperationInsert, Value: []string{uuid}})
}

// DeleteDNSRecords takes the DNS row uuid out of the switch.
func (e *SwitchEdit) DeleteDNSRecords(uuid string) {
	e.muts = append(e.muts, model.Mutation{Field: &e.row.DNSRecords, Mutator: ovsdb.MutateOperationDelete, Value: []string{uuid}})
}

// SetExternalID sets one external id of the switch.
func (e *SwitchEdit) SetExternalID(key, value string) {
	e.muts = append(e.muts,
		model.Mutation{Field: &e.row.ExternalIDs, Mutator: ovsdb.MutateOperationDelete, Value: []string{key}},
		model.Mutation{Field: &e.row.ExternalIDs, Mutator: ovsdb.MutateOperationInsert, Value: map[string]string{key: value}})
}

// DeleteExternalID deletes one external id of the switch.
func (e *SwitchEdit) DeleteExternalID(key string) {
	e.muts = append(e.muts, model.Mutation{Field: &e.row.ExternalIDs, Mutator: ovsdb.MutateOperationDelete, Value: []string{key}})
}

// SwitchEditOps returns the operation of the edit e (none for an empty edit).
func (c *NB) SwitchEditOps(e *SwitchEdit) ([]ovsdb.Operation, error) {
	return c.MutateOps(&e.row, e.muts...)
}
