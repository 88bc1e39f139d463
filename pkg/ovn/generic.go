package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// Generic operation builders for rows of any Northbound table, so that the
// daemon's packages build transactions without the libovsdb client. A
// model is found by its UUID (or its table's index, e.g. name).

// InsertOps inserts m (its UUID: a named UUID, or empty).
func (c *NB) InsertOps(m model.Model) ([]ovsdb.Operation, error) { return c.Create(m) }

// UpdateOps writes fields of m.
func (c *NB) UpdateOps(m model.Model, fields ...any) ([]ovsdb.Operation, error) {
	return c.Where(m).Update(m, fields...)
}

// MutateOps applies mutations to m.
func (c *NB) MutateOps(m model.Model, muts ...model.Mutation) ([]ovsdb.Operation, error) {
	if len(muts) == 0 {
		return nil, nil
	}
	return c.Where(m).Mutate(m, muts...)
}

// DeleteOps deletes m.
func (c *NB) DeleteOps(m model.Model) ([]ovsdb.Operation, error) { return c.Where(m).Delete() }

// List returns the cached rows of T matching pred (copies).
func List[T any](c *NB, pred func(*T) bool) ([]T, error) { return ovs.Query(c.Conn, pred) }

// WaitNoRowWithIDs fails the transaction if a row of table has exactly
// these external ids (an optimistic "insert if absent" for tables without
// a unique index: every such row is inserted with exactly these ids).
// (An OVSDB wait for "no row at all" needs an empty rows list, which
// libovsdb does not send; this compares one row's column instead.)
func WaitNoRowWithIDs(table string, ids map[string]string) ovsdb.Operation {
	zero := 0
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: table, Timeout: &zero, Where: []ovsdb.Condition{ExternalIDsInclude(ids)},
		Columns: []string{"external_ids"}, Until: string(ovsdb.WaitConditionNotEqual), Rows: []ovsdb.Row{{"external_ids": OvsMap(ids)}},
	}
}

// ExternalIDsInclude is the condition "external_ids includes ids".
func ExternalIDsInclude(ids map[string]string) ovsdb.Condition {
	return ovsdb.Condition{Column: "external_ids", Function: ovsdb.ConditionIncludes, Value: OvsMap(ids)}
}

// WaitSwitchExternalIDsOp fails the transaction unless the logical switch
// uuid has exactly these external ids.
func WaitSwitchExternalIDsOp(uuid string, ids map[string]string) ovsdb.Operation {
	return waitRowOp(nbdb.LogicalSwitchTable, uuid, "external_ids", OvsMap(ids))
}
