package secgroup

import "testing"

// BenchmarkTranslate translates 1,000 ports in 10 groups of 20 rules each,
// and reports the ACL rows: 10*20 plus the shared ones, whatever the number
// of ports.
func BenchmarkTranslate(b *testing.B) {
	in := scaleInput(b, 1000, 10, 20)
	var out Output
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if out, err = Translate(in); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(out.ACLs)), "acls")
	b.ReportMetric(float64(len(out.PortGroups)), "port_groups")
	checkScale(b, out)
}

// checkScale: the rows grow with the rules (10 x 20 plus the 15 shared
// ACLs, 10 groups plus the all-ports and restricted-egress groups), never
// with the 1,000 ports.
func checkScale(t testing.TB, out Output) {
	t.Helper()
	if len(out.ACLs) != 10*20+15 || len(out.PortGroups) != 12 {
		t.Fatalf("%d ACLs in %d port groups for 10 groups x 20 rules, want 215 in 12", len(out.ACLs), len(out.PortGroups))
	}
}

// BenchmarkTranslateDiff is the daemon's whole computation for one change:
// translate, then diff against the rows as they were.
func BenchmarkTranslateDiff(b *testing.B) {
	in := scaleInput(b, 1000, 10, 20)
	cur, err := Translate(in)
	if err != nil {
		b.Fatal(err)
	}
	in.Ports = append(in.Ports, Port{Name: "new", Groups: []string{"g1"}})
	b.ReportAllocs()
	for b.Loop() {
		des, err := Translate(in)
		if err != nil {
			b.Fatal(err)
		}
		if a, _, _ := Diff(cur, des); !a.Empty() {
			b.Fatal("unexpected insert")
		}
	}
}
