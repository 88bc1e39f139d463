package nbstore

import (
	"strings"
	"testing"

	rtstore "github.com/quantumnet/quantumnet/daemon/router/nbstore"
	"github.com/quantumnet/quantumnet/daemon/secgroup"
	sgstore "github.com/quantumnet/quantumnet/daemon/secgroup/nbstore"
	"github.com/quantumnet/quantumnet/pkg/errs"
	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
)

// TestIntegrationBastionInUse: while bastion b1 is on router r1, clearing
// r1's gateway and deleting r1 are refused naming b1, writing nothing;
// security groups name b1's peers (sg:bastion-b1: the ACL matches its
// address set), which keeps b1 from being deleted until the rule goes; a
// rule naming a bastion that does not exist, and a group named like a
// bastion's peers, are refused. After bastion delete the gateway clears
// and the router deletes.
func TestIntegrationBastionInUse(t *testing.T) {
	s, m := newEnv(t)
	rm := m.Routers.(*rtstore.Manager)
	sg := &sgstore.Manager{NB: s.NB, Log: ovsdbtest.Logger(t)}
	if _, err := m.Create(s.Ctx, "b1", "r1", 0); err != nil {
		t.Fatal(err)
	}
	s.Refused("clear gateway", errs.InUse, func() error { _, err := rm.ClearGateway(s.Ctx, "r1"); return err },
		"router r1", "bastions b1", "qnetctl bastion delete b1")
	s.Refused("delete router", errs.InUse, func() error { return rm.Delete(s.Ctx, "r1") }, "router r1", "bastions b1")

	rule := func(spec string) secgroup.Rule {
		r, err := secgroup.ParseRule(spec)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if err := sg.Create(s.Ctx, secgroup.Group{Name: "db", Rules: []secgroup.Rule{rule("ingress tcp 5432 from sg:bastion-b1")}}); err != nil {
		t.Fatal(err)
	}
	if got := s.NBCtl("--bare", "--columns=match", "find", "ACL", `external_ids:"quantumnet:sg"=db`); !strings.Contains(got, "ip4.src == $qn_bastion_b1 && tcp && tcp.dst == 5432") {
		t.Fatalf("ACL of the rule naming b1's peers: %q", got)
	}
	s.Refused("unknown bastion", errs.Invalid, func() error {
		_, err := sg.AddRules(s.Ctx, "db", []secgroup.Rule{rule("ingress tcp 22 from sg:bastion-b9")})
		return err
	}, "sg:bastion-b9", "bastion b9", "does not exist")
	s.Refused("group named like a bastion's peers", errs.Invalid, func() error {
		return sg.Create(s.Ctx, secgroup.Group{Name: "bastion-b2"})
	}, "bastion-b2", "reserved")
	s.Refused("bastion named by a rule", errs.InUse, func() error { return m.Delete(s.Ctx, "b1") },
		"bastion b1", "ingress ipv4 tcp 5432 from sg:bastion-b1", "of db")

	if err := sg.DeleteRules(s.Ctx, "db", []string{"ingress tcp 5432 from sg:bastion-b1"}); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(s.Ctx, "b1"); err != nil {
		t.Fatal(err)
	}
	s.Refused("bastion gone", errs.Invalid, func() error {
		_, err := sg.AddRules(s.Ctx, "db", []secgroup.Rule{rule("ingress tcp 5432 from sg:bastion-b1")})
		return err
	}, "bastion b1", "does not exist")
	if _, err := rm.ClearGateway(s.Ctx, "r1"); err != nil {
		t.Fatalf("clear gateway after bastion delete: %v", err)
	}
	for _, n := range []string{"blue", "red"} {
		if _, err := rm.Detach(s.Ctx, "r1", n); err != nil {
			t.Fatal(err)
		}
	}
	if err := rm.Delete(s.Ctx, "r1"); err != nil {
		t.Fatalf("delete router after bastion delete: %v", err)
	}
}
