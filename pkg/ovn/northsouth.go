package ovn

import (
	"strconv"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// North-south rows: user routers (Logical_Router with keys.Router), their
// ports, static routes, NAT and the HA_Chassis_Group of their gateway.
// Names: keys.RouterPrefix + router, keys.GatewayPortPrefix + router, ...

// RouterRowName is the Logical_Router name of the user router name.
func RouterRowName(name string) string { return keys.RouterPrefix + name }

// GatewayPortName is the name of a router's gateway LRP.
func GatewayPortName(router string) string { return keys.GatewayPortPrefix + router }

// GatewayLSPName is the name of the LSP peering with a router's gateway LRP.
func GatewayLSPName(router string) string { return keys.GatewayLSPPrefix + router }

// HAGroupName is the name of a router's gateway HA_Chassis_Group.
func HAGroupName(router string) string { return keys.HAGroupPrefix + router }

// LocalnetName is the name of an external network's localnet LSP.
func LocalnetName(network string) string { return keys.LocalnetPrefix + network }

// UserRouters returns QuantumNet's user routers (copies).
func (c *NB) UserRouters() ([]nbdb.LogicalRouter, error) {
	return ovs.Query(c.Conn, func(r *nbdb.LogicalRouter) bool {
		return r.ExternalIDs[keys.Router] != "" && r.Name == RouterRowName(r.ExternalIDs[keys.Router])
	})
}

// GetUserRouter returns the user router name (a copy), nil if none.
func (c *NB) GetUserRouter(name string) *nbdb.LogicalRouter {
	return first(ovs.Query(c.Conn, func(r *nbdb.LogicalRouter) bool {
		return r.Name == RouterRowName(name) && r.ExternalIDs[keys.Router] == name
	}))
}

// RouterPorts returns the router ports whose UUIDs are in uuids (copies).
func (c *NB) RouterPorts(uuids []string) ([]nbdb.LogicalRouterPort, error) {
	set := toSet(uuids)
	return ovs.Query(c.Conn, func(p *nbdb.LogicalRouterPort) bool { return set[p.UUID] })
}

// StaticRoutes returns the static routes whose UUIDs are in uuids (copies).
func (c *NB) StaticRoutes(uuids []string) ([]nbdb.LogicalRouterStaticRoute, error) {
	set := toSet(uuids)
	return ovs.Query(c.Conn, func(r *nbdb.LogicalRouterStaticRoute) bool { return set[r.UUID] })
}

// NATs returns the NAT rows whose UUIDs are in uuids (copies).
func (c *NB) NATs(uuids []string) ([]nbdb.NAT, error) {
	set := toSet(uuids)
	return ovs.Query(c.Conn, func(n *nbdb.NAT) bool { return set[n.UUID] })
}

// NATsOf returns QuantumNet's NAT rows matching pred (copies).
func (c *NB) NATsOf(pred func(*nbdb.NAT) bool) ([]nbdb.NAT, error) {
	return ovs.Query(c.Conn, func(n *nbdb.NAT) bool { return n.ExternalIDs[keys.Router] != "" && pred(n) })
}

// GetHAGroup returns the HA_Chassis_Group called name and its chassis
// (copies); nil if none.
func (c *NB) GetHAGroup(name string) (*nbdb.HAChassisGroup, []nbdb.HAChassis) {
	g := first(ovs.Query(c.Conn, func(g *nbdb.HAChassisGroup) bool { return g.Name == name }))
	if g == nil {
		return nil, nil
	}
	set := toSet(g.HaChassis)
	hcs, _ := ovs.Query(c.Conn, func(h *nbdb.HAChassis) bool { return set[h.UUID] })
	return g, hcs
}

// HAGroups returns QuantumNet's HA_Chassis_Groups (copies).
func (c *NB) HAGroups() ([]nbdb.HAChassisGroup, error) {
	return ovs.Query(c.Conn, func(g *nbdb.HAChassisGroup) bool { return g.ExternalIDs[keys.Router] != "" })
}

// CreateUserRouterOps inserts lr (lr.UUID: a named UUID), failing the
// transaction if a router of that name exists.
func (c *NB) CreateUserRouterOps(lr *nbdb.LogicalRouter) ([]ovsdb.Operation, error) {
	ops, err := c.Create(lr)
	if err != nil {
		return nil, err
	}
	return append([]ovsdb.Operation{ovs.WaitNoRow(nbdb.LogicalRouterTable, "name", lr.Name)}, ops...), nil
}

// RouterEdit gathers changes of one router's ports, static routes and NAT
// rules into one mutate operation (single elements: it commutes with
// concurrent changes of other elements).
type RouterEdit struct {
	row  nbdb.LogicalRouter
	muts []model.Mutation
}

// EditRouter starts an edit of the router uuid.
func EditRouter(uuid string) *RouterEdit { return &RouterEdit{row: nbdb.LogicalRouter{UUID: uuid}} }

func (e *RouterEdit) mut(field any, m ovsdb.Mutator, uuid string) {
	e.muts = append(e.muts, model.Mutation{Field: field, Mutator: m, Value: []string{uuid}})
}

// AddPort adds the router port uuid (or named UUID).
func (e *RouterEdit) AddPort(uuid string) { e.mut(&e.row.Ports, ovsdb.MutateOperationInsert, uuid) }

// DeletePort takes the router port uuid out (a port in no router is
// garbage-collected, unless another router takes it in the same transaction).
func (e *RouterEdit) DeletePort(uuid string) { e.mut(&e.row.Ports, ovsdb.MutateOperationDelete, uuid) }

// AddRoute adds the static route uuid (or named UUID).
func (e *RouterEdit) AddRoute(uuid string) {
	e.mut(&e.row.StaticRoutes, ovsdb.MutateOperationInsert, uuid)
}

// DeleteRoute takes the static route uuid out (garbage-collected).
func (e *RouterEdit) DeleteRoute(uuid string) {
	e.mut(&e.row.StaticRoutes, ovsdb.MutateOperationDelete, uuid)
}

// AddNAT adds the NAT rule uuid (or named UUID).
func (e *RouterEdit) AddNAT(uuid string) { e.mut(&e.row.Nat, ovsdb.MutateOperationInsert, uuid) }

// DeleteNAT takes the NAT rule uuid out (garbage-collected).
func (e *RouterEdit) DeleteNAT(uuid string) { e.mut(&e.row.Nat, ovsdb.MutateOperationDelete, uuid) }

// SetExternalID sets one external id of the router ("" deletes it).
func (e *RouterEdit) SetExternalID(key, value string) {
	e.muts = append(e.muts, model.Mutation{Field: &e.row.ExternalIDs, Mutator: ovsdb.MutateOperationDelete, Value: []string{key}})
	if value != "" {
		e.muts = append(e.muts, model.Mutation{Field: &e.row.ExternalIDs, Mutator: ovsdb.MutateOperationInsert, Value: map[string]string{key: value}})
	}
}

// RouterEditOps returns the operation of the edit e (none for an empty edit).
func (c *NB) RouterEditOps(e *RouterEdit) ([]ovsdb.Operation, error) {
	return c.MutateOps(&e.row, e.muts...)
}

// WaitRouterOp fails the transaction unless the column ("ports", "nat",
// "static_routes") of the router lr still holds the UUIDs it was read with.
func WaitRouterOp(uuid, column string, uuids []string) ovsdb.Operation {
	return waitRowOp(nbdb.LogicalRouterTable, uuid, column, uuidSet(uuids))
}

// WaitSwitchPortsOp fails the transaction unless the switch uuid still
// has exactly the ports uuids.
func WaitSwitchPortsOp(uuid string, uuids []string) ovsdb.Operation {
	return waitRowOp(nbdb.LogicalSwitchTable, uuid, "ports", uuidSet(uuids))
}

// WaitReservationIDsOp fails the transaction unless the reservation row
// uuid still has exactly these external ids.
func WaitReservationIDsOp(uuid string, ids map[string]string) ovsdb.Operation {
	return waitRowOp(nbdb.DHCPOptionsTable, uuid, "external_ids", OvsMap(ids))
}

// SetReservationIDsOps rewrites the external ids of the reservation r.UUID
// as r says (its association, for a floating IP).
func (c *NB) SetReservationIDsOps(r Reservation) ([]ovsdb.Operation, error) {
	row := r.Row()
	return c.UpdateOps(row, &row.ExternalIDs)
}

// CreateHAGroupOps inserts the group g (g.UUID: a named UUID) with its
// chassis (named UUIDs), failing if a group of that name exists.
func (c *NB) CreateHAGroupOps(g *nbdb.HAChassisGroup, chassis []*nbdb.HAChassis) ([]ovsdb.Operation, error) {
	var ops []ovsdb.Operation
	g.HaChassis = nil
	for _, h := range chassis {
		o, err := c.Create(h)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
		g.HaChassis = append(g.HaChassis, h.UUID)
	}
	o, err := c.Create(g)
	if err != nil {
		return nil, err
	}
	ops = append(ops, ovs.WaitNoRow(nbdb.HAChassisGroupTable, "name", g.Name))
	return append(ops, o...), nil
}

// SetHAGroupChassisOps adds chassis (named UUIDs) to the group uuid,
// takes the HA_Chassis remove out (garbage-collected) and rewrites the
// priority of update, guarded by the group's chassis as read (cur).
func (c *NB) SetHAGroupChassisOps(uuid string, cur []string, add []*nbdb.HAChassis, remove []string, update []*nbdb.HAChassis) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{waitRowOp(nbdb.HAChassisGroupTable, uuid, "ha_chassis", uuidSet(cur))}
	g := &nbdb.HAChassisGroup{UUID: uuid}
	var muts []model.Mutation
	for _, h := range add {
		o, err := c.Create(h)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
		muts = append(muts, model.Mutation{Field: &g.HaChassis, Mutator: ovsdb.MutateOperationInsert, Value: []string{h.UUID}})
	}
	for _, u := range remove {
		muts = append(muts, model.Mutation{Field: &g.HaChassis, Mutator: ovsdb.MutateOperationDelete, Value: []string{u}})
	}
	for _, h := range update {
		o, err := c.UpdateOps(h, &h.Priority)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	m, err := c.MutateOps(g, muts...)
	if err != nil {
		return nil, err
	}
	return append(ops, m...), nil
}

// DeleteHAGroupOps deletes the group uuid (its chassis go with it).
func (c *NB) DeleteHAGroupOps(uuid string) ([]ovsdb.Operation, error) {
	return c.DeleteOps(&nbdb.HAChassisGroup{UUID: uuid})
}

// DeleteRouterOps deletes the router uuid (its ports, routes and NAT rules
// go with it).
func (c *NB) DeleteRouterOps(uuid string) ([]ovsdb.Operation, error) {
	return c.DeleteOps(&nbdb.LogicalRouter{UUID: uuid})
}

func toSet(uuids []string) map[string]bool {
	set := make(map[string]bool, len(uuids))
	for _, u := range uuids {
		set[u] = true
	}
	return set
}

func uuidSet(uuids []string) ovsdb.OvsSet {
	s := ovsdb.OvsSet{GoSet: make([]any, 0, len(uuids))}
	for _, u := range uuids {
		s.GoSet = append(s.GoSet, ovsdb.UUID{GoUUID: u})
	}
	return s
}

// LocalnetPort is the localnet LSP of an external network on physnet
// (vlan: its tag, 0 untagged), marked as the network's service port.
func LocalnetPort(network, physnet string, vlan int) *nbdb.LogicalSwitchPort {
	p := &nbdb.LogicalSwitchPort{UUID: "localnet", Name: LocalnetName(network), Type: "localnet", Addresses: []string{"unknown"},
		Options:     map[string]string{"network_name": physnet},
		ExternalIDs: map[string]string{keys.ServiceOf: network, keys.Localnet: network}}
	if vlan != 0 {
		p.TagRequest = &vlan
	}
	return p
}

// GatewayBFD returns the NB_Global options that make OVN run BFD between a
// router's gateway chassis every interval ms, a chassis declared down after
// mult missed packets (ovn-northd hands them to every ovn-controller).
func GatewayBFD(intervalMS, mult int) map[string]string {
	return map[string]string{"bfd-min-rx": strconv.Itoa(intervalMS), "bfd-min-tx": strconv.Itoa(intervalMS), "bfd-mult": strconv.Itoa(mult)}
}

// GatewayBFDDefaultsOps inserts opts into NB_Global's options where a key
// is absent (an OVSDB map "insert" mutation never replaces a key: values
// the operator set stay). No opts: no operation.
func GatewayBFDDefaultsOps(opts map[string]string) []ovsdb.Operation {
	if len(opts) == 0 {
		return nil
	}
	m, _ := ovsdb.NewOvsMap(opts)
	// Every row (there is one, or none before ovn-northd's first start).
	every := []ovsdb.Condition{{Column: "nb_cfg", Function: ovsdb.ConditionGreaterThanOrEqual, Value: 0}}
	return []ovsdb.Operation{{Op: ovsdb.OperationMutate, Table: nbdb.NBGlobalTable, Where: every,
		Mutations: []ovsdb.Mutation{{Column: "options", Mutator: ovsdb.MutateOperationInsert, Value: m}}}}
}
