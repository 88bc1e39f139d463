package nbstore

import (
	"context"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	"github.com/quantumnet/quantumnet/daemon/stacktest"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// env is a real NB and SB ovsdb-server with the stores wired as in main
// (daemon/stacktest) and the router store under test.
type env struct {
	*stacktest.Stack
	t     *testing.T
	ctx   context.Context
	nbSrv *ovsdbtest.Server
	sbSrv *ovsdbtest.Server
	nb    *ovn.NB
	sb    *ovn.SB
	nets  *netstore.Manager
	ports *lport.Ports
	m     *Manager
}

func newEnv(t *testing.T) *env {
	s := stacktest.New(t, true)
	m := &Manager{NB: s.NB, SB: s.SB, Alloc: s.Alloc, MACPrefix: stacktest.MACPrefix, Log: ovsdbtest.Logger(t), BFD: ovn.GatewayBFD(100, 3)}
	s.Wire(m, m)
	return &env{Stack: s, t: t, ctx: s.Ctx, nbSrv: s.NBSrv, sbSrv: s.SBSrv, nb: s.NB, sb: s.SB, nets: s.Nets, ports: s.Ports, m: m}
}

// network creates a network with its services.
func (e *env) network(in network.Input) { e.t.Helper(); e.Network(in) }

// port creates a workload port on network, created by chassis.
func (e *env) port(name, netName, chassis string) ovn.Port {
	e.t.Helper()
	return e.Port(name, netName, chassis)
}

// chassis registers a Southbound chassis mapping physnets ("" none).
func (e *env) chassis(name, ip, mappings string) { e.t.Helper(); e.Chassis(name, ip, mappings) }

// dump is the whole Northbound database, to prove a refusal wrote nothing.
func (e *env) dump() string { e.t.Helper(); return e.Dump() }

// refused checks that f fails with an error of kind, whose text has every
// one of names, and leaves Northbound as it was.
func (e *env) refused(what string, kind error, f func() error, names ...string) {
	e.t.Helper()
	e.Refused(what, kind, f, names...)
}

// rows finds rows of an NB table.
func (e *env) rows(table string, columns []string, conds ...string) []ovsdbtest.Row {
	e.t.Helper()
	return e.nbSrv.Find("ovn-nbctl", table, columns, conds...)
}

// routerPorts are the names of the ports of the Logical_Router called lr.
func (e *env) routerPorts(lr string) []string {
	e.t.Helper()
	rows := e.rows("Logical_Router", []string{"ports"}, "name="+lr)
	if len(rows) == 0 {
		return nil
	}
	byUUID := map[string]string{}
	for _, p := range e.rows("Logical_Router_Port", []string{"_uuid", "name"}) {
		byUUID[p.Str("_uuid")] = p.Str("name")
	}
	var names []string
	for _, u := range rows[0].Set("ports") {
		names = append(names, byUUID[u])
	}
	slices.Sort(names)
	return names
}
