package secgroup

// Integration tests against a real OVN: a private NB and SB ovsdb-server
// and ovn-northd. The rows are written with ovn-nbctl (another client, as
// the daemon's own client is not this package's business), applying the
// Diff from one golden case to the next, read back into nbdb models,
// compiled by ovn-northd into logical flows, and those flows parsed and
// run by ovn-trace: every match this package writes must parse (ovn-nbctl
// and ovn-northd do not parse matches; ovn-controller would, on every
// chassis, and drop the flow with a warning), and the policy must do what
// the package doc says.

import (
	"bytes"
	"fmt"
	"maps"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

const (
	network = "qn-sgtest" // the test's Logical_Switch
)

// ovnEnv is NB + SB + ovn-northd, and the ports of one switch.
type ovnEnv struct {
	t         *testing.T
	nb, sb    *ovsdbtest.Server
	northdLog string
	ports     map[string]testPort
}

type testPort struct {
	name     string
	mac      string
	ip4, ip6 netip.Addr
}

func startOVN(t *testing.T) *ovnEnv {
	t.Helper()
	ovsdbtest.Require(t, "ovn-trace")
	ovsdbtest.Require(t, "ovn-nbctl")
	e := &ovnEnv{t: t, nb: ovsdbtest.NewNB(t), sb: ovsdbtest.NewSB(t), ports: map[string]testPort{}}
	e.northdLog = ovsdbtest.Northd(t, e.nb, e.sb)
	e.nbctl("init")
	e.nbctl("ls-add", network)
	e.addPorts("probe") // in no group: a port to trace from
	return e
}

func (e *ovnEnv) nbctl(args ...string) string {
	e.t.Helper()
	return e.nb.Run("ovn-nbctl", append([]string{"--db=" + e.nb.Remote, "--timeout=30"}, args...)...)
}

// addPorts creates the ports (n: 10.0.0.n and fd00::n) that do not exist yet.
func (e *ovnEnv) addPorts(names ...string) {
	e.t.Helper()
	var args []string
	for _, n := range names {
		if _, ok := e.ports[n]; ok {
			continue
		}
		i := len(e.ports) + 10
		p := testPort{
			name: n,
			mac:  fmt.Sprintf("0a:00:00:00:%02x:%02x", i/256, i%256),
			ip4:  netip.AddrFrom4([4]byte{10, 0, byte(i / 256), byte(i % 256)}),
			ip6:  netip.MustParseAddr(fmt.Sprintf("fd00::%x", i)),
		}
		e.ports[n] = p
		args = append(args, "--", "lsp-add", network, n,
			"--", "lsp-set-addresses", n, p.mac+" "+p.ip4.String()+" "+p.ip6.String())
	}
	if len(args) > 0 {
		e.nbctl(args...)
	}
}

// current reads QuantumNet's security-group rows back from NB.
func (e *ovnEnv) current() Output {
	e.t.Helper()
	lspName := map[string]string{}
	for _, r := range e.nb.Rows("Logical_Switch_Port", []string{"_uuid", "name"}) {
		lspName[r.Str("_uuid")] = r.Str("name")
	}
	var acls []*nbdb.ACL
	for _, r := range e.nb.Rows("ACL", []string{"_uuid", "direction", "priority", "match", "action", "external_ids"}) {
		prio, err := strconv.Atoi(r.Str("priority"))
		if err != nil {
			e.t.Fatalf("ACL priority %q", r.Str("priority"))
		}
		acls = append(acls, &nbdb.ACL{UUID: r.Str("_uuid"), Direction: r.Str("direction"), Priority: prio,
			Match: r.Str("match"), Action: r.Str("action"), ExternalIDs: r.Map("external_ids")})
	}
	var pgs []*nbdb.PortGroup
	for _, r := range e.nb.Rows("Port_Group", []string{"_uuid", "name", "ports", "acls", "external_ids"}) {
		pgs = append(pgs, &nbdb.PortGroup{UUID: r.Str("_uuid"), Name: r.Str("name"), Ports: r.Set("ports"),
			ACLs: r.Set("acls"), ExternalIDs: r.Map("external_ids")})
	}
	return FromModels(pgs, acls, func(u string) (string, bool) { n, ok := lspName[u]; return n, ok })
}

// apply writes desired in one ovn-nbctl transaction, as the daemon would:
// Diff against what NB holds, insert, update (port and ACL sets by Delta,
// as mutations), delete. ACL is not a root table: an ACL no port group
// references any more is garbage-collected by ovsdb-server.
func (e *ovnEnv) apply(desired Output) {
	e.t.Helper()
	cur := e.current()
	add, del, upd := Diff(cur, desired)
	lspUUID := map[string]string{}
	for _, r := range e.nb.Rows("Logical_Switch_Port", []string{"_uuid", "name"}) {
		lspUUID[r.Str("name")] = r.Str("_uuid")
	}
	aclRef := map[string]string{}
	for _, a := range cur.ACLs {
		aclRef[a.Key] = a.UUID
	}
	var args []string
	for i, a := range add.ACLs {
		id := fmt.Sprintf("@acl%d", i)
		aclRef[a.Key] = id
		m := a.Model()
		args = append(args, "--", "--id="+id, "create", "ACL",
			"direction="+m.Direction, "priority="+strconv.Itoa(m.Priority), "action="+m.Action,
			"match="+quote(m.Match), "external_ids="+ovsMap(m.ExternalIDs))
	}
	for _, a := range upd.ACLs {
		m := a.Model()
		args = append(args, "--", "set", "ACL", m.UUID,
			"direction="+m.Direction, "priority="+strconv.Itoa(m.Priority), "action="+m.Action,
			"match="+quote(m.Match), "external_ids="+ovsMap(m.ExternalIDs))
	}
	port := func(n string) string {
		u, ok := lspUUID[n]
		if !ok {
			e.t.Fatalf("no logical switch port %s", n)
		}
		return u
	}
	acl := func(k string) string { return aclRef[k] }
	for _, p := range add.PortGroups {
		m := p.Model(port, acl)
		args = append(args, "--", "create", "Port_Group", "name="+m.Name,
			"ports="+ovsSet(m.Ports), "acls="+ovsSet(m.ACLs), "external_ids="+ovsMap(m.ExternalIDs))
	}
	for _, p := range upd.PortGroups {
		c := cur.PortGroups[slices.IndexFunc(cur.PortGroups, func(q PortGroup) bool { return q.Name == p.Name })]
		if addP, delP := Delta(c.Ports, p.Ports); len(addP)+len(delP) > 0 {
			for _, n := range addP {
				args = append(args, "--", "add", "Port_Group", p.UUID, "ports", port(n))
			}
			for _, n := range delP {
				u, ok := lspUUID[n]
				if !ok {
					u = n // a stale UUID
				}
				args = append(args, "--", "remove", "Port_Group", p.UUID, "ports", u)
			}
		}
		if addA, delA := Delta(c.ACLs, p.ACLs); len(addA)+len(delA) > 0 {
			for _, k := range addA {
				args = append(args, "--", "add", "Port_Group", p.UUID, "acls", acl(k))
			}
			for _, k := range delA {
				args = append(args, "--", "remove", "Port_Group", p.UUID, "acls", acl(k))
			}
		}
		if !maps.Equal(c.ExternalIDs, p.ExternalIDs) {
			args = append(args, "--", "set", "Port_Group", p.UUID, "external_ids="+ovsMap(p.ExternalIDs))
		}
	}
	for _, p := range del.PortGroups {
		args = append(args, "--", "destroy", "Port_Group", p.UUID)
	}
	if len(args) > 0 {
		e.nbctl(args...)
	}
	if a, d, u := Diff(e.current(), desired); !a.Empty() || !d.Empty() || !u.Empty() {
		e.t.Fatalf("after applying the diff, NB still differs: +%v\n-%v\n~%v", a, d, u)
	}
	// Deleted ACLs are gone from the database, not only from their groups.
	if n, want := len(e.nb.Rows("ACL", []string{"_uuid"})), len(desired.ACLs); n != want {
		e.t.Fatalf("%d ACL rows in NB, want %d", n, want)
	}
}

// quote writes s as an OVSDB string for ovn-nbctl.
func quote(s string) string { return strconv.Quote(s) }

func ovsSet(s []string) string { return "[" + strings.Join(s, ",") + "]" }

func ovsMap(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, quote(k)+"="+quote(m[k]))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// sync waits until ovn-northd has compiled NB into SB, and fails on any
// warning or error it logged.
func (e *ovnEnv) sync() {
	e.t.Helper()
	e.nbctl("--wait=sb", "sync")
	b, err := os.ReadFile(e.northdLog)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "|WARN|") || strings.Contains(l, "|ERR|") || strings.Contains(l, "|EMER|") {
			e.t.Fatalf("ovn-northd: %s", l)
		}
	}
}

// trace runs ovn-trace on microflow with the given conntrack states (one
// per ct_next: the sender's ingress pipeline, then the receiver's egress
// one), fails the test on a logical flow whose match ovn-trace cannot
// parse, and returns its output.
func (e *ovnEnv) trace(microflow string, ct ...string) string {
	e.t.Helper()
	out, warnings := e.traceWarnings(microflow, ct...)
	for _, w := range warnings {
		e.t.Errorf("ovn-trace: %s", w)
	}
	return out
}

// traceWarnings is trace returning the parse failures and errors ovn-trace
// reported.
func (e *ovnEnv) traceWarnings(microflow string, ct ...string) (string, []string) {
	e.t.Helper()
	args := []string{"--db=" + e.sb.Remote, "--minimal"}
	for _, c := range ct {
		args = append(args, "--ct="+c)
	}
	args = append(args, network, microflow)
	cmd := exec.Command(ovsdbtest.Require(e.t, "ovn-trace"), args...)
	cmd.Env = append(os.Environ(), "OVN_RUNDIR="+filepath.Dir(e.sb.Socket), "OVS_RUNDIR="+filepath.Dir(e.sb.Socket))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		e.t.Fatalf("ovn-trace %s: %v\n%s", microflow, err, stderr.String())
	}
	var warnings []string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(l, "parsing expression failed") || strings.Contains(l, "|ERR|") {
			warnings = append(warnings, l)
		}
	}
	return stdout.String(), warnings
}

// lflows is the Southbound logical flow table as ovn-sbctl prints it.
func (e *ovnEnv) lflows() string {
	e.t.Helper()
	return e.sb.Run("ovn-sbctl", "--db="+e.sb.Remote, "--timeout=30", "lflow-list")
}

// Every golden case, applied one after the other as diffs to one NB, is
// compiled by ovn-northd, and every match it contains parses.
func TestGoldenCasesIntegration(t *testing.T) {
	e := startOVN(t)
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			var names []string
			for _, p := range c.in.Ports {
				names = append(names, p.Name)
			}
			e.addPorts(names...)
			out := mustTranslate(t, c.in)
			e.apply(out)
			e.sync()

			// ovn-trace parses every logical flow of the datapath when it
			// starts, and warns about each match that does not parse.
			p := e.ports["probe"]
			e.trace(fmt.Sprintf(`inport == %q && eth.src == %s && eth.dst == ff:ff:ff:ff:ff:ff && arp`, p.name, p.mac))

			// And the flows are there: each ACL of a port group with ports
			// became logical flows with its match.
			flows := e.lflows()
			withPorts := map[string]bool{}
			for _, pg := range out.PortGroups {
				if len(pg.Ports) > 0 {
					for _, k := range pg.ACLs {
						withPorts[k] = true
					}
				}
			}
			for _, a := range out.ACLs {
				if withPorts[a.Key] && !strings.Contains(flows, a.Match) {
					t.Errorf("no logical flow has the match of ACL %s: %s", a.Key, a.Match)
				}
			}
		})
	}
}

// The parse check above catches a bad match: a canary.
func TestTraceCatchesBadMatchIntegration(t *testing.T) {
	e := startOVN(t)
	out := mustTranslate(t, Input{Groups: []Group{{Name: "web", Rules: rules(t, "ingress tcp 80")}},
		Ports: []Port{{Name: "probe", Groups: []string{"web"}}}})
	for i, a := range out.ACLs {
		if a.ExternalIDs[keys.SG] == "web" {
			out.ACLs[i].Match = strings.Replace(a.Match, "tcp.dst == 80", "tcp.dport == 80", 1)
		}
	}
	e.apply(out)
	e.sync()
	p := e.ports["probe"]
	_, warnings := e.traceWarnings(fmt.Sprintf(`inport == %q && eth.src == %s && eth.dst == ff:ff:ff:ff:ff:ff && arp`, p.name, p.mac))
	if len(warnings) == 0 || !strings.Contains(strings.Join(warnings, "\n"), "tcp.dport") {
		t.Fatalf("ovn-trace did not report the bad match: %q", warnings)
	}
}

// flow is a packet for ovn-trace, from one test port to another.
type flow struct {
	from, to string
	v6       bool
	l4       string // "tcp 80", "udp 53", "icmp 8" (type), "proto 47"
	srcPort  int    // tcp/udp source port (default 33333)
	raw      string // instead: dhcp4-request (a broadcast), dhcp4-answer, dhcp6-answer
}

func (e *ovnEnv) microflow(f flow) string {
	src, dst := e.ports[f.from], e.ports[f.to]
	switch f.raw {
	case "dhcp4-request":
		return fmt.Sprintf(`inport == %q && eth.src == %s && eth.dst == ff:ff:ff:ff:ff:ff && ip4.src == 0.0.0.0 && ip4.dst == 255.255.255.255 && ip.ttl == 64 && udp && udp.src == 68 && udp.dst == 67`, src.name, src.mac)
	case "dhcp4-answer":
		return fmt.Sprintf(`inport == %q && eth.src == %s && eth.dst == %s && ip4.src == %s && ip4.dst == %s && ip.ttl == 64 && udp && udp.src == 67 && udp.dst == 68`, src.name, src.mac, dst.mac, src.ip4, dst.ip4)
	case "dhcp6-answer":
		return fmt.Sprintf(`inport == %q && eth.src == %s && eth.dst == %s && ip6.src == fe80::1 && ip6.dst == fe80::2 && ip.ttl == 64 && udp && udp.src == 547 && udp.dst == 546`, src.name, src.mac, dst.mac)
	}
	sport := f.srcPort
	if sport == 0 {
		sport = 33333
	}
	ip, sa, da := "ip4", src.ip4, dst.ip4
	if f.v6 {
		ip, sa, da = "ip6", src.ip6, dst.ip6
	}
	m := fmt.Sprintf(`inport == %q && eth.src == %s && eth.dst == %s && %s.src == %s && %s.dst == %s && ip.ttl == 64`,
		src.name, src.mac, dst.mac, ip, sa, ip, da)
	kind, arg, _ := strings.Cut(f.l4, " ")
	switch kind {
	case "tcp", "udp", "sctp":
		m += fmt.Sprintf(" && %s && %s.src == %d && %s.dst == %s", kind, kind, sport, kind, arg)
	case "icmp":
		icmp := "icmp4"
		if f.v6 {
			icmp = "icmp6"
		}
		m += fmt.Sprintf(" && %s && %s.type == %s && %s.code == 0", icmp, icmp, arg, icmp)
	case "proto":
		m += " && ip.proto == " + arg
	}
	return m
}

// The policy, as OVN runs it: what the package doc promises.
func TestPolicyIntegration(t *testing.T) {
	e := startOVN(t)
	// gw stands for the network's services (a VIF here, a router port in
	// real life).
	e.addPorts("gw", "p1", "p2", "p3", "p4", "p5", "p6", "p7")
	e.apply(mustTranslate(t, policyInput(t, e)))
	e.sync()

	for _, c := range policyCases() {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			out := e.trace(e.microflow(c.f), c.ct...)
			got := strings.Contains(out, fmt.Sprintf(`output(%q)`, c.f.to))
			if got != c.deliver {
				t.Errorf("%s -> %s %s (ct %v): delivered %v, want %v\n%s", c.f.from, c.f.to, c.f.l4, c.ct, got, c.deliver, out)
			}
		})
	}
}

// policyInput are the groups of TestPolicyIntegration over the ports of e.
func policyInput(t *testing.T, e *ovnEnv) Input {
	p3, p4 := e.ports["p3"].ip4.String(), e.ports["p4"].ip4.String()
	return Input{
		Groups: []Group{
			{Name: "web", Rules: join(preset(t, "web"), rules(t,
				"ingress tcp 22 from 10.0.0.0/24",
				"ingress udp 5000 stateless",
				"ingress tcp 9090",
			))},
			{Name: "app"}, // no rules: isolated
			{Name: "db", Rules: join(preset(t, "icmp"), rules(t,
				"ingress tcp 5432 from sg:app",
				"ingress ipv6 tcp 5432 from sg:app",
			))},
			{Name: "cluster", Rules: preset(t, "internal")},
			{Name: "guarded", Rules: rules(t,
				"admin deny ingress tcp 80 from "+p3,
				"admin deny ingress tcp 9090",
				"admin ingress tcp 9090 from "+p4, // an exception to the deny
				"admin ingress tcp 9091 from "+p4,
				"admin deny ingress udp 5000 from "+p3,
				"admin deny egress tcp 25",
				"admin deny egress udp", // DHCP and DNS to the services still pass
			)},
		},
		Ports: []Port{
			{Name: "p1", Groups: []string{"web"}},
			{Name: "p2", Groups: []string{"app"}},
			{Name: "p3", Groups: []string{"db"}},
			{Name: "p4"}, // no group
			{Name: "p5", Groups: []string{"web", "guarded"}},
			{Name: "p6", Groups: []string{"cluster"}},
			{Name: "p7", Groups: []string{"cluster", "app"}},
		},
		Services: []netip.Addr{e.ports["gw"].ip4, e.ports["gw"].ip6},
	}
}

// policyCase is a flow traced through the policy of policyInput, in the
// conntrack states ct, and whether it is delivered.
type policyCase struct {
	name    string
	f       flow
	ct      []string
	deliver bool
}

func policyCases() []policyCase {
	newConn := []string{"new", "new"}
	return []policyCase{
		{"web preset admits http", flow{from: "p4", to: "p1", l4: "tcp 80"}, newConn, true},
		{"web preset admits https over IPv6", flow{from: "p4", to: "p1", v6: true, l4: "tcp 443"}, newConn, true},
		{"ssh from the CIDR", flow{from: "p4", to: "p1", l4: "tcp 22"}, newConn, true},
		{"ssh over IPv6 has no rule", flow{from: "p4", to: "p1", v6: true, l4: "tcp 22"}, newConn, false},
		{"default drop of what no rule admits", flow{from: "p4", to: "p1", l4: "tcp 25"}, newConn, false},
		{"stateless rule", flow{from: "p4", to: "p1", l4: "udp 5000"}, newConn, true},
		{"a group without rules isolates", flow{from: "p1", to: "p2", l4: "tcp 80"}, newConn, false},
		{"replies are always allowed", flow{from: "p1", to: "p2", l4: "tcp 80"}, []string{"est,rpl", "est,rpl"}, true},
		{"remote group member admitted", flow{from: "p2", to: "p3", l4: "tcp 5432"}, newConn, true},
		{"remote group member admitted over IPv6", flow{from: "p2", to: "p3", v6: true, l4: "tcp 5432"}, newConn, true},
		{"non-member of the remote group dropped", flow{from: "p4", to: "p3", l4: "tcp 5432"}, newConn, false},
		{"icmp preset: echo", flow{from: "p4", to: "p3", l4: "icmp 8"}, newConn, true},
		{"icmp preset: icmpv6 echo", flow{from: "p4", to: "p3", v6: true, l4: "icmp 128"}, newConn, true},
		{"icmp preset: no other icmpv6", flow{from: "p4", to: "p3", v6: true, l4: "icmp 139"}, newConn, false},
		{"a port without groups gets everything", flow{from: "p1", to: "p4", l4: "tcp 25"}, newConn, true},
		{"egress is open by default", flow{from: "p2", to: "p4", l4: "proto 47"}, newConn, true},
		{"internal: from the same group", flow{from: "p7", to: "p6", l4: "udp 9999"}, newConn, true},
		{"internal: from the same group, IPv6", flow{from: "p6", to: "p7", v6: true, l4: "tcp 1234"}, newConn, true},
		{"internal: not from others", flow{from: "p4", to: "p6", l4: "udp 9999"}, newConn, false},
		{"admin deny beats a user allow", flow{from: "p3", to: "p5", l4: "tcp 80"}, newConn, false},
		{"admin deny only where it matches", flow{from: "p4", to: "p5", l4: "tcp 80"}, newConn, true},
		{"admin deny cuts established connections", flow{from: "p3", to: "p5", l4: "tcp 80"}, []string{"est", "est"}, false},
		{"admin deny beats a user allow (2)", flow{from: "p3", to: "p5", l4: "tcp 9090"}, newConn, false},
		{"the user allow where no admin deny", flow{from: "p3", to: "p1", l4: "tcp 9090"}, newConn, true},
		{"admin allow beats admin deny", flow{from: "p4", to: "p5", l4: "tcp 9090"}, newConn, true},
		{"admin allow admits without a user rule", flow{from: "p4", to: "p5", l4: "tcp 9091"}, newConn, true},
		{"admin deny beats a stateless user allow", flow{from: "p3", to: "p5", l4: "udp 5000"}, newConn, false},
		{"stateless user allow where no admin deny", flow{from: "p4", to: "p5", l4: "udp 5000"}, newConn, true},
		{"admin egress deny of udp", flow{from: "p5", to: "p4", l4: "udp 53"}, newConn, false},
		{"DNS to the services passes an admin deny", flow{from: "p5", to: "gw", l4: "udp 53"}, newConn, true},
		{"DNS to the services over IPv6", flow{from: "p5", to: "gw", v6: true, l4: "udp 53"}, newConn, true},
		{"DNS answers from the services", flow{from: "gw", to: "p2", l4: "udp 53", srcPort: 53}, newConn, true},
		{"no DNS answers from others", flow{from: "p4", to: "p2", l4: "udp 53", srcPort: 53}, newConn, false},
		{"DHCPv4 request passes an admin deny", flow{from: "p5", to: "p4", raw: "dhcp4-request"}, newConn, true},
		{"DHCPv4 answer from the services", flow{from: "gw", to: "p2", raw: "dhcp4-answer"}, newConn, true},
		{"no DHCPv4 answer from others", flow{from: "p4", to: "p2", raw: "dhcp4-answer"}, newConn, false},
		{"DHCPv6 answer from a link-local address", flow{from: "gw", to: "p2", raw: "dhcp6-answer"}, newConn, true},
		{"admin egress deny", flow{from: "p5", to: "p4", l4: "tcp 25"}, newConn, false},
		{"admin egress deny only where it matches", flow{from: "p5", to: "p4", l4: "tcp 26"}, newConn, true},
	}
}
