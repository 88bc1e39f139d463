package ovn

import (
	"net/netip"

	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// One floating IP has one user: a port (one-to-one NAT), its port
// forwards, or one load balancer's listeners. Each daemon checks that in
// its cache, which may not yet hold another daemon's change; the guards
// here make the transaction that takes the floating IP fail
// (ovs.WaitError, ErrExists) if another user committed first, so two
// racing daemons can never both win.
//
// A guard asserts that no row matches a condition on external_ids. OVSDB's
// wait says that with until "==" and rows [], but libovsdb drops an empty
// "rows" (omitempty). ovsdb-server compares the distinct projections of
// the matching rows on "columns", so a wait whose where also pins one
// column to a value v, projected on that column, with until "!=" and rows
// [{column: v}], fails exactly when at least one row matches: one wait per
// value the column can take covers every row.

// WaitNoLBOnFIPOps fail the transaction while a load balancer row other
// than the one called except ("": none) has its listeners on the floating
// IP addr (keys.LBFIP).
func WaitNoLBOnFIPOps(addr netip.Addr, except string) []ovsdb.Operation {
	where := []ovsdb.Condition{{Column: "external_ids", Function: ovsdb.ConditionIncludes,
		Value: OvsMap(map[string]string{keys.LBFIP: addr.String()})}}
	if except != "" {
		where = append(where, ovsdb.Condition{Column: "name", Function: ovsdb.ConditionNotEqual, Value: except})
	}
	// protocol is an optional enum: a set of zero or one value.
	var values []any
	for _, p := range []string{"", nbdb.LoadBalancerProtocolTCP, nbdb.LoadBalancerProtocolUDP, nbdb.LoadBalancerProtocolSCTP} {
		s := ovsdb.OvsSet{GoSet: []any{}}
		if p != "" {
			s.GoSet = []any{p}
		}
		values = append(values, s)
	}
	return waitNoneOps(nbdb.LoadBalancerTable, where, "protocol", values)
}

// WaitNoFIPNATOps fail the transaction while the floating IP addr is
// associated with a port (a NAT row of its, keys.FIP).
func WaitNoFIPNATOps(addr netip.Addr) []ovsdb.Operation {
	where := []ovsdb.Condition{{Column: "external_ids", Function: ovsdb.ConditionIncludes,
		Value: OvsMap(map[string]string{keys.FIP: addr.String()})}}
	return waitNoneOps(nbdb.NATTable, where, "type", []any{nbdb.NATTypeDNAT, nbdb.NATTypeSNAT, nbdb.NATTypeDNATAndSNAT})
}

// WaitFIPFreeOps fail the transaction unless the floating IP addr (its
// reservation row reservation) still exists and is free for the load
// balancer row lbRow: no association, no port forward, no other load
// balancer. It guards the transaction that puts lbRow's listeners on it.
func WaitFIPFreeOps(addr netip.Addr, reservation, lbRow string) []ovsdb.Operation {
	ops := []ovsdb.Operation{waitRowOp(nbdb.DHCPOptionsTable, reservation, "_uuid", ovsdb.UUID{GoUUID: reservation})}
	ops = append(ops, WaitNoForwardsOps(addr)...)
	ops = append(ops, WaitNoFIPNATOps(addr)...)
	return append(ops, WaitNoLBOnFIPOps(addr, lbRow)...)
}

// waitNoneOps: no row of table matches where, column taking any of values
// (all it can take; see above).
func waitNoneOps(table string, where []ovsdb.Condition, column string, values []any) []ovsdb.Operation {
	zero := 0
	ops := make([]ovsdb.Operation, 0, len(values))
	for _, v := range values {
		w := append(append([]ovsdb.Condition{}, where...), ovsdb.Condition{Column: column, Function: ovsdb.ConditionEqual, Value: v})
		ops = append(ops, ovsdb.Operation{
			Op: ovsdb.OperationWait, Table: table, Timeout: &zero, Where: w,
			Columns: []string{column}, Until: string(ovsdb.WaitConditionNotEqual), Rows: []ovsdb.Row{{column: v}},
		})
	}
	return ops
}
