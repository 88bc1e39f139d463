package nbstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/lport"
	"github.com/quantumnet/quantumnet/daemon/network"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/ipam/nbstore"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/ovntest"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

type env struct {
	t   *testing.T
	srv *ovsdbtest.Server
	nb  *ovn.NB
	m   *Manager
	al  *lport.Ports
	ctx context.Context
}

func newEnv(t *testing.T) *env {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e := &env{t: t, srv: ovsdbtest.NewNB(t), ctx: ctx}
	e.nb, e.m, e.al = e.connect()
	spec, _ := network.Parse(network.Input{Name: "blue", Subnet4: "10.8.0.0/24", Subnet6: "fd00:8::/64"})
	ovntest.Switch("blue", spec.ExternalIDs())(t, e.nb)
	return e
}

// connect is one daemon: its own NB client, manager and allocator.
func (e *env) connect() (*ovn.NB, *Manager, *lport.Ports) {
	log := ovsdbtest.Logger(e.t)
	nb := ovntest.DialNB(e.t, e.srv)
	m := &Manager{NB: nb, Log: log}
	return nb, m, &lport.Ports{NB: nb, Store: &nbstore.Store{NB: nb, Log: log}, Groups: m}
}

// port creates a logical port with groups, as ADD does.
func (e *env) port(name string, groups ...string) error {
	_, err := e.al.Create(e.ctx, ovn.Port{Name: name, Network: "blue", Kind: keys.KindContainer, SecurityGroups: groups}, nbstore.Want{})
	return err
}

// members reads a port group's ports from the database (by name).
func (e *env) members(pg string) []string {
	uuids := e.srv.Row("Port_Group", []string{"ports"}, "name="+pg).Set("ports")
	byUUID := map[string]string{}
	for _, r := range e.srv.Rows("Logical_Switch_Port", []string{"_uuid", "name"}) {
		byUUID[r.Str("_uuid")] = r.Str("name")
	}
	var names []string
	for _, u := range uuids {
		names = append(names, byUUID[u])
	}
	slices.Sort(names)
	return names
}

func (e *env) aclUUIDs() []string {
	var out []string
	for _, r := range e.srv.Rows("ACL", []string{"_uuid"}) {
		out = append(out, r.Str("_uuid"))
	}
	slices.Sort(out)
	return out
}

func mustRule(t *testing.T, s string) secgroup.Rule {
	r, err := secgroup.ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestIntegrationGroupsAndPorts: groups, rules and memberships land in NB as
// the translator says, incrementally, and every refusal leaves NB as it was.
func TestIntegrationGroupsAndPorts(t *testing.T) {
	e := newEnv(t)
	createGroups(t, e)
	createPortsInGroups(t, e)
	changeIncrementally(t, e)
	syncRepairs(t, e)
	checkRefusals(t, e)
	checkAndDeleteAll(t, e)
}

// createGroups creates web, db and front-end, and refuses a duplicate and a
// name OVN cannot tell from front-end.
func createGroups(t *testing.T, e *env) {
	t.Helper()
	ctx := e.ctx
	if err := e.m.Create(ctx, secgroup.Group{Name: "web", Description: "front ends", Rules: []secgroup.Rule{mustRule(t, "ingress tcp 80")}}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Create(ctx, secgroup.Group{Name: "db"}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Create(ctx, secgroup.Group{Name: "web"}); !errors.Is(err, ovn.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	if err := e.m.Create(ctx, secgroup.Group{Name: "front-end"}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Create(ctx, secgroup.Group{Name: "front_end"}); !errors.Is(err, secgroup.ErrInvalid) {
		t.Fatalf("create of a name OVN cannot tell from front-end: %v", err)
	}
}

// createPortsInGroups: a port is created in its groups in the same
// transaction, and a port in an unknown group is not created.
func createPortsInGroups(t *testing.T, e *env) {
	t.Helper()
	if err := e.port("p1", "web"); err != nil {
		t.Fatal(err)
	}
	if err := e.port("p2"); err != nil {
		t.Fatal(err)
	}
	if err := e.port("p3", "nosuch"); err == nil || !errors.Is(err, secgroup.ErrUnknownGroup) || !strings.Contains(err.Error(), `"nosuch"`) {
		t.Fatalf("port in an unknown group: %v", err)
	}
	if _, err := e.nb.GetPort("p3"); err == nil {
		t.Fatal("the refused port was created")
	}
	if got := e.members("qn_sg_web"); !slices.Equal(got, []string{"p1"}) {
		t.Fatalf("qn_sg_web has %v", got)
	}
	if got := e.members(secgroup.AllPortGroup); !slices.Equal(got, []string{"p1"}) {
		t.Fatalf("%s has %v", secgroup.AllPortGroup, got)
	}
}

// changeIncrementally: adding a rule adds exactly one ACL row and rewrites
// none.
func changeIncrementally(t *testing.T, e *env) {
	t.Helper()
	ctx := e.ctx
	before := e.aclUUIDs()
	added, err := e.m.AddRules(ctx, "web", []secgroup.Rule{mustRule(t, "ingress tcp 443"), mustRule(t, "ingress tcp 80")})
	if err != nil || len(added) != 1 {
		t.Fatalf("AddRules: %v, added %v (the tcp 80 rule exists)", err, added)
	}
	after := e.aclUUIDs()
	if len(after) != len(before)+1 {
		t.Fatalf("%d ACLs after adding one rule, %d before", len(after), len(before))
	}
	for _, u := range before {
		if !slices.Contains(after, u) {
			t.Fatalf("ACL %s was replaced by adding a rule", u)
		}
	}
	// Adding a port to a group writes no ACL either.
	if _, err := e.m.SetPortGroups(ctx, "p2", []string{"db", "web"}); err != nil {
		t.Fatal(err)
	}
	if got := e.aclUUIDs(); !slices.Equal(got, after) {
		t.Fatal("changing a port's groups changed ACL rows")
	}
	if got := e.members("qn_sg_web"); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Fatalf("qn_sg_web has %v", got)
	}
	if got := e.members("qn_sg_db"); !slices.Equal(got, []string{"p2"}) {
		t.Fatalf("qn_sg_db has %v", got)
	}
	if ids := e.srv.Row("Logical_Switch_Port", []string{"external_ids"}, "name=p2").Map("external_ids"); ids[keys.SecurityGroups] != "db,web" {
		t.Fatalf("p2 external_ids %v", ids)
	}
}

// syncRepairs: Sync repairs a membership lost behind its back, and writes
// nothing when all is right (the generation stays).
func syncRepairs(t *testing.T, e *env) {
	t.Helper()
	ctx := e.ctx
	p2 := e.srv.Row("Logical_Switch_Port", []string{"_uuid"}, "name=p2").Str("_uuid")
	e.srv.Run("ovn-nbctl", "--db="+e.srv.Remote, "remove", "Port_Group", "qn_sg_web", "ports", p2)
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { pg, _ := e.nb.GetPortGroup("qn_sg_web"); return len(pg.Ports) == 1 }, "removal seen")
	if err := e.m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.members("qn_sg_web"); !slices.Equal(got, []string{"p1", "p2"}) {
		t.Fatalf("after sync qn_sg_web has %v", got)
	}
	gen := func() string {
		return e.srv.Row("Port_Group", []string{"external_ids"}, "name="+secgroup.AllPortGroup).Map("external_ids")[keys.SGGen]
	}
	g0 := gen()
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { pg, _ := e.nb.GetPortGroup("qn_sg_web"); return len(pg.Ports) == 2 }, "repair seen")
	if err := e.m.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if g1 := gen(); g1 != g0 {
		t.Fatalf("a sync with nothing to do wrote (generation %s -> %s)", g0, g1)
	}
}

// checkRefusals: an unknown remote group, a group with members, a group
// named by another's rule, an unknown rule.
func checkRefusals(t *testing.T, e *env) {
	t.Helper()
	ctx := e.ctx
	if _, err := e.m.AddRules(ctx, "db", []secgroup.Rule{mustRule(t, "ingress tcp 5432 from sg:nosuch")}); !errors.Is(err, secgroup.ErrUnknownGroup) {
		t.Fatalf("rule with an unknown remote group: %v", err)
	}
	if _, err := e.m.AddRules(ctx, "db", []secgroup.Rule{mustRule(t, "ingress tcp 5432 from sg:web")}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(ctx, "db"); !errors.Is(err, ovn.ErrInUse) || !strings.Contains(err.Error(), "p2") {
		t.Fatalf("delete of a group with a member: %v", err)
	}
	if _, err := e.m.SetPortGroups(ctx, "p2", nil); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(ctx, "web"); !errors.Is(err, ovn.ErrInUse) {
		t.Fatalf("delete of a group with a member: %v", err)
	}
	if _, err := e.m.SetPortGroups(ctx, "p1", []string{}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.Delete(ctx, "web"); !errors.Is(err, ovn.ErrInUse) || !strings.Contains(err.Error(), "db") {
		t.Fatalf("delete of a group another's rule names: %v", err)
	}
	if err := e.m.DeleteRules(ctx, "db", []string{"ingress tcp 5432 from sg:web", "ingress tcp 1"}); !errors.Is(err, ovn.ErrNotFound) {
		t.Fatalf("delete of an unknown rule: %v", err)
	}
	if got, _ := e.m.Get("db"); len(got.Rules) != 1 {
		t.Fatalf("a refused rule deletion deleted rules: %+v", got)
	}
	if err := e.m.DeleteRules(ctx, "db", []string{"ingress ipv4 tcp 5432 from sg:web"}); err != nil {
		t.Fatal(err)
	}
}

// checkAndDeleteAll: what Northbound holds is exactly what the translator
// makes of the groups and ports, and deleting every group leaves no row.
func checkAndDeleteAll(t *testing.T, e *env) {
	t.Helper()
	ctx := e.ctx
	// What Northbound holds is exactly what the translator makes of the
	// groups and ports (nothing left over, nothing missing).
	e.checkTranslated()
	info, err := e.m.Get("web")
	if err != nil || info.Description != "front ends" || len(info.Rules) != 2 || len(info.Members) != 0 {
		t.Fatalf("Get(web) = %+v, %v", info, err)
	}

	// Deleting every group leaves no row behind.
	for _, g := range []string{"web", "db", "front-end"} {
		if err := e.m.Delete(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(e.srv.Rows("Port_Group", []string{"_uuid"})); n != 0 {
		t.Fatalf("%d port groups left", n)
	}
	if n := len(e.aclUUIDs()); n != 0 {
		t.Fatalf("%d ACLs left", n)
	}
	if err := e.m.Delete(ctx, "web"); !errors.Is(err, ovn.ErrNotFound) {
		t.Fatalf("delete of a deleted group: %v", err)
	}
}

// checkTranslated compares NB with a fresh translation of its own groups.
func (e *env) checkTranslated() {
	e.t.Helper()
	ovsdbtest.Eventually(e.t, 5*time.Second, func() bool {
		s, err := e.m.snapshot()
		if err != nil {
			return false
		}
		want, err := secgroup.Translate(secgroup.Input{Groups: s.groups, Ports: s.ports, Services: s.services})
		if err != nil {
			e.t.Fatal(err)
		}
		for i := range want.PortGroups {
			if want.PortGroups[i].Name == secgroup.AllPortGroup {
				want.PortGroups[i].ExternalIDs[keys.SGGen] = s.all.ExternalIDs[keys.SGGen]
			}
		}
		a, d, u := secgroup.Diff(s.cur, want)
		return a.Empty() && d.Empty() && u.Empty()
	}, "NB differs from the translation of its groups")
}

// TestIntegrationConcurrentDaemons: two daemons adding rules to the same
// group at the same time lose none (the generation guard serializes them),
// and ports created meanwhile keep their memberships.
func TestIntegrationConcurrentDaemons(t *testing.T) {
	e := newEnv(t)
	_, m2, al2 := e.connect()
	if err := e.m.Create(e.ctx, secgroup.Group{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	ovsdbtest.Eventually(t, 5*time.Second, func() bool { _, err := m2.Get("web"); return err == nil }, "the second daemon sees the group")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for d, m := range []*Manager{e.m, m2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 15 {
				r := mustRule(t, fmt.Sprintf("ingress tcp %d", 1000+d*100+i))
				if _, err := m.AddRules(e.ctx, "web", []secgroup.Rule{r}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 10 {
			_, err := al2.Create(e.ctx, ovn.Port{Name: fmt.Sprintf("c%d", i), Network: "blue", SecurityGroups: []string{"web"}}, nbstore.Want{})
			if err != nil {
				errs <- err
			}
		}
	}()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// (This daemon's cache may still lag behind the other's last commit.)
	var info Info
	deadline := time.Now().Add(5 * time.Second)
	for {
		var err error
		if info, err = e.m.Get("web"); err != nil {
			t.Fatal(err)
		}
		if len(info.Rules) == 30 && len(info.Members) == 10 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(info.Rules) != 30 || len(info.Members) != 10 {
		t.Fatalf("web has %d rules (want 30) and %d members (want 10)", len(info.Rules), len(info.Members))
	}
	e.checkTranslated()
}
