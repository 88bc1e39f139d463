package secgroup

import (
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// TestTranslateLogDrops: a group that logs gets its deny rules logged and
// the two logged default drops; a group that does not log gets neither;
// the rows read back as the same groups (the logged drops are no rules).
func TestTranslateLogDrops(t *testing.T) {
	deny := mustParse(t, "admin deny ingress tcp 22")
	in := Input{
		Groups: []Group{
			{Name: "web", LogDrops: true, Rules: []Rule{mustParse(t, "ingress tcp 80"), deny, mustParse(t, "egress tcp 443")}},
			{Name: "open", LogDrops: true, Rules: []Rule{mustParse(t, "ingress tcp 80")}},
			{Name: "db", Rules: []Rule{mustParse(t, "admin deny ingress tcp 23")}},
		},
		Ports: []Port{{Name: "p1", Groups: []string{"web"}}, {Name: "p2", Groups: []string{"db"}}},
	}
	out, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	logged := map[string]ACL{}
	for _, a := range out.ACLs {
		if a.Log {
			logged[a.Name] = a
			if a.Meter != LogMeter || a.Severity != nbdb.ACLSeverityInfo || a.Action != nbdb.ACLActionDrop || len(a.Name) > 63 {
				t.Errorf("logged ACL %+v: want a drop, severity info, meter %s, a name of at most 63 bytes", a, LogMeter)
			}
		}
	}
	want := map[string]int{
		"qn-sg:web:default-drop":        PriorityLogDrop,
		"qn-sg:web:default-egress-drop": PriorityLogDrop,
		"qn-sg:web:" + deny.ID():        PriorityAdminDeny,
		"qn-sg:open:default-drop":       PriorityLogDrop, // no egress rules: its egress is open, nothing to log
	}
	if len(logged) != len(want) {
		t.Errorf("logged ACLs %v, want %v", keysOf(logged), want)
	}
	for n, prio := range want {
		if a, ok := logged[n]; !ok || a.Priority != prio {
			t.Errorf("logged ACL %s: %+v, want priority %d", n, a, prio)
		}
	}
	if !out.Logs() {
		t.Error("Logs() = false")
	}
	// Through the rows and back.
	var models []*nbdb.ACL
	for _, a := range out.ACLs {
		m := a.Model()
		m.UUID = "u-" + a.Key
		models = append(models, m)
	}
	var back Output
	for _, m := range models {
		a, ok := ACLFromModel(m)
		if !ok {
			t.Fatalf("ACLFromModel(%+v) not ours", m)
		}
		if a.Logging != logged[a.Name].Logging && a.Log {
			t.Errorf("round trip of %s: %+v", a.Key, a.Logging)
		}
		back.ACLs = append(back.ACLs, a)
	}
	back.PortGroups = out.PortGroups
	groups, err := Groups(back)
	if err != nil {
		t.Fatalf("Groups of the rows: %v", err)
	}
	for _, g := range groups {
		wantLog := g.Name != "db"
		if g.LogDrops != wantLog || len(g.Rules) != map[string]int{"web": 3, "open": 1, "db": 1}[g.Name] {
			t.Errorf("group %s read back: log %v, %d rules", g.Name, g.LogDrops, len(g.Rules))
		}
	}
	in.Groups[0].LogDrops, in.Groups[1].LogDrops = false, false
	if off, _ := Translate(in); off.Logs() {
		t.Error("no group logs, but Logs() = true")
	}
}

func keysOf(m map[string]ACL) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
