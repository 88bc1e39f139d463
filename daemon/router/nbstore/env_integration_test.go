package nbstore

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	netstore "github.com/quantumnet/quantumnet/daemon/network/nbstore"
	ipamstore "github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// env is a real NB and SB ovsdb-server with the stores wired as in main.
type env struct {
	t        *testing.T
	ctx      context.Context
	nbSrv    *ovsdbtest.Server
	sbSrv    *ovsdbtest.Server
	nb       *ovn.NB
	sb       *ovn.SB
	svc      *netsvc.Manager
	nets     *netstore.Manager
	ports    *lport.Ports
	m        *Manager
	lastDump string
}

func newEnv(t *testing.T) *env {
	nbSrv := ovsdbtest.New(t, "../../../pkg/ovn/nbdb/ovn-nb.ovsschema")
	sbSrv := ovsdbtest.New(t, "../../../pkg/ovn/sbdb/ovn-sb.ovsschema")
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	log := ovsdbtest.Logger(t)
	nb, err := ovn.NewNB(ctx, []string{nbSrv.Remote}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nb.Close)
	sb, err := ovn.NewSB(ctx, []string{sbSrv.Remote}, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sb.Close)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := nb.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	if err := sb.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	store := &ipamstore.Store{NB: nb, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log}
	svc := &netsvc.Manager{NB: nb, Alloc: store, Log: log}
	m := &Manager{NB: nb, SB: sb, Alloc: store, MACPrefix: [3]byte{0x0a, 0x51, 0x4e}, Log: log, BFD: ovn.GatewayBFD(100, 3)}
	nets := &netstore.Manager{NB: nb, Services: svc, Users: m, Log: log}
	ports := &lport.Ports{NB: nb, Store: store, DHCP: svc, NAT: m}
	return &env{t: t, ctx: ctx, nbSrv: nbSrv, sbSrv: sbSrv, nb: nb, sb: sb, svc: svc, nets: nets, ports: ports, m: m}
}

// network creates a network with its services.
func (e *env) network(in network.Input) {
	e.t.Helper()
	spec, err := network.Parse(in)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.nets.Create(e.ctx, spec); err != nil {
		e.t.Fatal(err)
	}
	if !spec.External {
		ovsdbtest.Eventually(e.t, 5*time.Second, func() bool { return e.nb.GetRouterPort(netsvc.RouterPortName(in.Name)) != nil }, "gateway port of %s", in.Name)
	}
}

// port creates a workload port on network, created by chassis.
func (e *env) port(name, netName, chassis string) ovn.Port {
	e.t.Helper()
	p := ovn.Port{Name: name, Network: netName, Kind: keys.KindContainer, ContainerID: "c-" + name, Ifname: "eth0",
		Chassis: chassis, RequestedChassis: chassis}
	if _, err := e.ports.Create(e.ctx, p, ipamstore.Want{}); err != nil {
		e.t.Fatal(err)
	}
	got, err := e.nb.LookupPort(name)
	if err != nil {
		e.t.Fatal(err)
	}
	return got
}

// chassis registers a Southbound chassis mapping physnets ("" none).
func (e *env) chassis(name, ip, mappings string) {
	e.t.Helper()
	e.sbSrv.Run("ovn-sbctl", "--db="+e.sbSrv.Remote, "chassis-add", name, "geneve", ip)
	if mappings != "" {
		e.sbSrv.Run("ovn-sbctl", "--db="+e.sbSrv.Remote, "set", "Chassis", name, "other_config:ovn-bridge-mappings="+mappings)
	}
	ovsdbtest.Eventually(e.t, 5*time.Second, func() bool {
		ch, err := e.sb.GetChassis(name)
		return err == nil && (mappings == "" || len(ovn.BridgeMappings(ch)) > 0)
	}, "chassis %s", name)
}

// dump is the whole Northbound database, to prove a refusal wrote nothing.
func (e *env) dump() string {
	e.t.Helper()
	return e.nbSrv.Run("ovsdb-client", "dump", e.nbSrv.Remote, "OVN_Northbound")
}

// refused checks that f fails with an error of kind, whose text has every
// one of names, and leaves Northbound as it was.
func (e *env) refused(what string, kind error, f func() error, names ...string) {
	e.t.Helper()
	before := e.dump()
	err := f()
	if err == nil || !errors.Is(err, kind) {
		e.t.Fatalf("%s: %v, want an error of kind %v", what, err, kind)
	}
	for _, n := range names {
		if !strings.Contains(err.Error(), n) {
			e.t.Fatalf("%s: %q does not name %q", what, err, n)
		}
	}
	if after := e.dump(); after != before {
		e.t.Fatalf("%s: Northbound changed by a refused request", what)
	}
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
