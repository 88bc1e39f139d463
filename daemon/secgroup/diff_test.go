package secgroup

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

func TestDiff(t *testing.T) {
	base := Input{
		Groups: []Group{
			{Name: "web", Rules: rules(t, "ingress tcp 80", "ingress tcp 443")},
			{Name: "db", Rules: rules(t, "ingress tcp 5432 from sg:web")},
		},
		Ports:    []Port{{Name: "p1", Groups: []string{"web"}}, {Name: "p2", Groups: []string{"db"}}},
		Services: addrs("10.0.0.1"),
	}
	cur := mustTranslate(t, base)

	t.Run("nothing changed", func(t *testing.T) {
		a, d, u := Diff(cur, mustTranslate(t, base))
		if !a.Empty() || !d.Empty() || !u.Empty() {
			t.Fatalf("+%v -%v ~%v", a, d, u)
		}
	})
	t.Run("from nothing", func(t *testing.T) {
		a, d, u := Diff(Output{}, cur)
		if a.String() != cur.String() || !d.Empty() || !u.Empty() {
			t.Fatalf("+%v -%v ~%v", a, d, u)
		}
	})
	t.Run("group deleted", func(t *testing.T) {
		in := base
		in.Groups = []Group{base.Groups[0]}
		in.Ports = []Port{base.Ports[0], {Name: "p2"}}
		a, d, u := Diff(cur, mustTranslate(t, in))
		if !a.Empty() || len(d.PortGroups) != 1 || d.PortGroups[0].Name != "qn_sg_db" || len(d.ACLs) != 1 || d.ACLs[0].ExternalIDs[keys.SG] != "db" {
			t.Fatalf("+%v -%v", a, d)
		}
		if len(u.ACLs) != 0 || len(u.PortGroups) != 1 || u.PortGroups[0].Name != AllPortGroup {
			t.Fatalf("~%v, want qn_sg_all (p2 left it)", u)
		}
	})
	t.Run("services changed", func(t *testing.T) {
		in := base
		in.Services = addrs("10.0.0.2")
		a, d, u := Diff(cur, mustTranslate(t, in))
		if !a.Empty() || !d.Empty() || len(u.PortGroups) != 0 || len(u.ACLs) != 3 {
			t.Fatalf("+%v -%v ~%v, want the 3 ACLs that name the IPv4 services updated", a, d, u)
		}
	})
	t.Run("description changed", func(t *testing.T) {
		in := base
		in.Groups = slices.Clone(base.Groups)
		in.Groups[0].Description = "front"
		a, d, u := Diff(cur, mustTranslate(t, in))
		if !a.Empty() || !d.Empty() || len(u.ACLs) != 0 || len(u.PortGroups) != 1 || u.PortGroups[0].ExternalIDs[keys.SGDescription] != "front" {
			t.Fatalf("+%v -%v ~%v", a, d, u)
		}
	})
	t.Run("updates carry the current UUID", func(t *testing.T) {
		current := withUUIDs(cur)
		want := mustTranslate(t, base)
		want.ACLs[0].Match += " && ip.ttl > 1"
		_, _, u := Diff(current, want)
		if len(u.ACLs) != 1 || u.ACLs[0].UUID != current.ACLs[0].UUID || u.ACLs[0].Match != want.ACLs[0].Match {
			t.Fatalf("~%v", u)
		}
	})
	t.Run("set order does not matter", func(t *testing.T) {
		current := withUUIDs(cur)
		for i := range current.PortGroups {
			slices.Reverse(current.PortGroups[i].ACLs)
		}
		if a, d, u := Diff(current, cur); !a.Empty() || !d.Empty() || !u.Empty() {
			t.Fatalf("+%v -%v ~%v", a, d, u)
		}
	})
	t.Run("a leftover duplicate is deleted", func(t *testing.T) {
		current := withUUIDs(cur)
		dup := current.ACLs[2]
		dup.UUID = "leftover"
		current.ACLs = append(current.ACLs, dup)
		a, d, u := Diff(current, cur)
		if !a.Empty() || !u.Empty() || len(d.ACLs) != 1 || d.ACLs[0].Key != dup.Key || len(d.PortGroups) != 0 {
			t.Fatalf("+%v -%v ~%v", a, d, u)
		}
	})
}

func TestDelta(t *testing.T) {
	add, del := Delta([]string{"a", "b", "c"}, []string{"d", "c", "a", "d"})
	if !slices.Equal(add, []string{"d"}) || !slices.Equal(del, []string{"b"}) {
		t.Fatalf("Delta = +%v -%v", add, del)
	}
	if add, del := Delta(nil, nil); add != nil || del != nil {
		t.Fatalf("Delta(nil, nil) = %v %v", add, del)
	}
}

func withUUIDs(o Output) Output {
	c := Output{PortGroups: slices.Clone(o.PortGroups), ACLs: slices.Clone(o.ACLs)}
	for i := range c.PortGroups {
		c.PortGroups[i].UUID = fmt.Sprintf("pg-%d", i)
		c.PortGroups[i].ACLs = slices.Clone(c.PortGroups[i].ACLs)
	}
	for i := range c.ACLs {
		c.ACLs[i].UUID = fmt.Sprintf("acl-%d", i)
	}
	return c
}

// The rows survive the trip through the Northbound models.
func TestModelsRoundTrip(t *testing.T) {
	for _, c := range goldenCases(t) {
		out := mustTranslate(t, c.in)
		// As the daemon would see the rows: UUIDs everywhere.
		aclUUID := map[string]string{}
		var acls []*nbdb.ACL
		for i, a := range out.ACLs {
			m := a.Model()
			m.UUID = fmt.Sprintf("acl-uuid-%d", i)
			aclUUID[a.Key] = m.UUID
			acls = append(acls, m)
		}
		portUUID := func(n string) string { return "lsp-uuid-" + n }
		portName := func(u string) (string, bool) {
			return strings.CutPrefix(u, "lsp-uuid-")
		}
		var pgs []*nbdb.PortGroup
		for i, p := range out.PortGroups {
			m := p.Model(portUUID, func(k string) string { return aclUUID[k] })
			m.UUID = fmt.Sprintf("pg-uuid-%d", i)
			pgs = append(pgs, m)
		}
		// Other tenants' rows are skipped.
		pgs = append(pgs, &nbdb.PortGroup{UUID: "other", Name: "neutron_pg_drop"})
		acls = append(acls, &nbdb.ACL{UUID: "other-acl", Match: "1", ExternalIDs: map[string]string{"neutron:id": "x"}})

		cur := FromModels(pgs, acls, portName)
		if a, d, u := Diff(cur, out); !a.Empty() || !d.Empty() || !u.Empty() {
			t.Fatalf("%s: +%v -%v ~%v", c.name, a, d, u)
		}
		for _, a := range cur.ACLs {
			if a.UUID == "" {
				t.Fatalf("%s: ACL %s read without its UUID", c.name, a.Key)
			}
		}
		// An unknown port UUID is kept, so Diff takes it out.
		pgs[0].Ports = append(pgs[0].Ports, "stale-uuid")
		cur = FromModels(pgs, acls, portName)
		_, _, u := Diff(cur, out)
		if len(u.PortGroups) != 1 || u.PortGroups[0].UUID != "pg-uuid-0" {
			t.Fatalf("%s: a stale port: ~%v", c.name, u)
		}
		if _, del := Delta(cur.PortGroups[0].Ports, u.PortGroups[0].Ports); !slices.Equal(del, []string{"stale-uuid"}) {
			t.Fatalf("%s: Delta removes %v", c.name, del)
		}
	}
}

func TestACLModel(t *testing.T) {
	out := mustTranslate(t, Input{Groups: []Group{{Name: "web", Rules: rules(t, "ingress tcp 80 stateless")}}})
	a := out.ACLs[len(out.ACLs)-1]
	m := a.Model()
	if m.Action != nbdb.ACLActionAllowStateless || m.Direction != nbdb.ACLDirectionToLport || m.Priority != PriorityUser ||
		m.Match != "outport == @qn_sg_web && ip4 && tcp && tcp.dst == 80" || !maps.Equal(m.ExternalIDs, a.ExternalIDs) {
		t.Fatalf("Model = %+v", m)
	}
	m.ExternalIDs["x"] = "y"
	if _, ok := a.ExternalIDs["x"]; ok {
		t.Fatal("Model shares the external ids map")
	}
	if _, ok := ACLFromModel(&nbdb.ACL{ExternalIDs: map[string]string{keys.SG: "web"}}); ok {
		t.Fatal("an ACL without a rule id is read as ours")
	}
}
