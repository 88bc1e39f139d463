package nbstore

import (
	"errors"
	"slices"
	"testing"

	"github.com/quantumnet/quantumnet/daemon/secgroup"
	"github.com/quantumnet/quantumnet/pkg/ovn"
	"github.com/quantumnet/quantumnet/pkg/ovn/keys"
)

// loggedACLs are the logged ACL rows in the database: name -> "severity
// meter action priority".
func (e *env) loggedACLs() map[string]string {
	out := map[string]string{}
	for _, r := range e.srv.Rows("ACL", []string{"name", "severity", "meter", "action", "priority"}, "log=true") {
		out[r.Str("name")] = r.Str("severity") + " " + r.Str("meter") + " " + r.Str("action") + " " + r.Str("priority")
	}
	return out
}

func (e *env) gen() string {
	return e.srv.Row("Port_Group", []string{"external_ids"}, "name="+secgroup.AllPortGroup).Map("external_ids")[keys.SGGen]
}

// TestIntegrationLogDrops: turning on a group's drop logging logs its
// deny rules and its members' default drops (and nothing else) through one
// shared, rate-limited meter; it is idempotent; turning it off restores the
// rows, and the meter goes with the last group that logs.
func TestIntegrationLogDrops(t *testing.T) {
	e := newEnv(t)
	ctx := e.ctx
	deny := mustRule(t, "admin deny ingress tcp 22")
	for _, g := range []secgroup.Group{
		{Name: "web", Rules: []secgroup.Rule{mustRule(t, "ingress tcp 80"), deny, mustRule(t, "egress tcp 443")}},
		{Name: "db", Rules: []secgroup.Rule{mustRule(t, "ingress tcp 5432")}},
	} {
		if err := e.m.Create(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.port("p1", "web"); err != nil {
		t.Fatal(err)
	}
	before := e.aclUUIDs()
	if got := e.loggedACLs(); len(got) != 0 {
		t.Fatalf("logged ACLs before: %v", got)
	}

	if err := e.m.SetLogDrops(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"qn-sg:web:default-drop":        "info qn-acl-log drop 1002",
		"qn-sg:web:default-egress-drop": "info qn-acl-log drop 1002",
		"qn-sg:web:" + deny.ID():        "info qn-acl-log drop 2000",
	}
	if got := e.loggedACLs(); !equalMaps(got, want) {
		t.Errorf("logged ACLs %v, want %v", got, want)
	}
	e.srv.Row("ACL", []string{"match"}, `name="qn-sg:web:default-drop"`, `match="outport == @qn_sg_web && ip"`, "direction=to-lport")
	e.srv.Row("ACL", []string{"match"}, `name="qn-sg:web:default-egress-drop"`,
		`match="inport == @qn_sg_web && inport == @qn_sg_egress_restricted && ip"`, "direction=from-lport")
	e.checkMeter()
	if i, err := e.m.Get("web"); err != nil || !i.LogDrops {
		t.Errorf("Get(web) = %+v, %v: want LogDrops", i, err)
	}
	if i, err := e.m.Get("db"); err != nil || i.LogDrops {
		t.Errorf("Get(db) = %+v, %v: want no LogDrops", i, err)
	}

	gen := e.gen()
	if err := e.m.SetLogDrops(ctx, "web", true); err != nil {
		t.Fatal(err)
	}
	if g := e.gen(); g != gen {
		t.Errorf("setting it again wrote (generation %s -> %s)", gen, g)
	}
	if err := e.m.SetLogDrops(ctx, "nope", true); !errors.Is(err, ovn.ErrNotFound) {
		t.Errorf("unknown group: %v, want ErrNotFound", err)
	}

	// A second group shares the meter.
	if err := e.m.SetLogDrops(ctx, "db", true); err != nil {
		t.Fatal(err)
	}
	if n := len(e.srv.Rows("Meter", []string{"_uuid"})); n != 1 {
		t.Errorf("%d meters with two groups logging, want 1", n)
	}
	if got := e.loggedACLs(); got["qn-sg:db:default-drop"] == "" || got["qn-sg:db:default-egress-drop"] != "" {
		t.Errorf("db (no egress rules) logs %v: want its ingress default drop only", got)
	}

	if err := e.m.SetLogDrops(ctx, "web", false); err != nil {
		t.Fatal(err)
	}
	if err := e.m.SetLogDrops(ctx, "db", false); err != nil {
		t.Fatal(err)
	}
	e.checkNothingLogged()
	if after := e.aclUUIDs(); !slices.Equal(after, before) {
		t.Errorf("ACL rows after off: %d, before on: %d (want the same rows)", len(after), len(before))
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// checkMeter checks the one log meter: pktps, one drop band of 10 pps,
// burst 10, QuantumNet's.
func (e *env) checkMeter() {
	t := e.t
	meter := e.srv.Row("Meter", []string{"_uuid", "unit", "bands", "fair", "external_ids"}, "name="+secgroup.LogMeter)
	if meter.Str("unit") != "pktps" || len(meter.Set("bands")) != 1 || meter.Map("external_ids")[keys.SG] != secgroup.AllName {
		t.Errorf("meter %v: want pktps, one band, ours", meter)
	}
	band := e.srv.Row("Meter_Band", []string{"action", "rate", "burst_size"})
	if band.Str("action") != "drop" || band.Str("rate") != "10" || band.Str("burst_size") != "10" {
		t.Errorf("meter band %v: want drop at 10 pps, burst 10", band)
	}
}

// checkNothingLogged: no ACL has log columns, and no meter is left.
func (e *env) checkNothingLogged() {
	t := e.t
	if got := e.loggedACLs(); len(got) != 0 {
		t.Errorf("logged ACLs after turning it off: %v", got)
	}
	if n := len(e.srv.Rows("Meter", []string{"_uuid"})) + len(e.srv.Rows("Meter_Band", []string{"_uuid"})); n != 0 {
		t.Errorf("%d meter rows left when no group logs", n)
	}
	for _, r := range e.srv.Rows("ACL", []string{"meter", "name", "severity"}) {
		if r.Str("meter") != "" || r.Str("name") != "" || r.Str("severity") != "" {
			t.Errorf("ACL keeps log columns: %v", r)
		}
	}
}
