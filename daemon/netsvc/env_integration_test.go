package netsvc_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/netsvc"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// The test environment of the Ensure tests: a real ovsdb-server, daemons
// (an NB client, an allocator and a Manager each) and readers of the rows.

// env is one ovsdb-server and the daemons (NB connections) of a test.
type env struct {
	t   *testing.T
	srv *ovsdbtest.Server
	ctx context.Context
}

// daemon is one daemon's view: its own NB client, allocator and manager.
type daemon struct {
	nb *ovn.NB
	al *nbstore.Store
	ps *lport.Ports
	m  *netsvc.Manager
}

func newEnv(t *testing.T) *env {
	srv := ovsdbtest.NewNB(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return &env{t: t, srv: srv, ctx: ctx}
}

func (e *env) connect() *daemon {
	e.t.Helper()
	log := ovsdbtest.Logger(e.t)
	nb := ovntest.DialNB(e.t, e.srv) // closed before the server stops
	al := &nbstore.Store{NB: nb, Log: log}
	return &daemon{nb: nb, al: al, ps: &lport.Ports{NB: nb, Store: al}, m: &netsvc.Manager{NB: nb, Alloc: al, Log: log}}
}

// createNet creates a network's switch and waits until every daemon sees it.
func (e *env) createNet(in network.Input, ds ...*daemon) network.Spec {
	e.t.Helper()
	spec, err := network.Parse(in)
	if err != nil {
		e.t.Fatal(err)
	}
	ovntest.Switch(spec.Name, spec.ExternalIDs())(e.t, ds[0].nb)
	for _, d := range ds[1:] {
		ovntest.WaitSwitch(e.t, d.nb, spec.Name)
	}
	return spec
}

// ensure runs Ensure and waits until the daemon's cache holds what it wrote.
func (e *env) ensure(d *daemon, netName string) {
	e.t.Helper()
	if err := d.m.Ensure(e.ctx, netName); err != nil {
		e.t.Fatalf("Ensure %s: %v", netName, err)
	}
	e.settle(d)
}

// table is a table the tests compare, the columns compared and how a
// client lists its rows.
type table struct {
	name string
	cols []string
	list func(nb *ovn.NB) ([]any, error)
}

// The tables and columns Ensure reads and writes.
var tables = []table{
	{nbdb.LogicalSwitchTable, []string{"_uuid", "name", "ports", "dns_records", "other_config", "external_ids"}, listAll[nbdb.LogicalSwitch]},
	{nbdb.LogicalSwitchPortTable, []string{"_uuid", "name", "type", "addresses", "options", "dhcpv4_options", "dhcpv6_options", "external_ids"}, listAll[nbdb.LogicalSwitchPort]},
	{nbdb.DHCPOptionsTable, []string{"_uuid", "cidr", "options", "external_ids"}, listAll[nbdb.DHCPOptions]},
	{nbdb.LogicalRouterTable, []string{"_uuid", "name", "ports", "external_ids"}, listAll[nbdb.LogicalRouter]},
	{nbdb.LogicalRouterPortTable, []string{"_uuid", "name", "mac", "networks", "ipv6_ra_configs", "external_ids"}, listAll[nbdb.LogicalRouterPort]},
	{nbdb.DNSTable, []string{"_uuid", "records", "external_ids"}, listAll[nbdb.DNS]},
}

func listAll[T any](nb *ovn.NB) ([]any, error) {
	rows, err := ovn.List(nb, func(*T) bool { return true })
	out := make([]any, len(rows))
	for i := range rows {
		out[i] = &rows[i]
	}
	return out, err
}

// value renders a column value (atom, set, map, optional) one way for the
// database's and the cache's rows.
func value(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case []string:
		return strings.Join(slices.Sorted(slices.Values(v)), ",")
	case map[string]string:
		var kv []string
		for k, x := range v {
			kv = append(kv, k+"="+x)
		}
		slices.Sort(kv)
		return strings.Join(kv, ",")
	case *string:
		if v == nil {
			return ""
		}
		return *v
	}
	return fmt.Sprint(v)
}

// dbState is what the database holds in the tables of Ensure.
func (e *env) dbState() string {
	e.t.Helper()
	var lines []string
	for _, tb := range tables {
		for _, r := range e.srv.Rows(tb.name, tb.cols) {
			lines = append(lines, tb.line(r))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// line is a row of the table as dbState and cacheState write it: the
// table's name and its columns, column=value.
func (tb table) line(byCol map[string]any) string {
	l := tb.name
	for _, c := range tb.cols {
		l += " " + c + "=" + value(byCol[c])
	}
	return l
}

// cacheState is the same from a daemon's cache.
func cacheState(nb *ovn.NB) string {
	var lines []string
	for _, tb := range tables {
		rows, err := tb.list(nb)
		if err != nil {
			return err.Error()
		}
		for _, r := range rows {
			v := reflect.ValueOf(r).Elem()
			byCol := map[string]any{}
			for i := range v.NumField() {
				byCol[v.Type().Field(i).Tag.Get("ovsdb")] = v.Field(i).Interface()
			}
			lines = append(lines, tb.line(byCol))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// settle waits until the caches of ds hold what the database holds (a
// client's cache follows the database asynchronously).
func (e *env) settle(ds ...*daemon) {
	e.t.Helper()
	for i, d := range ds {
		deadline := time.Now().Add(5 * time.Second)
		for {
			db, cache := e.dbState(), cacheState(d.nb)
			if db == cache {
				break
			}
			if time.Now().After(deadline) {
				e.t.Fatalf("daemon %d: the cache never caught up with the database:\ndatabase\n%s\ncache\n%s", i+1, db, cache)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// rows returns the rows of table whose external_ids include ids.
func (e *env) rows(table string, cols []string, ids map[string]string) []ovsdbtest.Row {
	e.t.Helper()
	var out []ovsdbtest.Row
	for _, r := range e.srv.Rows(table, append([]string{"external_ids"}, cols...)) {
		ext := r.Map("external_ids")
		ok := true
		for k, v := range ids {
			if ext[k] != v {
				ok = false
			}
		}
		if ok {
			out = append(out, r)
		}
	}
	return out
}

func (e *env) one(table string, cols []string, ids map[string]string) ovsdbtest.Row {
	e.t.Helper()
	rs := e.rows(table, cols, ids)
	if len(rs) != 1 {
		e.t.Fatalf("%s with %v: %d rows, want 1: %v", table, ids, len(rs), rs)
	}
	return rs[0]
}

func (e *env) dhcp(netName, kind string) ovsdbtest.Row {
	e.t.Helper()
	return e.one(nbdb.DHCPOptionsTable, []string{"_uuid", "cidr", "options"}, map[string]string{keys.Network: netName, keys.Kind: kind})
}

func (e *env) switchRow(netName string) ovsdbtest.Row {
	e.t.Helper()
	return e.srv.Row(nbdb.LogicalSwitchTable, []string{"_uuid", "ports", "dns_records", "other_config", "external_ids"}, "name="+ovn.SwitchName(netName))
}

func (e *env) port(name string) ovsdbtest.Row {
	e.t.Helper()
	return e.srv.Row(nbdb.LogicalSwitchPortTable,
		[]string{"_uuid", "type", "addresses", "options", "dhcpv4_options", "dhcpv6_options", "external_ids"}, "name="+name)
}

func (e *env) dnsRow(netName string) ovsdbtest.Row {
	e.t.Helper()
	return e.one(nbdb.DNSTable, []string{"_uuid", "records"}, map[string]string{keys.ServiceOf: netName})
}

// resolverReservations are the addresses reserved for a network's resolver, in the database.
func (e *env) resolverReservations(netName string) []string {
	e.t.Helper()
	var out []string
	for _, r := range e.rows(nbdb.DHCPOptionsTable, nil, map[string]string{keys.Network: netName, keys.Kind: keys.KindReservation}) {
		if r.Map("external_ids")[keys.Owner] == keys.OwnerResolver {
			out = append(out, r.Map("external_ids")[keys.IP])
		}
	}
	slices.Sort(out)
	return out
}

// createPort creates a workload port of a network through IPAM, without
// DHCP references, named label (none: "").
func (e *env) createPort(d *daemon, netName, name, label string) netsvc.Host {
	e.t.Helper()
	h := netsvc.Host{Label: label}
	cl, err := d.ps.Create(e.ctx, ovn.Port{Name: name, Network: netName, Kind: keys.KindContainer, DNSName: label}, nbstore.Want{})
	if err == nil {
		h.Addrs = cl.IPs()
	}
	if err != nil {
		e.t.Fatalf("create port %s: %v", name, err)
	}
	return h
}

// recorded returns the resolver addresses recorded on a network's switch
// row (external_ids, where Ensure writes them; other_config, where it used
// to).
func recorded(ls ovsdbtest.Row) (v4, v6 string) {
	get := func(key string) string {
		if v, ok := ls.Map("external_ids")[key]; ok {
			return v
		}
		return ls.Map("other_config")[key]
	}
	return get(keys.Resolver4), get(keys.Resolver6)
}

func checkMap(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s:\n got  %v\n want %v", what, got, want)
	}
}

func checkSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}
