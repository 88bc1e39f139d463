// Package ovn is QuantumNet's typed client of OVN: the Northbound database
// (NB, libovsdb with a monitor cache) and the Southbound reads the daemon
// needs (SB).
//
// It is the one home of two things the daemon's packages compose but never
// write themselves:
//
//   - Typed views of QuantumNet's rows, parsed once and defensively (rows
//     are input): Port (port.go) from a Logical_Switch_Port's external_ids,
//     options and addresses; Reservation (reservation.go) from a
//     DHCP_Options row. Callers read fields, never external_ids keys or
//     address strings.
//   - Operation builders, one file per table in the style of
//     ovn-kubernetes' pkg/libovsdb/ops: lsp.go (create, delete and update a
//     logical switch port), reservation.go (reservation rows),
//     generation.go (the optimistic guard on a switch's other_config),
//     portgroup.go (port groups and ACLs), generic.go (rows of any table).
//     A transaction's owner gathers the operations of every layer and
//     commits once (TransactResults).
package ovn
