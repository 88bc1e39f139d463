package ovn

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Logical_Switch_Port: reads (rows and Port views) and operation builders.

// portMAC is the MAC index key of a QuantumNet port ("" if none).
func portMAC(p *nbdb.LogicalSwitchPort) string {
	if p == nil || p.ExternalIDs[keys.Network] == "" {
		return ""
	}
	mac, _ := ParseAddresses(p.Addresses)
	if mac == nil {
		return ""
	}
	return mac.String()
}

// GetPort returns the Logical_Switch_Port called name.
func (c *NB) GetPort(name string) (*nbdb.LogicalSwitchPort, error) {
	lsp, err := byName(c, nbdb.LogicalSwitchPortTable, &nbdb.LogicalSwitchPort{Name: name}) // O(1): the name index
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("logical port %s: %w", name, ErrNotFound)
	}
	return lsp, err
}

// LookupPort returns the view of the logical port called name.
func (c *NB) LookupPort(name string) (Port, error) {
	lsp, err := c.GetPort(name)
	if err != nil {
		return Port{}, err
	}
	return PortOf(lsp), nil
}

// ListPorts returns the QuantumNet ports whose external_ids match every key
// of match; with keys.Network in match, in O(that network's ports).
func (c *NB) ListPorts(match map[string]string) ([]nbdb.LogicalSwitchPort, error) {
	if n := match[keys.Network]; n != "" {
		ports, err := c.NetworkPorts(n)
		if err != nil {
			return nil, err
		}
		return slices.DeleteFunc(ports, func(p nbdb.LogicalSwitchPort) bool {
			for k, v := range match {
				if p.ExternalIDs[k] != v {
					return true
				}
			}
			return false
		}), nil
	}
	return ovs.Query(c.Conn, func(p *nbdb.LogicalSwitchPort) bool {
		if p.ExternalIDs[keys.Network] == "" {
			return false
		}
		for k, v := range match {
			if p.ExternalIDs[k] != v {
				return false
			}
		}
		return true
	})
}

// Ports returns the views of the QuantumNet ports whose external_ids match
// every key of match.
func (c *NB) Ports(match map[string]string) ([]Port, error) {
	rows, err := c.ListPorts(match)
	if err != nil {
		return nil, err
	}
	out := make([]Port, len(rows))
	for i := range rows {
		out[i] = PortOf(&rows[i])
	}
	return out, nil
}

// CreatePortOps builds the operations that create lsp on the switch ls:
// a wait that no port has its name, the insert (named UUID "lsp", set on
// lsp.UUID for the operations that refer to it), for a port with a MAC a
// wait that no other port has it (at index CreatePortMACWait: a lost race
// between daemons on different networks, which the local cache cannot
// see), and the switch membership. The MAC is recorded in the port's
// external_ids (keys.PortMAC) for that wait.
func (c *NB) CreatePortOps(ls *nbdb.LogicalSwitch, lsp *nbdb.LogicalSwitchPort) ([]ovsdb.Operation, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	var macWait []ovsdb.Operation
	if mac, _ := ParseAddresses(lsp.Addresses); mac != nil {
		lsp.ExternalIDs = maps.Clone(lsp.ExternalIDs)
		if lsp.ExternalIDs == nil {
			lsp.ExternalIDs = map[string]string{}
		}
		lsp.ExternalIDs[keys.PortMAC] = mac.String()
		macWait = []ovsdb.Operation{WaitOnlyPortMAC(mac.String(), lsp.Name)}
	}
	lsp.UUID = "lsp"
	ops, err := c.Create(lsp)
	if err != nil {
		return nil, err
	}
	mut, err := c.Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationInsert, Value: []string{lsp.UUID}})
	if err != nil {
		return nil, err
	}
	wait := ovs.WaitNoRow(nbdb.LogicalSwitchPortTable, "name", lsp.Name)
	if len(ops) != 1 {
		return nil, fmt.Errorf("create logical port %s: %d insert operations, want 1", lsp.Name, len(ops))
	}
	return slices.Concat([]ovsdb.Operation{wait}, ops, macWait, mut), nil
}

// CreatePortMACWait is the index, among CreatePortOps' operations, of the
// wait that no other port has the new port's MAC.
const CreatePortMACWait = 2

// WaitOnlyPortMAC is a wait, placed after the insert of the port called
// name, that fails unless that port is the only Logical_Switch_Port
// recording mac (lower case) under keys.PortMAC. (OVSDB cannot say "no
// row" in a wait's rows, which must not be empty: the new row stands in.)
func WaitOnlyPortMAC(mac, name string) ovsdb.Operation {
	zero := 0
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: nbdb.LogicalSwitchPortTable, Timeout: &zero,
		Where:   []ovsdb.Condition{{Column: "external_ids", Function: ovsdb.ConditionIncludes, Value: OvsMap(map[string]string{keys.PortMAC: mac})}},
		Columns: []string{"name"}, Until: string(ovsdb.WaitConditionEqual), Rows: []ovsdb.Row{{"name": name}},
	}
}

// CreatePort creates lsp on ls in one transaction, with extra operations.
func (c *NB) CreatePort(ctx context.Context, ls *nbdb.LogicalSwitch, lsp *nbdb.LogicalSwitchPort, extra ...ovsdb.Operation) error {
	ops, err := c.CreatePortOps(ls, lsp)
	if err != nil {
		return err
	}
	return c.transact(ctx, "create logical port "+lsp.Name, append(extra, ops...))
}

// DeletePortOps builds the operations that delete the port called name
// from its switch (nil, nil when there is no such port). A port without
// QuantumNet ownership is refused (ErrNotManaged).
func (c *NB) DeletePortOps(name string) ([]ovsdb.Operation, error) {
	if err := c.Ready(); err != nil {
		return nil, err
	}
	lsp, err := c.GetPort(name)
	if err != nil {
		return nil, nil
	}
	if lsp.ExternalIDs[keys.Network] == "" {
		return nil, fmt.Errorf("logical port %s: %w", name, ErrNotManaged)
	}
	ls, err := c.GetSwitch(lsp.ExternalIDs[keys.Network])
	if err != nil {
		return nil, err
	}
	mut, err := c.Where(ls).Mutate(ls, model.Mutation{Field: &ls.Ports, Mutator: ovsdb.MutateOperationDelete, Value: []string{lsp.UUID}})
	if err != nil {
		return nil, err
	}
	del, err := c.Where(lsp).Delete()
	if err != nil {
		return nil, err
	}
	return append(mut, del...), nil
}

// DeletePort commits DeletePortOps: a missing port is not an error.
func (c *NB) DeletePort(ctx context.Context, name string) error {
	ops, err := c.DeletePortOps(name)
	if err != nil || ops == nil {
		return err
	}
	return c.transact(ctx, "delete logical port "+name, ops)
}

// UpdatePort writes the given columns of lsp (found by name).
func (c *NB) UpdatePort(ctx context.Context, lsp *nbdb.LogicalSwitchPort, fields ...any) error {
	if err := c.Ready(); err != nil {
		return err
	}
	ops, err := c.Where(lsp).Update(lsp, fields...)
	if err != nil {
		return err
	}
	return c.transact(ctx, "update logical port "+lsp.Name, ops)
}

// PortChange sets keys of a port's external_ids and options (an empty value
// removes the key); a nil map leaves its column alone.
type PortChange struct {
	IDs, Options map[string]string
}

// SetPortKeysOps builds the update of p's external_ids and options with
// change applied to what p was read with (the columns are written whole).
func (c *NB) SetPortKeysOps(p Port, change PortChange) ([]ovsdb.Operation, error) {
	lsp := &nbdb.LogicalSwitchPort{UUID: p.UUID, Name: p.Name}
	apply := func(cur, ch map[string]string) map[string]string {
		out := maps.Clone(cur)
		if out == nil {
			out = map[string]string{}
		}
		for k, v := range ch {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	var fields []any
	if change.IDs != nil {
		lsp.ExternalIDs = apply(p.ids, change.IDs)
		fields = append(fields, &lsp.ExternalIDs)
	}
	if change.Options != nil {
		lsp.Options = apply(p.opts, change.Options)
		fields = append(fields, &lsp.Options)
	}
	if len(fields) == 0 {
		return nil, nil
	}
	return c.Where(lsp).Update(lsp, fields...)
}

// SetPortKeys commits SetPortKeysOps.
func (c *NB) SetPortKeys(ctx context.Context, p Port, change PortChange) error {
	if err := c.Ready(); err != nil {
		return err
	}
	ops, err := c.SetPortKeysOps(p, change)
	if err != nil || ops == nil {
		return err
	}
	return c.transact(ctx, "update logical port "+p.Name, ops)
}
