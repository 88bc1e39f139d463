package console

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/quantumnet/quantumnet/pkg/ovsdbtest"
	"github.com/quantumnet/quantumnet/test/harness"
)

// TestEditorRuleChangesTraffic: with the group admitting TCP 8080 only, a
// ping to its member is dropped; the ICMP preset added in the editor shows
// in `qnetctl sg show` and lets the ping through; a custom rule typed into
// the form shows there too, and as a badge.
func TestEditorRuleChangesTraffic(t *testing.T) {
	p := newPage(t)
	restoreRules(t)
	// The data path works (cli has no group: all in), and the group drops
	// ICMP to srv.
	took := eventually(t, "ping from the group's member to the other container", func() error { return pingOnce(w.srv.ns, w.cli.ip4) })
	t.Logf("data path up after %v", took)
	if err := pingOnce(w.cli.ns, w.srv.ip4); err == nil {
		t.Fatalf("ping to %s in group %s (no ICMP rule) got through", w.srv.ip4, groupName)
	}

	p.open()
	p.selectGroup()
	p.click(`button[data-preset="icmp"]`)
	show := waitShow(t, "the icmp preset in sg show", func(s string) bool { return strings.Contains(s, "ingress ipv4 icmp") })
	t.Logf("sg show after the preset:\n%s", show)
	p.waitText("#sg-rules", 5*time.Second, "the icmp badge", func(s string) bool { return strings.Contains(s, "icmp") })
	took = eventually(t, "ping once the editor added the icmp preset", func() error { return pingOnce(w.cli.ns, w.srv.ip4) })
	t.Logf("ping allowed %v after the preset was in Northbound", took)

	const custom = "ingress tcp 9090 from 10.0.0.0/8"
	p.typeInto("#rule-text", custom)
	p.click("#rule-add")
	waitShow(t, "the custom rule in sg show", func(s string) bool { return strings.Contains(s, "tcp 9090 from 10.0.0.0/8") })
	p.waitText("#sg-rules", 5*time.Second, "the custom rule's badge", func(s string) bool { return strings.Contains(s, "9090") })
	if e := p.text("#rule-error"); e != "" {
		t.Errorf("#rule-error after a good rule: %q", e)
	}
}

// TestEditorBadRuleShowsParserError: a rule the daemon's parser refuses
// shows the parser's own message (what `qnetctl sg rule add` prints for the
// same text) in #rule-error, and writes nothing.
func TestEditorBadRuleShowsParserError(t *testing.T) {
	p := newPage(t)
	restoreRules(t)
	before := qnetctl(t, "-o", "json", "sg", "show", groupName)
	p.open()
	p.selectGroup()
	for i, bad := range []string{"ingress tcp 90-80", "ingress tcp 80 from 10.0.0.300/8"} {
		out, err := w.d.Qnetctl(append([]string{"sg", "rule", "add", groupName}, strings.Fields(bad)...)...)
		if err == nil {
			t.Fatalf("qnetctl sg rule add %s %s: accepted:\n%s", groupName, bad, out)
		}
		want := strings.TrimPrefix(strings.TrimSpace(out), "qnetctl: ")
		// The first with the button, the second from the keyboard (Enter).
		if p.typeInto("#rule-text", bad); i == 0 {
			p.click("#rule-add")
		} else {
			p.do("Enter in #rule-text", chromedp.SendKeys(chromedp.CSS("#rule-text"), kb.Enter))
		}
		// The message names the rule, so an earlier rule's error cannot pass.
		got := p.waitText("#rule-error", 5*time.Second, "the parser's message (as qnetctl prints it) for "+bad+": "+want,
			func(s string) bool { return strings.Contains(s, want) })
		t.Logf("%q: page %q, qnetctl %q", bad, got, want)
		p.typeInto("#rule-text", "")
	}
	if after := qnetctl(t, "-o", "json", "sg", "show", groupName); after != before {
		t.Errorf("a refused rule changed the group:\nbefore %s\nafter %s", before, after)
	}
}

// rule is one rule of `qnetctl -o json sg show`.
type rule struct {
	ID   string `json:"id"`
	Spec string `json:"spec"`
}

// groupRules is the group's rules, from qnetctl.
func groupRules(t *testing.T) []rule {
	t.Helper()
	var g struct {
		Rules []rule `json:"rules"`
	}
	out := qnetctl(t, "-o", "json", "sg", "show", groupName)
	if err := json.Unmarshal([]byte(out), &g); err != nil {
		t.Fatalf("sg show -o json: %v\n%s", err, out)
	}
	return g.Rules
}

// restoreRules deletes, when the test ends, the rules it added to the
// fixture's group.
func restoreRules(t *testing.T) {
	t.Helper()
	keep := map[string]bool{}
	for _, r := range groupRules(t) {
		keep[r.ID] = true
	}
	t.Cleanup(func() {
		for _, r := range groupRules(t) {
			if !keep[r.ID] {
				w.d.Qnetctl("sg", "rule", "delete", groupName, r.ID)
			}
		}
	})
}

// waitShow polls `qnetctl sg show` of the group until ok (5 s).
func waitShow(t *testing.T, what string, ok func(string) bool) string {
	t.Helper()
	var out string
	if !ovsdbtest.Until(context.Background(), 5*time.Second, func() bool {
		out, _ = w.d.Qnetctl("sg", "show", groupName)
		return ok(out)
	}) {
		t.Fatalf("%s: not there after 5 s; sg show %s:\n%s", what, groupName, out)
	}
	return out
}

// pingOnce pings addr once (1 s) from the namespace at nsPath.
var pingOnce = harness.PingOnce

// eventually retries f for up to 10 s and returns how long it took to
// succeed.
var eventually = harness.Within10s
