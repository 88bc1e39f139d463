package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// ACL: the rules of the security groups. An ACL belongs to no root table
// but a port group: it is inserted with a named UUID its port group refers
// to in the same transaction, and garbage-collected when no port group
// refers to it.

// ACLs returns the ACLs with a non-empty external id key, read-only.
func (c *NB) ACLs(key string) ([]*nbdb.ACL, error) {
	return ovs.QueryShallow(c.Conn, nbdb.ACLTable, func(a *nbdb.ACL) bool { return a.ExternalIDs[key] != "" })
}

// InsertACLOps inserts a (a.UUID: a named UUID the same transaction's port
// group refers to; an ACL belongs to no root table but a port group).
func (c *NB) InsertACLOps(a *nbdb.ACL) ([]ovsdb.Operation, error) {
	return c.Create(a)
}

// UpdateACLOps rewrites every column of the ACL a.UUID QuantumNet writes:
// the rule and its logging (log, name, severity, meter).
func (c *NB) UpdateACLOps(a *nbdb.ACL) ([]ovsdb.Operation, error) {
	return c.Where(a).Update(a, &a.Direction, &a.Priority, &a.Match, &a.Action, &a.ExternalIDs,
		&a.Log, &a.Name, &a.Severity, &a.Meter)
}
