package secgroup

import (
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The views of the rows read back what the translator writes.
func TestRowViews(t *testing.T) {
	out, err := Translate(Input{
		Groups: []Group{{Name: "web", Rules: []Rule{mustParse(t, "egress tcp 443 to 0.0.0.0/0")}}, {Name: "db"}},
		Ports:  []Port{{Name: "p1", Groups: []string{"web"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	out.SetGen(7)
	groups := map[string]bool{}
	for _, p := range out.PortGroups {
		groups[p.Group()] = true
		if p.Name == AllPortGroup && Gen(p.ExternalIDs) != 7 {
			t.Errorf("generation of %s: %d, want 7", p.Name, Gen(p.ExternalIDs))
		}
	}
	for _, g := range []string{"web", "db", AllName} {
		if !groups[g] {
			t.Errorf("no port group of %q among %v", g, groups)
		}
	}
	allows := map[string]bool{}
	for _, a := range out.ACLs {
		if AllowsEgressACL(a.Model()) {
			allows[GroupOf(a.ExternalIDs)] = true
		}
	}
	if !allows["web"] || allows["db"] {
		t.Errorf("egress allowed for %v, want web only", allows)
	}
	if Gen(nil) != 0 || GroupOf(map[string]string{keys.Network: "blue"}) != "" {
		t.Error("a row of no group")
	}
	if AllowsEgressACL(&nbdb.ACL{Direction: nbdb.ACLDirectionFromLport, Action: nbdb.ACLActionDrop, ExternalIDs: map[string]string{keys.RuleSpec: "x"}}) {
		t.Error("an egress drop allows nothing")
	}
}

func mustParse(t *testing.T, s string) Rule {
	t.Helper()
	r, err := ParseRule(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
