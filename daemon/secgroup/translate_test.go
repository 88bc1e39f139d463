package secgroup

import (
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/bastion"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestTranslateGolden compares Translate's output with testdata/NAME.golden
// (go test ./daemon/secgroup -run Golden -update rewrites them).
func TestTranslateGolden(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			out, err := Translate(c.in)
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			checkOutput(t, out)
			path := filepath.Join("testdata", c.name+".golden")
			got := out.String()
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("Translate output differs from %s (run with -update if intended):\n%s", path, lineDiff(string(want), got))
			}
		})
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	for _, l := range w {
		if !slices.Contains(g, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range g {
		if !slices.Contains(w, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}

var (
	pgNameRE   = regexp.MustCompile(`^[a-zA-Z_.][a-zA-Z_.0-9]*$`)
	pgRefRE    = regexp.MustCompile(`[@$]([a-zA-Z_.][a-zA-Z_.0-9]*)`)
	validProto = []string{"allow", "allow-related", "allow-stateless", "drop"}
)

// checkOutput checks the invariants of every Translate output.
func checkOutput(t *testing.T, out Output) {
	t.Helper()
	if !slices.IsSortedFunc(out.PortGroups, func(a, b PortGroup) int { return strings.Compare(a.Name, b.Name) }) {
		t.Error("port groups not sorted")
	}
	if !slices.IsSortedFunc(out.ACLs, func(a, b ACL) int { return strings.Compare(a.Key, b.Key) }) {
		t.Error("ACLs not sorted")
	}
	pgs, owner := checkPortGroups(t, out.PortGroups)
	seen := map[string]bool{}
	for _, a := range out.ACLs {
		if seen[a.Key] {
			t.Errorf("ACL key %s twice", a.Key)
		}
		seen[a.Key] = true
		checkACL(t, a, pgs, owner)
	}
	for k := range owner {
		if !seen[k] {
			t.Errorf("port group lists ACL %s, which is not in the output", k)
		}
	}
}

// checkPortGroups checks each port group alone and that no ACL is in two;
// it returns the port group names and the port group of each ACL key.
func checkPortGroups(t *testing.T, groups []PortGroup) (pgs map[string]bool, owner map[string]string) {
	t.Helper()
	pgs = map[string]bool{}
	owner = map[string]string{}
	for _, p := range groups {
		if !pgNameRE.MatchString(p.Name) {
			t.Errorf("port group name %q is not an OVN name", p.Name)
		}
		if p.ExternalIDs[keys.SG] == "" {
			t.Errorf("port group %s has no %s", p.Name, keys.SG)
		}
		if !slices.IsSorted(p.Ports) || !slices.IsSorted(p.ACLs) {
			t.Errorf("port group %s: ports or ACLs not sorted", p.Name)
		}
		if len(slices.Compact(slices.Clone(p.Ports))) != len(p.Ports) {
			t.Errorf("port group %s lists a port twice", p.Name)
		}
		pgs[p.Name] = true
		for _, k := range p.ACLs {
			if o, dup := owner[k]; dup {
				t.Errorf("ACL %s is in port groups %s and %s", k, o, p.Name)
			}
			owner[k] = p.Name
		}
	}
	return pgs, owner
}

// checkACL checks one ACL against the port groups of the output.
func checkACL(t *testing.T, a ACL, pgs map[string]bool, owner map[string]string) {
	t.Helper()
	if ACLKey(a.ExternalIDs) != a.Key {
		t.Errorf("ACL %s: external ids %v do not give its key", a.Key, a.ExternalIDs)
	}
	pg, ok := owner[a.Key]
	if !ok {
		t.Errorf("ACL %s is in no port group", a.Key)
	}
	// An ACL only matches the ports of its own port group.
	prefix := "outport == @" + pg + " && "
	if a.Direction == "from-lport" {
		prefix = "inport == @" + pg + " && "
	} else if a.Direction != "to-lport" {
		t.Errorf("ACL %s: direction %q", a.Key, a.Direction)
	}
	if !strings.HasPrefix(a.Match, prefix) {
		t.Errorf("ACL %s: match %q does not start with %q", a.Key, a.Match, prefix)
	}
	if !slices.Contains(validProto, a.Action) {
		t.Errorf("ACL %s: action %q", a.Key, a.Action)
	}
	if a.Priority < PriorityDefault || a.Priority > PriorityPlumbing {
		t.Errorf("ACL %s: priority %d outside the scheme", a.Key, a.Priority)
	}
	// Every @pg and $pg_ip4 it references is one of ours.
	for _, m := range pgRefRE.FindAllStringSubmatch(a.Match, -1) {
		name := m[1]
		if m[0][0] == '$' {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "_ip4"), "_ip6")
		}
		if !pgs[name] {
			t.Errorf("ACL %s references %s, not a port group of the output", a.Key, m[0])
		}
	}
	if strings.Contains(a.Match, "ip4") && strings.Contains(a.Match, "ip6") {
		t.Errorf("ACL %s mixes families: %s", a.Key, a.Match)
	}
	if spec, ok := a.ExternalIDs[keys.RuleSpec]; ok {
		r, err := ParseRule(spec)
		if err != nil || r.ID() != a.ExternalIDs[keys.Rule] {
			t.Errorf("ACL %s: rule spec %q does not parse back to its id (%v)", a.Key, spec, err)
		}
	}
}

func TestTranslateDeterministic(t *testing.T) {
	in := scaleInput(t, 200, 5, 8)
	want, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 5; i++ {
		shuffled := Input{Groups: slices.Clone(in.Groups), Ports: slices.Clone(in.Ports), Services: slices.Clone(in.Services)}
		rng.Shuffle(len(shuffled.Groups), func(i, j int) { shuffled.Groups[i], shuffled.Groups[j] = shuffled.Groups[j], shuffled.Groups[i] })
		rng.Shuffle(len(shuffled.Ports), func(i, j int) { shuffled.Ports[i], shuffled.Ports[j] = shuffled.Ports[j], shuffled.Ports[i] })
		rng.Shuffle(len(shuffled.Services), func(i, j int) {
			shuffled.Services[i], shuffled.Services[j] = shuffled.Services[j], shuffled.Services[i]
		})
		for g := range shuffled.Groups {
			rs := slices.Clone(shuffled.Groups[g].Rules)
			rng.Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
			shuffled.Groups[g].Rules = rs
		}
		got, err := Translate(shuffled)
		if err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("the order of the input changed the output")
		}
		if a, d, u := Diff(want, got); !a.Empty() || !d.Empty() || !u.Empty() {
			t.Fatalf("Diff of two translations of one input: %v %v %v", a, d, u)
		}
	}
}

func TestTranslateErrors(t *testing.T) {
	web := Group{Name: "web", Rules: rules(t, "ingress tcp 80")}
	cases := []struct {
		name string
		in   Input
		is   error
		msg  string
	}{
		{"unknown remote group", Input{Groups: []Group{{Name: "db", Rules: rules(t, "ingress tcp 5432 from sg:app")}}},
			ErrUnknownGroup, `security group db: rule "ingress ipv4 tcp 5432 from sg:app": remote_group: unknown security group "app"`},
		{"port in an unknown group", Input{Groups: []Group{web}, Ports: []Port{{Name: "p1", Groups: []string{"web", "db"}}}},
			ErrUnknownGroup, `port p1: unknown security group "db"`},
		{"group twice", Input{Groups: []Group{web, web}}, ErrInvalid, "web given twice"},
		{"port group collision", Input{Groups: []Group{{Name: "a-b"}, {Name: "a_b"}}}, ErrInvalid, "a-b and a_b both map to OVN port group qn_sg_a_b"},
		{"invalid rule", Input{Groups: []Group{{Name: "web", Rules: []Rule{{Direction: Ingress, Ethertype: IPv4, Protocol: "tcp", PortMin: 90, PortMax: 80}}}}},
			ErrInvalid, "security group web: rules[0]: port_max: range 90-80 is reversed"},
		{"invalid name", Input{Groups: []Group{{Name: "Web"}}}, ErrInvalid, "name:"},
		{"port without name", Input{Groups: []Group{web}, Ports: []Port{{Groups: []string{"web"}}}}, ErrInvalid, "without a name"},
		{"port twice", Input{Groups: []Group{web}, Ports: []Port{{Name: "p"}, {Name: "p"}}}, ErrInvalid, "port p given twice"},
		{"invalid service", Input{Services: addrs("fe80::1%eth0")}, ErrInvalid, "service address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Translate(c.in)
			if !errors.Is(err, c.is) || !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("Translate = %v, want %v with %q", err, c.is, c.msg)
			}
		})
	}
}

// The number of ACL rows is the number of rules plus the shared ones, not
// ports x rules; port membership lives in Port_Group.ports.
func TestTranslateRowsDoNotGrowWithPorts(t *testing.T) {
	small, err := Translate(scaleInput(t, 10, 10, 20))
	if err != nil {
		t.Fatal(err)
	}
	big, err := Translate(scaleInput(t, 1000, 10, 20))
	if err != nil {
		t.Fatal(err)
	}
	shared := len(mustTranslate(t, Input{Services: addrs("10.0.0.1", "fd00::1")}).ACLs)
	if len(big.ACLs) != 10*20+shared || len(small.ACLs) != len(big.ACLs) {
		t.Fatalf("%d ACLs for 10 ports, %d for 1000, want %d for both", len(small.ACLs), len(big.ACLs), 10*20+shared)
	}
	if len(big.PortGroups) != 12 {
		t.Fatalf("%d port groups, want 10 + qn_sg_all + qn_sg_egress_restricted", len(big.PortGroups))
	}
	if all := big.PortGroups[0]; all.Name != AllPortGroup || len(all.Ports) != 1000 {
		n := len(all.Ports)
		t.Fatalf("qn_sg_all has %d ports, want 1000", n)
	}
}

func mustTranslate(t testing.TB, in Input) Output {
	t.Helper()
	out, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Adding one rule to a group of 1,000 ports changes exactly one ACL (an
// insert) and the acls column of that group's port group, nothing else.
func TestAddOneRuleToAThousandPorts(t *testing.T) {
	in := scaleInput(t, 1000, 10, 20)
	before := mustTranslate(t, in)
	in.Groups[3].Rules = append(slices.Clone(in.Groups[3].Rules), rules(t, "ingress tcp 8443 from 10.99.0.0/16")...)
	after := mustTranslate(t, in)

	add, del, upd := Diff(before, after)
	if len(add.ACLs) != 1 || len(del.ACLs) != 0 || len(upd.ACLs) != 0 {
		t.Fatalf("ACL changes: %d added, %d deleted, %d updated; want exactly one added", len(add.ACLs), len(del.ACLs), len(upd.ACLs))
	}
	newACL := add.ACLs[0]
	if newACL.Key != "g3/"+rules(t, "ingress tcp 8443 from 10.99.0.0/16")[0].ID() ||
		newACL.Match != "outport == @qn_sg_g3 && ip4 && ip4.src == 10.99.0.0/16 && tcp && tcp.dst == 8443" {
		t.Fatalf("added ACL %+v", newACL)
	}
	if len(add.PortGroups) != 0 || len(del.PortGroups) != 0 || len(upd.PortGroups) != 1 || upd.PortGroups[0].Name != "qn_sg_g3" {
		t.Fatalf("port group changes: %v / %v / %v; want qn_sg_g3 updated only", add.PortGroups, del.PortGroups, upd.PortGroups)
	}
	cur := before.PortGroups[slices.IndexFunc(before.PortGroups, func(p PortGroup) bool { return p.Name == "qn_sg_g3" })]
	if a, d := Delta(cur.Ports, upd.PortGroups[0].Ports); len(a)+len(d) != 0 {
		t.Fatalf("ports of qn_sg_g3 changed: +%v -%v", a, d)
	}
	if a, d := Delta(cur.ACLs, upd.PortGroups[0].ACLs); len(a) != 1 || a[0] != newACL.Key || len(d) != 0 {
		t.Fatalf("acls of qn_sg_g3: +%v -%v, want +%s", a, d, newACL.Key)
	}

	// And taking it out again deletes exactly that ACL.
	add, del, _ = Diff(after, before)
	if len(add.ACLs) != 0 || len(del.ACLs) != 1 || del.ACLs[0].Key != newACL.Key {
		t.Fatalf("removing the rule: +%d -%v", len(add.ACLs), del.ACLs)
	}
}

// Adding a port changes port membership only: no ACL.
func TestAddPortChangesNoACL(t *testing.T) {
	in := scaleInput(t, 1000, 10, 20)
	before := mustTranslate(t, in)
	in.Ports = append(slices.Clone(in.Ports), Port{Name: "new-port", Groups: []string{"g7"}})
	after := mustTranslate(t, in)
	add, del, upd := Diff(before, after)
	if !add.Empty() || !del.Empty() || len(upd.ACLs) != 0 {
		t.Fatalf("adding a port: +%v -%v ~%d ACLs", add, del, len(upd.ACLs))
	}
	var names []string
	for _, p := range upd.PortGroups {
		names = append(names, p.Name)
		i := slices.IndexFunc(before.PortGroups, func(q PortGroup) bool { return q.Name == p.Name })
		if a, d := Delta(before.PortGroups[i].Ports, p.Ports); !slices.Equal(a, []string{"new-port"}) || len(d) != 0 {
			t.Fatalf("%s ports: +%v -%v", p.Name, a, d)
		}
	}
	// g7 has egress allow rules: its ports' egress is restricted.
	if !slices.Equal(names, []string{"qn_sg_all", "qn_sg_egress_restricted", "qn_sg_g7"}) {
		t.Fatalf("updated port groups %v, want qn_sg_all, qn_sg_egress_restricted and qn_sg_g7", names)
	}
}

// Groups reads back from the rows what Translate wrote.
func TestGroupsRoundTrip(t *testing.T) {
	for _, c := range goldenCases(t) {
		out := mustTranslate(t, c.in)
		got, err := Groups(out)
		if err != nil {
			t.Fatalf("%s: Groups: %v", c.name, err)
		}
		again := mustTranslate(t, Input{Groups: got, Ports: c.in.Ports, Services: c.in.Services})
		if a, d, u := Diff(out, again); !a.Empty() || !d.Empty() || !u.Empty() {
			t.Fatalf("%s: translating the groups read back changes rows: +%v -%v ~%v", c.name, a, d, u)
		}
		if len(got) != len(c.in.Groups) {
			t.Fatalf("%s: %d groups read back, want %d", c.name, len(got), len(c.in.Groups))
		}
		for _, g := range got {
			i := slices.IndexFunc(c.in.Groups, func(h Group) bool { return h.Name == g.Name })
			if i < 0 || c.in.Groups[i].Description != g.Description || len(c.in.Groups[i].Rules) != len(g.Rules) {
				t.Fatalf("%s: group %+v read back", c.name, g)
			}
		}
	}
}

func TestPresets(t *testing.T) {
	if got := Presets(); !slices.Equal(got, []string{"database", "icmp", "internal", "rdp", "ssh", "web"}) {
		t.Fatalf("Presets() = %v", got)
	}
	want := map[string][]string{
		"ssh":      {"ingress ipv4 tcp 22", "ingress ipv6 tcp 22"},
		"web":      {"ingress ipv4 tcp 80", "ingress ipv6 tcp 80", "ingress ipv4 tcp 443", "ingress ipv6 tcp 443"},
		"rdp":      {"ingress ipv4 tcp 3389", "ingress ipv6 tcp 3389"},
		"database": {"ingress ipv4 tcp 5432", "ingress ipv6 tcp 5432", "ingress ipv4 tcp 3306", "ingress ipv6 tcp 3306", "ingress ipv4 tcp 6379", "ingress ipv6 tcp 6379", "ingress ipv4 tcp 27017", "ingress ipv6 tcp 27017"},
		"icmp":     {"ingress ipv4 icmp", "ingress ipv6 icmpv6 type 128"},
		"internal": {"ingress ipv4 any from sg:self", "ingress ipv6 any from sg:self"},
	}
	for _, name := range Presets() {
		rs, err := Preset(name)
		if err != nil {
			t.Fatalf("Preset(%s): %v", name, err)
		}
		var got []string
		for _, r := range rs {
			if err := r.Validate(); err != nil {
				t.Fatalf("Preset(%s): %s: %v", name, r, err)
			}
			if r.Direction != Ingress {
				t.Fatalf("Preset(%s): %s is not ingress", name, r)
			}
			got = append(got, r.String())
		}
		if !slices.Equal(got, want[name]) {
			t.Errorf("Preset(%s) = %q, want %q", name, got, want[name])
		}
		// A group made of the preset is valid (no duplicate rules).
		if err := (Group{Name: "g", Rules: rs}).Validate(); err != nil {
			t.Errorf("group of preset %s: %v", name, err)
		}
	}
	if rs, err := Preset(" SSH "); err != nil || len(rs) != 2 {
		t.Fatalf("Preset(\" SSH \") = %v, %v", rs, err)
	}
	if _, err := Preset("ftp"); !errors.Is(err, ErrUnknownPreset) || !strings.Contains(err.Error(), "database, icmp, internal, rdp, ssh, web") {
		t.Fatalf("Preset(ftp) = %v", err)
	}
	// Presets together make a valid group: they never repeat a rule.
	if err := (Group{Name: "g", Rules: preset(t, Presets()...)}).Validate(); err != nil {
		t.Fatalf("all presets in one group: %v", err)
	}
}

// A port's egress is restricted exactly when every one of its groups has an
// egress allow rule (a group without one allows all egress, and the rules
// of a port's groups add up); an admin deny alone restricts nothing more.
func TestEgressRestriction(t *testing.T) {
	in := Input{
		Groups: []Group{
			{Name: "out443", Rules: rules(t, "egress tcp 443")},
			{Name: "dns", Rules: rules(t, "egress udp 53 to 10.0.0.2")},
			{Name: "open", Rules: rules(t, "ingress tcp 22")},
			{Name: "deny", Rules: rules(t, "admin deny egress tcp 25")},
		},
		Ports: []Port{
			{Name: "a", Groups: []string{"out443"}},
			{Name: "b", Groups: []string{"out443", "dns"}},
			{Name: "c", Groups: []string{"out443", "open"}},
			{Name: "d", Groups: []string{"deny"}},
			{Name: "e"},
		},
	}
	out := mustTranslate(t, in)
	i := slices.IndexFunc(out.PortGroups, func(p PortGroup) bool { return p.Name == EgressPortGroup })
	if i < 0 {
		t.Fatal("no restricted-egress port group")
	}
	if got := out.PortGroups[i].Ports; !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("restricted egress: %v, want [a b]", got)
	}
	if err := ValidateName("egress_restricted"); err == nil {
		t.Fatal("a group may be named like the restricted-egress port group")
	}
}

// A rule naming a bastion's peers (sg:bastion-NAME) matches the bastion's
// Address_Set, needs no group of that name, and is refused as a group name.
func TestTranslateBastionRemote(t *testing.T) {
	in := Input{Groups: []Group{{Name: "db", Rules: rules(t,
		"ingress tcp 5432 from sg:bastion-b1", "admin deny ingress from sg:bastion-ops-2", "egress udp 53 to sg:bastion-b1")}},
		Ports: []Port{{Name: "p1", Groups: []string{"db"}}}}
	out, err := Translate(in)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"outport == @qn_sg_db && ip4 && ip4.src == $qn_bastion_b1 && tcp && tcp.dst == 5432": true,
		"outport == @qn_sg_db && ip4 && ip4.src == $qn_bastion_ops_2":                        true,
		"inport == @qn_sg_db && ip4 && ip4.dst == $qn_bastion_b1 && udp && udp.dst == 53":    true,
	}
	for _, a := range out.ACLs {
		if a.ExternalIDs[keys.SG] == "db" {
			if !want[a.Match] {
				t.Errorf("unexpected ACL match %q", a.Match)
			}
			delete(want, a.Match)
		}
	}
	if len(want) > 0 {
		t.Errorf("missing ACL matches %v\n%s", want, out)
	}
	// Rebuilt from the rows, the rules are the same.
	back, bad := GroupsLenient(out)
	if len(bad) > 0 || len(back) != 1 || len(back[0].Rules) != 3 {
		t.Fatalf("groups read back: %+v, unparsed %v", back, bad)
	}
	if bastion.SecurityGroup("b1") != BastionPrefix+"b1" {
		t.Errorf("the bastion names its group %q, rules take %q", bastion.SecurityGroup("b1"), BastionPrefix+"b1")
	}
	if got := BastionAddressSet("ops-2"); got != ovn.BastionAddressSetName("ops-2") {
		t.Errorf("BastionAddressSet = %q, the bastion store names it %q", got, ovn.BastionAddressSetName("ops-2"))
	}
	for _, name := range []string{"bastion-b1", "bastion-x-y"} {
		if err := ValidateNewName(name); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Errorf("ValidateNewName(%q) = %v, want reserved", name, err)
		}
	}
	if err := ValidateNewName("bastion"); err != nil {
		t.Errorf("ValidateNewName(bastion) = %v", err)
	}
}
