package nbstore

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ovn-kubernetes/libovsdb/model"
	"github.com/ovn-kubernetes/libovsdb/ovsdb"

	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/daemon/secgroup/secgrouptest"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// The benchmarks of `make bench` for security groups: 1,000 ports in 10
// groups of 20 rules each, against a real Northbound ovsdb-server, side by
// side with the naive translation (one ACL per port and rule, on the
// switch, remote groups spelled out as address lists), in one run.

const (
	benchPorts  = 1000
	benchGroups = 10
	benchRules  = 20
)

// benchGroupsOf: rule mix as in the translator's benchmark (CIDR, IPv6,
// remote group, stateless egress).
func benchGroupsOf(b testing.TB) []secgroup.Group {
	var gs []secgroup.Group
	for g := range benchGroups {
		grp := secgroup.Group{Name: fmt.Sprintf("g%d", g)}
		for r := range benchRules {
			rule, err := secgroup.ParseRule(secgrouptest.RuleSpec(g, r, benchGroups))
			if err != nil {
				b.Fatal(err)
			}
			grp.Rules = append(grp.Rules, rule)
		}
		gs = append(gs, grp)
	}
	return gs
}

// benchEnv: NB with one network of 1,000 ports, each in one or two groups
// (its key set, the groups themselves not yet written).
func benchEnv(b testing.TB) (*Manager, *ovsdbtest.Server, context.Context) {
	return benchEnvN(b, benchPorts)
}

func benchEnvN(b testing.TB, nPorts int) (*Manager, *ovsdbtest.Server, context.Context) {
	srv := ovsdbtest.NewNB(b)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	nb := ovntest.DialNBLog(b, srv, discard())
	spec, _ := network.Parse(network.Input{Name: "bench", Subnet4: "10.60.0.0/20", Subnet6: "fd00:60::/64"})
	ls, err := nb.CreateSwitch(ctx, "bench", spec.ExternalIDs())
	if err != nil {
		b.Fatal(err)
	}
	var ops []ovsdb.Operation
	var refs []string
	for p := range nPorts {
		groups := []string{fmt.Sprintf("g%d", p%benchGroups)}
		if p%10 == 0 && (p/10)%benchGroups != p%benchGroups {
			groups = append(groups, fmt.Sprintf("g%d", (p/10)%benchGroups))
		}
		lsp := &nbdb.LogicalSwitchPort{
			UUID:        fmt.Sprintf("lsp%d", p),
			Name:        fmt.Sprintf("port-%04d", p),
			Addresses:   []string{fmt.Sprintf("0a:51:4e:00:%02x:%02x 10.60.%d.%d", p/256, p%256, p/250, p%250+2)},
			ExternalIDs: map[string]string{keys.Network: "bench", keys.SecurityGroups: strings.Join(groups, ",")},
		}
		o, err := nb.Create(lsp)
		if err != nil {
			b.Fatal(err)
		}
		ops = append(ops, o...)
		refs = append(refs, lsp.UUID)
	}
	mut, err := nb.Where(ls).Mutate(ls, ovsModelMutation(ls, refs))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := nb.TransactResults(ctx, "bench ports", append(ops, mut...)); err != nil {
		b.Fatal(err)
	}
	m := &Manager{NB: nb, Log: discard()}
	ovsdbtest.Eventually(b, 10*time.Second, func() bool { p, _ := nb.PortsShallow(); return len(p) == nPorts }, "ports in the cache")
	return m, srv, ctx
}

// applySnapshot is a snapshot whose ports are in the groups their keys
// name even before the groups exist (the benchmark writes groups and
// memberships in one go).
func applySnapshot(t testing.TB, m *Manager) *snapshot {
	s, err := m.snapshot()
	if err != nil {
		t.Fatal(err)
	}
	lsps, _ := m.NB.PortsShallow()
	s.ports = nil
	for _, p := range lsps {
		s.ports = append(s.ports, secgroup.Port{Name: p.Name, Groups: PortGroupsOf(p)})
	}
	return s
}

func rowCount(srv *ovsdbtest.Server, table string) int {
	return len(srv.Rows(table, []string{"_uuid"}))
}

// TestIntegrationRowsDoNotGrowWithPorts: in a real Northbound, 10 groups of
// 20 rules are 215 ACL rows and 12 port groups for 100 ports as for 1,000
// (the benchmarks' scale); the ports are port group members.
func TestIntegrationRowsDoNotGrowWithPorts(t *testing.T) {
	for _, n := range []int{100, benchPorts} {
		m, srv, ctx := benchEnvN(t, n)
		if err := m.write(ctx, "apply", applySnapshot(t, m), benchGroupsOf(t)); err != nil {
			t.Fatal(err)
		}
		acls, pgs := rowCount(srv, "ACL"), rowCount(srv, "Port_Group")
		if acls != benchGroups*benchRules+15 || pgs != benchGroups+2 {
			t.Fatalf("%d ports: %d ACL rows in %d port groups, want %d in %d", n, acls, pgs, benchGroups*benchRules+15, benchGroups+2)
		}
		if members := len(srv.Row("Port_Group", []string{"ports"}, "name="+secgroup.AllPortGroup).Set("ports")); members != n {
			t.Fatalf("%d ports: %d members of %s", n, members, secgroup.AllPortGroup)
		}
	}
}

// BenchmarkApplyAll: translate 10 groups x 20 rules for 1,000 ports and
// write every row in one transaction (from nothing).
func BenchmarkApplyAll(b *testing.B) {
	m, srv, ctx := benchEnv(b)
	groups := benchGroupsOf(b)
	b.ResetTimer()
	for b.Loop() {
		if err := m.write(ctx, "bench apply", applySnapshot(b, m), groups); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		acls, pgs := rowCount(srv, "ACL"), rowCount(srv, "Port_Group")
		b.ReportMetric(float64(acls), "acls")
		b.ReportMetric(float64(pgs), "port_groups")
		if acls != benchGroups*benchRules+15 {
			b.Fatalf("%d ACL rows, want %d", acls, benchGroups*benchRules+15)
		}
		waitCache(b, m, acls)
		s, _ := m.snapshot()
		if err := m.write(ctx, "bench clear", s, nil); err != nil {
			b.Fatal(err)
		}
		waitCache(b, m, 0)
		b.StartTimer()
	}
}

func waitCache(b testing.TB, m *Manager, acls int) {
	ovsdbtest.Eventually(b, 10*time.Second, func() bool { a, _ := m.NB.ACLs(keys.SG); return len(a) == acls }, "ACLs in the cache")
}

// BenchmarkAddRule: one rule more for a group of ~110 ports, with 1,000
// ports in groups: one ACL row written (then taken out again, untimed).
func BenchmarkAddRule(b *testing.B) {
	m, srv, ctx := benchEnv(b)
	if err := m.write(ctx, "bench apply", applySnapshot(b, m), benchGroupsOf(b)); err != nil {
		b.Fatal(err)
	}
	base := benchGroups*benchRules + 15
	waitCache(b, m, base)
	rule, _ := secgroup.ParseRule("ingress tcp 9999 from 10.99.0.0/16")
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.AddRules(ctx, "g3", []secgroup.Rule{rule}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if n := rowCount(srv, "ACL"); n != base+1 {
			b.Fatalf("%d ACL rows after adding a rule, want %d", n, base+1)
		}
		waitCache(b, m, base+1)
		if err := m.DeleteRules(ctx, "g3", []string{rule.ID()}); err != nil {
			b.Fatal(err)
		}
		waitCache(b, m, base)
		b.StartTimer()
	}
	b.ReportMetric(float64(base+1), "acls")
}

// BenchmarkSetPortGroups: one port of 1,000 changes groups (g1 <-> g1,g2):
// two port group mutations and the port's key, no ACL.
func BenchmarkSetPortGroups(b *testing.B) {
	m, _, ctx := benchEnv(b)
	if err := m.write(ctx, "bench apply", applySnapshot(b, m), benchGroupsOf(b)); err != nil {
		b.Fatal(err)
	}
	waitCache(b, m, benchGroups*benchRules+15)
	sets := [][]string{{"g1", "g2"}, {"g1"}}
	i := 0
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.SetPortGroups(ctx, "port-0001", sets[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
		b.StopTimer()
		want := strings.Join(sets[(i-1)%2], ",")
		ovsdbtest.Eventually(b, 5*time.Second, func() bool {
			p, err := m.NB.GetPort("port-0001")
			return err == nil && p.ExternalIDs[keys.SecurityGroups] == want
		}, "port key in the cache")
		b.StartTimer()
	}
}

// smokePorts is BenchmarkNaivePerPortACLs's network in smoke mode
// (harness.SmokeEnv=1): the same path and checks over fewer ports, as the
// full 1,000 take seconds per iteration.
const smokePorts = 100

// BenchmarkNaivePerPortACLs is the peer: the same groups written the way
// that does not use port groups, one ACL per port and rule on the switch
// (remote groups as literal address lists), in one transaction.
func BenchmarkNaivePerPortACLs(b *testing.B) {
	n := benchPorts
	if os.Getenv(harness.SmokeEnv) == "1" {
		n = smokePorts
	}
	m, srv, ctx := benchEnvN(b, n)
	groups := benchGroupsOf(b)
	s, _ := m.snapshot()
	addrs := map[string]string{} // port group -> "{a, b, ...}" of its members' IPv4 addresses
	portAddr := map[string]string{}
	lsps, _ := m.NB.PortsShallow()
	var ports []secgroup.Port
	for _, p := range lsps {
		portAddr[p.Name] = strings.Fields(p.Addresses[0])[1]
		ports = append(ports, secgroup.Port{Name: p.Name, Groups: PortGroupsOf(p)})
	}
	out, err := secgroup.Translate(secgroup.Input{Groups: groups, Ports: ports, Services: s.services})
	if err != nil {
		b.Fatal(err)
	}
	acls := map[string]secgroup.ACL{}
	for _, a := range out.ACLs {
		acls[a.Key] = a
	}
	for _, pg := range out.PortGroups {
		var l []string
		for _, p := range pg.Ports {
			l = append(l, portAddr[p])
		}
		addrs[pg.Name] = "{" + strings.Join(l, ", ") + "}"
	}
	var rows []*nbdb.ACL
	for _, pg := range out.PortGroups {
		for _, port := range pg.Ports {
			for _, k := range pg.ACLs {
				a := acls[k]
				match := strings.ReplaceAll(a.Match, "@"+pg.Name, `"`+port+`"`)
				for name, set := range addrs {
					match = strings.ReplaceAll(match, "$"+name+"_ip4", set)
				}
				rows = append(rows, &nbdb.ACL{Direction: a.Direction, Priority: a.Priority, Match: match, Action: a.Action,
					ExternalIDs: map[string]string{"bench": "naive"}})
			}
		}
	}
	ls, err := m.NB.GetSwitch("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		var ops []ovsdb.Operation
		var refs []string
		for i, r := range rows {
			r.UUID = fmt.Sprintf("acl%d", i)
			o, err := m.NB.InsertACLOps(r)
			if err != nil {
				b.Fatal(err)
			}
			ops = append(ops, o...)
			refs = append(refs, r.UUID)
		}
		mut, err := m.NB.Where(ls).Mutate(ls, ovsModelMutation(ls, refs, "acls"))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.NB.TransactResults(ctx, "naive apply", append(ops, mut...)); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		n := rowCount(srv, "ACL")
		b.ReportMetric(float64(n), "acls")
		srv.Run("ovn-nbctl", "--db="+srv.Remote, "clear", "Logical_Switch", ls.UUID, "acls")
		b.StartTimer()
	}
}

func ovsModelMutation(ls *nbdb.LogicalSwitch, refs []string, field ...string) model.Mutation {
	var f any = &ls.Ports
	if len(field) > 0 && field[0] == "acls" {
		f = &ls.ACLs
	}
	return model.Mutation{Field: f, Mutator: ovsdb.MutateOperationInsert, Value: refs}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
