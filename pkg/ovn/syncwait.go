package ovn

import (
	"context"
	"fmt"
	"time"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// WaitSB waits until ovn-northd has put everything committed to
// Northbound so far into Southbound, as `ovn-nbctl --wait=sb sync` does:
// it bumps NB_Global nb_cfg and waits for sb_cfg to reach it. Without an
// NB_Global row (no ovn-northd ever ran) it returns at once.
func (c *NB) WaitSB(ctx context.Context) error {
	every := []ovsdb.Condition{{Column: "nb_cfg", Function: ovsdb.ConditionGreaterThanOrEqual, Value: 0}}
	ops := []ovsdb.Operation{
		{Op: ovsdb.OperationMutate, Table: nbdb.NBGlobalTable, Where: every,
			Mutations: []ovsdb.Mutation{{Column: "nb_cfg", Mutator: ovsdb.MutateOperationAdd, Value: 1}}},
		{Op: ovsdb.OperationSelect, Table: nbdb.NBGlobalTable, Where: every, Columns: []string{"nb_cfg"}},
	}
	res, err := ovs.Transact(ctx, c.Conn, "bump NB_Global nb_cfg", ops)
	if err != nil {
		return err
	}
	if len(res) != 2 || len(res[1].Rows) == 0 {
		return nil
	}
	want, err := cfgOf(res[1], "nb_cfg")
	if err != nil {
		return err
	}
	read := []ovsdb.Operation{{Op: ovsdb.OperationSelect, Table: nbdb.NBGlobalTable, Where: every, Columns: []string{"sb_cfg"}}}
	for {
		// NB_Global is not in the monitor: read sb_cfg itself.
		res, err := ovs.Transact(ctx, c.Conn, "read NB_Global sb_cfg", read)
		if err == nil && len(res) == 1 && len(res[0].Rows) > 0 {
			if got, err := cfgOf(res[0], "sb_cfg"); err == nil && got >= want {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for ovn-northd to bring Southbound up to Northbound (nb_cfg %d): %w", want, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// cfgOf reads the integer column col of r's first row (raw JSON numbers).
func cfgOf(r ovsdb.OperationResult, col string) (int, error) {
	switch v := r.Rows[0][col].(type) {
	case float64:
		return int(v), nil
	case int:
		return v, nil
	default:
		return 0, fmt.Errorf("NB_Global %s is %T", col, v)
	}
}
