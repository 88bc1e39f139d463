package ovn

import (
	"context"
	"fmt"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// DatabaseID is the identity of the Northbound database: the UUID of its
// NB_Global row, which a database keeps (across cluster members, restarts
// and leader changes) and a new or re-created one does not share. ""
// when the database has no NB_Global row (not initialized: empty).
// Attachments record it, so that a reconcile can tell the Northbound they
// were made against from another one.
func (c *NB) DatabaseID(ctx context.Context) (string, error) {
	op := ovsdb.Operation{Op: ovsdb.OperationSelect, Table: nbdb.NBGlobalTable, Where: []ovsdb.Condition{}, Columns: []string{"_uuid"}}
	res, err := ovs.Transact(ctx, c.Conn, "read the Northbound database identity", []ovsdb.Operation{op})
	if err != nil {
		return "", err
	}
	if len(res) != 1 || len(res[0].Rows) == 0 {
		return "", nil
	}
	u, ok := res[0].Rows[0]["_uuid"].(ovsdb.UUID)
	if !ok {
		return "", fmt.Errorf("read the Northbound database identity: NB_Global _uuid is %T", res[0].Rows[0]["_uuid"])
	}
	return u.GoUUID, nil
}
