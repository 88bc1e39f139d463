package nbstore

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationUnparsableRule (defect 6): an ACL whose rule-spec this
// version cannot parse does not stop Sync or changes of other groups; its
// group's rows are left as they are, and Problems reports it.
func TestIntegrationUnparsableRule(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	for _, g := range []secgroup.Group{
		{Name: "web", Rules: []secgroup.Rule{mustRule(t, "ingress tcp 80"), mustRule(t, "ingress tcp 443")}},
		{Name: "db", Rules: []secgroup.Rule{mustRule(t, "ingress tcp 5432")}},
	} {
		if err := e.m.Create(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.port("p1", "web"); err != nil {
		t.Fatal(err)
	}
	webACLs := func() []string {
		var out []string
		for _, r := range e.srv.Find("ovn-nbctl", "ACL", []string{"external_ids"}, `external_ids:"`+keys.SG+`"=web`) {
			out = append(out, r.Map("external_ids")[keys.RuleSpec])
		}
		slices.Sort(out)
		return out
	}
	rows := e.srv.Find("ovn-nbctl", "ACL", []string{"_uuid"}, `external_ids:"`+keys.SG+`"=web`)
	if len(rows) == 0 {
		t.Fatal("no ACL of group web")
	}
	e.srv.Run("ovn-nbctl", "--db="+e.srv.Remote, "set", "ACL", rows[0].Str("_uuid"),
		`external_ids:"`+keys.RuleSpec+`"="ingress frobnicate 9 from the future"`)
	before := webACLs()
	ovsdbtest.Eventually(t, 5*time.Second, func() bool {
		s, err := e.m.snapshot()
		return err == nil && len(s.problems) == 1
	}, "the cache shows the bad rule")

	if err := e.m.Sync(ctx); err != nil {
		t.Fatalf("Sync with an unparsable rule: %v", err)
	}
	if _, err := e.m.AddRules(ctx, "db", []secgroup.Rule{mustRule(t, "ingress tcp 6432")}); err != nil {
		t.Fatalf("a change of another group: %v", err)
	}
	if err := e.port("p2", "db"); err != nil {
		t.Fatalf("a port in another group: %v", err)
	}
	if err := e.m.Sync(ctx); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if after := webACLs(); !slices.Equal(after, before) {
		t.Errorf("the bad group's ACLs changed: %q, were %q", after, before)
	}
	if got := e.members("qn_sg_web"); !slices.Equal(got, []string{"p1"}) {
		t.Errorf("the bad group's members %q, want [p1]", got)
	}
	ps := e.m.Problems()
	if len(ps) != 1 || !strings.Contains(ps[0], "web") || !strings.Contains(ps[0], "frobnicate") {
		t.Errorf("Problems() = %q, want the bad rule of web", ps)
	}
}
