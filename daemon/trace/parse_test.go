package trace

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
	"github.com/quantumnet/quantumnet/pkg/ovn/nbdb"
)

// The testdata are ovn-trace --detailed outputs (OVN 23.03) captured by
// test/e2e TestTraceAndTopology (QN_TRACE_CAPTURE=DIR): a network e2e-tr
// with tr-cli (no group), tr-srv (group trssh: ingress tcp 22) and tr-deny
// (group trdeny: ingress tcp 22, admin deny ingress tcp 2222); a router
// e2e-trr to network e2e-tr2 (tr-far) with its gateway on the external
// network e2e-trx.
const (
	cli  = "qn-c-710e2a4bedaa2840018abb1f"
	srv  = "qn-c-745f60d93918f548f4ae6aa0"
	deny = "qn-c-66465c822916e7f29c4399db"
	far  = "qn-c-0d7044d07bfcd044863be896"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		file, verdict, out, outType, dropPort string
		acl                                   string // the deciding ACL flow's match ("": none)
		prio                                  int
		routers                               []string
		arp                                   bool
	}{
		{file: "allowed", verdict: "delivered", out: srv, prio: 2500,
			acl: "reg0[7] == 1 && (outport == @qn_sg_trssh && ip4 && tcp && tcp.dst == 22)"},
		{file: "dropped-default", verdict: "dropped", dropPort: srv, prio: 2000,
			acl: "reg0[9] == 1 && (outport == @qn_sg_all && ip)"},
		{file: "icmp-open", verdict: "dropped", dropPort: deny, prio: 2000,
			acl: "reg0[9] == 1 && (outport == @qn_sg_all && ip)"},
		{file: "dropped-rule", verdict: "dropped", dropPort: deny, prio: 3000,
			acl: "reg0[9] == 1 && (outport == @qn_sg_trdeny && ip4 && tcp && tcp.dst == 2222)"},
		// Only the source side's default egress allow (from-lport).
		{file: "no-group", verdict: "delivered", out: cli, prio: 2000,
			acl: "reg0[7] == 1 && (inport == @qn_sg_all && ip)"},
		{file: "routed", verdict: "delivered", out: far, routers: []string{"qn-lr-e2e-trr"}},
		{file: "gateway", verdict: "sent-out", out: "qn-ln-e2e-trx", outType: "localnet", routers: []string{"qn-lr-e2e-trr"}, arp: true},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := Parse(read(t, tc.file))
			if r.Verdict != tc.verdict || r.OutputPort != tc.out || r.OutputType != tc.outType || r.DropPort != tc.dropPort {
				t.Errorf("got %s to %q (%q), dropped before %q; want %s to %q (%q), dropped before %q",
					r.Verdict, r.OutputPort, r.OutputType, r.DropPort, tc.verdict, tc.out, tc.outType, tc.dropPort)
			}
			switch {
			case tc.acl == "" && r.Decision != nil:
				t.Errorf("decided by %+v, want no ACL", *r.Decision)
			case tc.acl != "" && (r.Decision == nil || r.Decision.Match != tc.acl || r.Decision.Priority != tc.prio):
				t.Errorf("decided by %+v, want %q priority %d", r.Decision, tc.acl, tc.prio)
			}
			if got := r.Routers(); !slices.Equal(got, tc.routers) {
				t.Errorf("routers %v, want %v", got, tc.routers)
			}
			if r.ARP != tc.arp {
				t.Errorf("arp %v, want %v", r.ARP, tc.arp)
			}
			if r.Hops[0].InPort == "" || r.Hops[0].Datapath != "qn-e2e-tr" || !r.Hops[0].Ingress {
				t.Errorf("first hop %+v", r.Hops[0])
			}
		})
	}
}

// TestMatchACL: the deciding flows map back to the ACL rows the security
// groups translate to (and so to their group and rule).
func TestMatchACL(t *testing.T) {
	group := func(name string, specs ...string) secgroup.Group {
		g := secgroup.Group{Name: name}
		for _, s := range specs {
			r, err := secgroup.ParseRule(s)
			if err != nil {
				t.Fatal(err)
			}
			g.Rules = append(g.Rules, r)
		}
		return g
	}
	out, err := secgroup.Translate(secgroup.Input{
		Groups: []secgroup.Group{group("trssh", "ingress tcp 22"), group("trdeny", "ingress tcp 22", "admin deny ingress tcp 2222")},
		Ports:  []secgroup.Port{{Name: srv, Groups: []string{"trssh"}}, {Name: deny, Groups: []string{"trdeny"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var acls []*nbdb.ACL
	for _, a := range out.ACLs {
		acls = append(acls, &nbdb.ACL{Priority: a.Priority, Match: a.Match, Action: a.Action, Direction: a.Direction, ExternalIDs: a.ExternalIDs})
	}
	for file, want := range map[string]string{
		"allowed":         "trssh/" + ruleID(t, "ingress tcp 22"),
		"dropped-default": "all/default-ingress",
		"dropped-rule":    "trdeny/" + ruleID(t, "admin deny ingress tcp 2222"),
		"no-group":        "all/default-egress",
	} {
		r := Parse(read(t, file))
		a := MatchACL(*r.Decision, acls)
		if a == nil || a.ExternalIDs[keys.SG]+"/"+a.ExternalIDs[keys.Rule] != want {
			t.Errorf("%s: matched %+v, want %s", file, a, want)
		}
	}
}

func ruleID(t *testing.T, spec string) string {
	r, err := secgroup.ParseRule(spec)
	if err != nil {
		t.Fatal(err)
	}
	return r.ID()
}

// TestParseGarbage: what is not ovn-trace's output is "unknown", never a
// panic.
func TestParseGarbage(t *testing.T) {
	for _, s := range []string{"", "ovn-trace: error", "ingress(dp=\"x\")\n", "egress()\n 1. x (y): z, priority q, uuid 1\n"} {
		if r := Parse(s); r.Verdict == "delivered" || r.Verdict == "sent-out" {
			t.Errorf("%q: %s", s, r.Verdict)
		}
	}
}

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
