package ovn

import (
	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovs"
)

// WireGuard bastions: a transit Logical_Switch per bastion (its record in
// external_ids) with the router's port and the bastion's inside port, a
// static route of the peers' tunnel range to that port, and an
// Address_Set of the peers' tunnel addresses.

// BastionSwitchName is the transit switch of bastion name.
func BastionSwitchName(name string) string { return keys.BastionSwitchPrefix + name }

// BastionRouterPortName is the router's port on the transit switch.
func BastionRouterPortName(name string) string { return keys.BastionLRPPrefix + name }

// BastionPortName is the bastion's inside logical port.
func BastionPortName(name string) string { return keys.BastionLSPPrefix + name }

// BastionAddressSetName is the Address_Set of the peers' tunnel addresses
// (rules name it as $qn_bastion_NAME; '-' is not allowed there).
func BastionAddressSetName(name string) string {
	b := []byte(keys.BastionASPrefix + name)
	for i, c := range b {
		if c == '-' {
			b[i] = '_'
		}
	}
	return string(b)
}

// BastionSwitches are the transit switches of every bastion.
func (c *NB) BastionSwitches() ([]nbdb.LogicalSwitch, error) {
	return ovs.Query(c.Conn, func(ls *nbdb.LogicalSwitch) bool {
		return ls.ExternalIDs[keys.Bastion] != "" && ls.Name == BastionSwitchName(ls.ExternalIDs[keys.Bastion])
	})
}

// BastionAddressSet returns the address set of bastion name, nil if none.
func (c *NB) BastionAddressSet(name string) *nbdb.AddressSet {
	return first(ovs.Query(c.Conn, func(a *nbdb.AddressSet) bool { return a.Name == BastionAddressSetName(name) }))
}

// BastionRows are the rows of one bastion, as CreateBastionOps takes them.
type BastionRows struct {
	Switch     *nbdb.LogicalSwitch
	RouterLSP  *nbdb.LogicalSwitchPort // type router, on the transit switch
	Inside     *nbdb.LogicalSwitchPort // the bastion's inside leg
	RouterPort *nbdb.LogicalRouterPort
	Route      *nbdb.LogicalRouterStaticRoute // tunnel range -> the inside leg
	AddrSet    *nbdb.AddressSet
	// Endpoint forwards the router's external address and listen port
	// (UDP) to the inside leg; nil without a gateway.
	Endpoint *nbdb.LoadBalancer
}

// BastionLBName is the load balancer of bastion name's endpoint.
func BastionLBName(name string) string { return keys.BastionSwitchPrefix + "ep-" + name }

// BastionLB returns the endpoint load balancer of bastion name, nil if none.
func (c *NB) BastionLB(name string) *nbdb.LoadBalancer {
	return first(ovs.Query(c.Conn, func(lb *nbdb.LoadBalancer) bool { return lb.Name == BastionLBName(name) }))
}

// CreateBastionOps inserts a bastion's rows and links them to the router
// lr, failing if a switch of that name exists (named UUIDs are set here).
func (c *NB) CreateBastionOps(lr *nbdb.LogicalRouter, r BastionRows) ([]ovsdb.Operation, error) {
	r.RouterLSP.UUID, r.Inside.UUID, r.RouterPort.UUID, r.Route.UUID, r.Switch.UUID = "blsp", "bin", "blrp", "broute", "bls"
	r.Switch.Ports = []string{r.RouterLSP.UUID, r.Inside.UUID}
	ops := []ovsdb.Operation{ovs.WaitNoRow(nbdb.LogicalSwitchTable, "name", r.Switch.Name),
		WaitRouterOp(lr.UUID, "ports", lr.Ports)}
	for _, m := range []model.Model{r.RouterLSP, r.Inside, r.Switch, r.RouterPort, r.Route, r.AddrSet} {
		o, err := c.Create(m)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	e := EditRouter(lr.UUID)
	e.AddPort(r.RouterPort.UUID)
	e.AddRoute(r.Route.UUID)
	o, err := c.RouterEditOps(e)
	if err != nil {
		return nil, err
	}
	ops = append(ops, o...)
	if r.Endpoint != nil {
		r.Endpoint.UUID = "bep"
		o, err := c.InsertForwardOps(r.Endpoint, lr.UUID)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// DeleteBastionOps deletes the bastion's switch (its ports go with it),
// the router's port and route (from lr, "" if the router is gone) and the
// address set and endpoint load balancer (uuid "" if none).
func (c *NB) DeleteBastionOps(ls *nbdb.LogicalSwitch, lr *nbdb.LogicalRouter, lrpUUID, routeUUID, asUUID, lbUUID string) ([]ovsdb.Operation, error) {
	ops, err := c.DeleteOps(&nbdb.LogicalSwitch{UUID: ls.UUID})
	if err != nil {
		return nil, err
	}
	if lbUUID != "" {
		routers, _ := c.RoutersWithLB(lbUUID)
		for _, r := range routers {
			o, err := c.RouterLBOps(r.UUID, lbUUID, false)
			if err != nil {
				return nil, err
			}
			ops = append(ops, o...)
		}
		o, err := c.DeleteOps(&nbdb.LoadBalancer{UUID: lbUUID})
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	if lr != nil {
		e := EditRouter(lr.UUID)
		if lrpUUID != "" {
			e.DeletePort(lrpUUID)
		}
		if routeUUID != "" {
			e.DeleteRoute(routeUUID)
		}
		o, err := c.RouterEditOps(e)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	if asUUID != "" {
		o, err := c.DeleteOps(&nbdb.AddressSet{UUID: asUUID})
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// SetBastionOps rewrites a bastion's record (the transit switch's external
// ids, checked to be still as read) and its address set's addresses.
func (c *NB) SetBastionOps(ls *nbdb.LogicalSwitch, ids map[string]string, asUUID string, addrs []string) ([]ovsdb.Operation, error) {
	ops := []ovsdb.Operation{WaitSwitchExternalIDsOp(ls.UUID, ls.ExternalIDs)}
	row := &nbdb.LogicalSwitch{UUID: ls.UUID, ExternalIDs: ids}
	o, err := c.UpdateOps(row, &row.ExternalIDs)
	if err != nil {
		return nil, err
	}
	ops = append(ops, o...)
	if asUUID != "" {
		as := &nbdb.AddressSet{UUID: asUUID, Addresses: addrs}
		if addrs == nil {
			as.Addresses = []string{}
		}
		o, err := c.UpdateOps(as, &as.Addresses)
		if err != nil {
			return nil, err
		}
		ops = append(ops, o...)
	}
	return ops, nil
}

// WaitBastionAddressSetOp fails the transaction unless bastion name's
// Address_Set exists: the guard of a security-group rule that names the
// bastion's peers (sg:bastion-NAME), computed while the bastion existed.
func WaitBastionAddressSetOp(name string) ovsdb.Operation {
	zero := 0
	n := BastionAddressSetName(name)
	return ovsdb.Operation{
		Op: ovsdb.OperationWait, Table: nbdb.AddressSetTable, Timeout: &zero,
		Where:   []ovsdb.Condition{{Column: "name", Function: ovsdb.ConditionEqual, Value: n}},
		Columns: []string{"name"}, Until: string(ovsdb.WaitConditionEqual), Rows: []ovsdb.Row{{"name": n}},
	}
}
