package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// SwitchGuardOps is the optimistic guard of a change decided from a
// switch's other_config (IPAM's generation): a wait that fails the
// transaction unless the switch uuid still has exactly cur, then the update
// to next. Put it first in the transaction: a lost race is a wait error at
// index 0.
func SwitchGuardOps(uuid string, cur, next map[string]string) []ovsdb.Operation {
	where := []ovsdb.Condition{{Column: "_uuid", Function: ovsdb.ConditionEqual, Value: ovsdb.UUID{GoUUID: uuid}}}
	return []ovsdb.Operation{
		waitRowOp(nbdb.LogicalSwitchTable, uuid, "other_config", OvsMap(cur)),
		{Op: ovsdb.OperationUpdate, Table: nbdb.LogicalSwitchTable, Where: where, Row: ovsdb.Row{"other_config": OvsMap(next)}},
	}
}
